"""Searching the registry: models and versions matching an MLflow filter string."""

from __future__ import annotations

from saveur.errors import StoreError
from saveur.store._db import get_store
from saveur.store._filters import compare, parse_filter
from saveur.store._registry_rows import _t, _to_registered, _to_version, _version_row
from saveur.store.entities import ModelVersion, RegisteredModel


def search_registered_models(
    filter_string: str | None = None, *, max_results: int = 1000
) -> list[RegisteredModel]:
    """Registered models matching ``name = 'x'``, ``name LIKE 'x%'``, ``tags.k = 'v'``..."""
    from sqlalchemy import and_, exists, select

    t = _t()
    rm = t.registered_models
    conditions = []
    for clause in parse_filter(filter_string):
        if clause.kind == "tag":
            tags = t.registered_model_tags
            conditions.append(exists(select(tags.c.model_id).where(
                tags.c.model_id == rm.c.id, tags.c.key == clause.key,
                compare(tags.c.value, clause.op, clause.value))))
        elif clause.kind == "attribute" and clause.key == "name":
            conditions.append(compare(rm.c.name, clause.op, clause.value))
        else:
            raise StoreError(
                f"cannot filter registered models on {clause.key!r}; use name or tags.<key>"
            )
    query = rm.select().order_by(rm.c.name).limit(max_results)
    if conditions:
        query = query.where(and_(*conditions))
    with get_store().read() as conn:
        return [_to_registered(conn, row) for row in conn.execute(query).all()]


def search_model_versions(
    filter_string: str | None = None, *, max_results: int = 10000
) -> list[ModelVersion]:
    """Versions matching ``name = 'x'``, ``run_id = '...'``, ``tags.k = 'v'``, ``version >= 2``...

    Ordered by name, newest version first.
    """
    from sqlalchemy import and_, exists, select

    t = _t()
    rm, mv = t.registered_models, t.model_versions
    attributes = {
        "name": rm.c.name, "version": mv.c.version, "version_number": mv.c.version,
        "run_id": mv.c.run_id, "source": mv.c.source, "source_path": mv.c.source,
        "status": mv.c.status,
    }
    conditions = []
    for clause in parse_filter(filter_string):
        if clause.kind == "tag":
            tags = t.model_version_tags
            conditions.append(exists(select(tags.c.model_id).where(
                tags.c.model_id == mv.c.model_id, tags.c.version == mv.c.version,
                tags.c.key == clause.key, compare(tags.c.value, clause.op, clause.value))))
            continue
        column = attributes.get(clause.key) if clause.kind == "attribute" else None
        if column is None:
            raise StoreError(
                f"cannot filter model versions on {clause.key!r}; use one of "
                f"{', '.join(attributes)} or tags.<key>"
            )
        value = clause.value
        if column is mv.c.version:
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)
        conditions.append(compare(column, clause.op, value))
    query = (
        select(rm, mv.c.version.label("_v"))
        .select_from(mv.join(rm, rm.c.id == mv.c.model_id))
        .order_by(rm.c.name, mv.c.version.desc())
        .limit(max_results)
    )
    if conditions:
        query = query.where(and_(*conditions))
    store = get_store()
    with store.read() as conn:
        out = []
        for row in conn.execute(query).all():
            out.append(_to_version(conn, store, row, _version_row(conn, row, row._v)))
        return out
