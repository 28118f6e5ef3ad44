"""Reading registry rows: look a model or version up by name and build its entity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur.errors import NotFoundError
from saveur.store._db import Store
from saveur.store.entities import ModelVersion, RegisteredModel

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _t() -> Any:
    from saveur.store import _schema

    return _schema


def _model_row(conn: Connection, name: str) -> Any:
    t = _t()
    row = conn.execute(t.registered_models.select().where(
        t.registered_models.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"registered model {name!r} does not exist")
    return row


def _version_row(conn: Connection, model: Any, version: int) -> Any:
    t = _t()
    row = conn.execute(t.model_versions.select().where(
        t.model_versions.c.model_id == model.id,
        t.model_versions.c.version == version)).first()
    if row is None:
        raise NotFoundError(f"registered model {model.name!r} has no version {version}")
    return row


def _to_version(conn: Connection, store: Store, model: Any, row: Any) -> ModelVersion:
    t = _t()
    tags = {r.key: r.value for r in conn.execute(t.model_version_tags.select().where(
        t.model_version_tags.c.model_id == model.id,
        t.model_version_tags.c.version == row.version))}
    aliases = tuple(sorted(r.alias for r in conn.execute(t.model_aliases.select().where(
        t.model_aliases.c.model_id == model.id, t.model_aliases.c.version == row.version))))
    return ModelVersion(
        name=model.name,
        version=row.version,
        source=row.source,
        run_id=row.run_id,
        status=row.status,
        description=row.description,
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        mlmodel_sha256=row.mlmodel_sha256,
        storage_location=f"{store.artifacts.uri.rstrip('/')}/{row.storage_path}",
        tags=tags,
        aliases=aliases,
    )


def _to_registered(conn: Connection, model: Any) -> RegisteredModel:
    from sqlalchemy import func, select

    t = _t()
    tags = {r.key: r.value for r in conn.execute(t.registered_model_tags.select().where(
        t.registered_model_tags.c.model_id == model.id))}
    aliases = {r.alias: r.version for r in conn.execute(t.model_aliases.select().where(
        t.model_aliases.c.model_id == model.id))}
    latest = conn.execute(select(func.max(t.model_versions.c.version)).where(
        t.model_versions.c.model_id == model.id)).scalar()
    return RegisteredModel(
        name=model.name,
        description=model.description,
        creation_timestamp=model.creation_time,
        last_updated_timestamp=model.last_updated_time,
        tags=tags,
        aliases=aliases,
        latest_version=latest,
    )
