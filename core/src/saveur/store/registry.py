"""The model registry: registered models, numbered versions, aliases and tags.

A version points at an immutable copy of the model under ``registry/<uuid>/`` of the
artifact root, made before the version's row is committed; the row records the SHA-256 of
the copy's MLmodel (which holds every file's digest), so ``models:/`` loads refuse a model
edited after registration. Version numbers come from a counter row updated under the
database's write lock, so concurrent registrations get 1..N with no gap or duplicate.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidURIError,
    MLmodelError,
    NotFoundError,
)
from saveur.store._artifacts import iter_source_files
from saveur.store._db import Store, get_store
from saveur.store._registry_rows import _model_row, _t, _to_registered, _to_version, _version_row
from saveur.store._registry_search import search_model_versions as search_model_versions
from saveur.store._registry_search import search_registered_models as search_registered_models
from saveur.store._validation import (
    ModelsURI,
    parse_models_uri,
    parse_runs_uri,
    parse_version,
    validate_alias,
    validate_key,
    validate_model_name,
)
from saveur.store.entities import ModelVersion, RegisteredModel

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

READY = "READY"
MLMODEL = "MLmodel"


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- reading ----------------------------------------------------------------------------


def get_registered_model(name: str) -> RegisteredModel:
    """The registered model ``name`` with its tags, aliases and latest version."""
    validate_model_name(name)
    with get_store().read() as conn:
        return _to_registered(conn, _model_row(conn, name))


def get_model_version(name: str, version: int | str) -> ModelVersion:
    """Version ``version`` of registered model ``name``."""
    validate_model_name(name)
    number = parse_version(version)
    store = get_store()
    with store.read() as conn:
        model = _model_row(conn, name)
        return _to_version(conn, store, model, _version_row(conn, model, number))


def get_model_version_by_alias(name: str, alias: str) -> ModelVersion:
    """The version alias ``alias`` of registered model ``name`` points at."""
    validate_model_name(name)
    validate_alias(alias)
    t = _t()
    store = get_store()
    with store.read() as conn:
        model = _model_row(conn, name)
        version = conn.execute(t.model_aliases.select().where(
            t.model_aliases.c.model_id == model.id, t.model_aliases.c.alias == alias)).first()
        if version is None:
            raise NotFoundError(f"registered model {name!r} has no alias {alias!r}")
        return _to_version(conn, store, model, _version_row(conn, model, version.version))


def get_latest_version(name: str) -> ModelVersion:
    """The highest-numbered version of registered model ``name``."""
    from sqlalchemy import func, select

    validate_model_name(name)
    t = _t()
    store = get_store()
    with store.read() as conn:
        model = _model_row(conn, name)
        number = conn.execute(select(func.max(t.model_versions.c.version)).where(
            t.model_versions.c.model_id == model.id)).scalar()
        if number is None:
            raise NotFoundError(f"registered model {name!r} has no versions")
        return _to_version(conn, store, model, _version_row(conn, model, number))


def resolve_version(uri: ModelsURI) -> ModelVersion:
    """The version a parsed ``models:/`` URI names."""
    if uri.alias is not None:
        return get_model_version_by_alias(uri.name, uri.alias)
    if uri.latest:
        return get_latest_version(uri.name)
    assert uri.version is not None
    return get_model_version(uri.name, uri.version)

# --- registering ------------------------------------------------------------------------


def _source_files(store: Store, model_uri: str) -> tuple[list[tuple[str, Path]], str | None,
                                                         Path | None]:
    """List the files of the model at ``model_uri`` as local paths.

    Returns ``(files, run_id, tempdir_to_remove)``; remote files are fetched into a private
    temporary directory first.
    """
    from saveur.security import private_tempdir
    from saveur.store import tracking

    if model_uri.startswith("runs:"):
        parsed = parse_runs_uri(model_uri)
        if parsed.path is None:
            raise InvalidURIError(f"URI {model_uri!r} names no model path inside the run")
        rows = tracking._artifact_rows(parsed.run_id)
        prefix = parsed.path + "/"
        rels = sorted(rel[len(prefix):] for rel in rows if rel.startswith(prefix))
        if MLMODEL not in rels:
            raise NotFoundError(f"run {parsed.run_id} has no model at {parsed.path!r} "
                                "(no MLmodel file is listed there)")
        base = f"{tracking.run_prefix(parsed.run_id)}/{parsed.path}"
        files, tmp = _fetch(store, base, rels)
        return files, parsed.run_id, tmp
    if model_uri.startswith("models:"):
        version = resolve_version(parse_models_uri(model_uri))
        storage = version.storage_location[len(store.artifacts.uri.rstrip("/")) + 1:]
        local = store.artifacts.local_path(storage)
        if local is not None:
            return list(iter_source_files(local)), version.run_id, None
        tmp = private_tempdir(prefix="saveur-register-")
        for rel in _remote_files(store, storage):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            store.artifacts.get_file(f"{storage}/{rel}", target)
        return list(iter_source_files(tmp)), version.run_id, tmp
    if "://" in model_uri and not model_uri.startswith("file://"):
        from saveur.uris import resolve_model_uri

        local = resolve_model_uri(model_uri).local_path
    else:
        from saveur.uris import saveur_resolve_uri

        resolved = saveur_resolve_uri(model_uri)
        if resolved is None:
            raise InvalidURIError(f"cannot register {model_uri!r}: unknown URI scheme")
        local = resolved.local_path
    if not (local / MLMODEL).is_file():
        raise MLmodelError(f"cannot register {model_uri!r}: no MLmodel file in {local}")
    return list(iter_source_files(local)), None, None


def _fetch(store: Store, base: str, rels: list[str]) -> tuple[list[tuple[str, Path]],
                                                               Path | None]:
    from saveur.security import private_tempdir

    local = store.artifacts.local_path(base)
    if local is not None:
        return [(rel, local / rel) for rel in rels], None
    tmp = private_tempdir(prefix="saveur-register-")
    files = []
    for rel in rels:
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        store.artifacts.get_file(f"{base}/{rel}", target)
        files.append((rel, target))
    return files, tmp


def _remote_files(store: Store, storage: str) -> list[str]:
    fs = store.artifacts.fs  # type: ignore[attr-defined]
    base = f"{store.artifacts.base}/{storage}"  # type: ignore[attr-defined]
    return sorted(p[len(base) + 1:] for p in fs.find(base))


def _check_model(files: list[tuple[str, Path]], model_uri: str) -> str:
    """Verify the source's recorded digests; return its MLmodel's SHA-256."""
    from saveur.mlmodel import Model
    from saveur.security import check_digest_format, digest_matches, sha256_file

    by_rel = dict(files)
    mlmodel_path = by_rel.get(MLMODEL)
    if mlmodel_path is None:
        raise MLmodelError(f"cannot register {model_uri!r}: it has no MLmodel file")
    digests = Model.load(mlmodel_path).digests
    if digests is not None:
        unrecorded = sorted(rel for rel in by_rel if rel != MLMODEL and rel not in digests)
        if unrecorded:
            raise IntegrityError(
                f"cannot register {model_uri!r}: file {unrecorded[0]!r} is not recorded in "
                "MLmodel (added after saving?); if the edit was deliberate, run "
                "`saveur models reseal` first"
            )
        for rel, expected in digests.items():
            path = by_rel.get(rel)
            if path is None:
                raise IntegrityError(
                    f"cannot register {model_uri!r}: file {rel!r} recorded in MLmodel is missing"
                )
            problem = check_digest_format(expected)
            if problem is not None:
                raise IntegrityError(f"cannot register {model_uri!r}: file {rel!r}: {problem}")
            if not digest_matches(path, expected):
                raise IntegrityError(
                    f"cannot register {model_uri!r}: file {rel!r} does not match the digest "
                    "recorded in MLmodel (edited after saving?)"
                )
    return sha256_file(mlmodel_path)


def register_model(
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name`` (created if needed).

    The model is copied (files first, MLmodel last) before the version row is committed, so
    an interrupted registration leaves no version behind, and later edits or deletion of the
    source do not affect the version.
    """
    from saveur.security import sha256_file

    validate_model_name(name)
    for key in tags or {}:
        validate_key(key, "model version tag")
    if not isinstance(model_uri, str):
        model_uri = os.fspath(model_uri)
    store = get_store()
    files, run_id, tmp = _source_files(store, model_uri)
    if ":" not in model_uri:
        model_uri = str(Path(model_uri).resolve())  # a relative path means nothing later
    storage = f"registry/{uuid.uuid4().hex}"
    sealed_dir: Path | None = None
    try:
        sha = _check_model(files, model_uri)
        files, sealed_dir = _seal(files)
        if sealed_dir is not None:
            sha = sha256_file(sealed_dir / MLMODEL)
        ordered = [f for f in files if f[0] != MLMODEL] + [f for f in files if f[0] == MLMODEL]
        for rel, path in ordered:
            store.artifacts.put_file(path, f"{storage}/{rel}")
        copied = store.artifacts.local_path(f"{storage}/{MLMODEL}")
        if copied is not None and sha256_file(copied) != sha:
            raise IntegrityError(f"the copy of {model_uri!r} changed while it was registered")
        with store.write() as conn:
            model_id = _get_or_create_model(conn, store, name)
            version = _next_version(conn, model_id)
            now = _now_ms()
            t = _t()
            conn.execute(t.model_versions.insert().values(
                model_id=model_id, version=version, source=model_uri, run_id=run_id,
                storage_path=storage, mlmodel_sha256=sha, status=READY,
                description=description, creation_time=now, last_updated_time=now))
            for key, value in (tags or {}).items():
                conn.execute(t.model_version_tags.insert().values(
                    model_id=model_id, version=version, key=key, value=str(value)))
    except BaseException:
        store.artifacts.delete_tree(storage)
        raise
    finally:
        for scratch in (tmp, sealed_dir):
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    return get_model_version(name, version)


def _seal(files: list[tuple[str, Path]]) -> tuple[list[tuple[str, Path]], Path | None]:
    """Give a model saved without saveur's digests (by MLflow, say) digests in its copy.

    The registry records the SHA-256 of the version's MLmodel; only when that MLmodel lists
    every file's digest does it anchor the weights too, so a model file swapped in the
    artifact store after registration is refused at load. Returns the files to copy (MLmodel
    replaced by the sealed one) and the scratch directory holding it, or ``(files, None)``
    when the model already records digests.
    """
    from saveur.mlmodel import Model
    from saveur.security import file_digest, private_tempdir

    model = Model.load(dict(files)[MLMODEL])
    if model.digests is not None:
        return files, None
    scratch = private_tempdir(prefix="saveur-seal-")
    model.saveur = {
        **(model.saveur or {}),
        "digests": {rel: file_digest(path) for rel, path in files if rel != MLMODEL},
    }
    model.save(scratch / MLMODEL)
    return [(rel, scratch / MLMODEL if rel == MLMODEL else path) for rel, path in files], scratch


def _get_or_create_model(conn: Connection, store: Store, name: str,
                         description: str | None = None) -> int:
    from sqlalchemy import select

    t = _t()
    rm = t.registered_models
    row = conn.execute(rm.select().where(rm.c.name == name)).first()
    if row is not None:
        return int(row.id)
    now = _now_ms()
    values = {"name": name, "description": description, "creation_time": now,
              "last_updated_time": now, "last_version": 0}
    if store.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(rm).values(**values).on_conflict_do_nothing(
            index_elements=["name"]))
    elif store.dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(rm).values(**values).on_conflict_do_nothing(
            index_elements=["name"]))
    else:
        conn.execute(rm.insert().values(**values))
    return int(conn.execute(select(rm.c.id).where(rm.c.name == name)).scalar_one())


def _next_version(conn: Connection, model_id: int) -> int:
    """Bump the model's version counter; the UPDATE's row lock serialises concurrent callers."""
    from sqlalchemy import select

    rm = _t().registered_models
    conn.execute(rm.update().where(rm.c.id == model_id).values(
        last_version=rm.c.last_version + 1, last_updated_time=_now_ms()))
    return int(conn.execute(select(rm.c.last_version).where(rm.c.id == model_id)).scalar_one())


def create_registered_model(
    name: str, *, tags: Mapping[str, Any] | None = None, description: str | None = None
) -> RegisteredModel:
    """Create an empty registered model; an existing name is refused."""
    validate_model_name(name)
    t = _t()
    store = get_store()
    with store.write() as conn:
        exists = conn.execute(t.registered_models.select().where(
            t.registered_models.c.name == name)).first()
        if exists is not None:
            raise AlreadyExistsError(f"registered model {name!r} already exists")
        model_id = _get_or_create_model(conn, store, name, description)
        for key, value in (tags or {}).items():
            validate_key(key, "registered model tag")
            conn.execute(t.registered_model_tags.insert().values(
                model_id=model_id, key=key, value=str(value)))
    return get_registered_model(name)


# --- aliases, tags, descriptions -------------------------------------------------------


def set_model_alias(name: str, alias: str, version: int | str) -> None:
    """Point ``alias`` of model ``name`` at ``version`` (moving it if it exists)."""
    validate_model_name(name)
    validate_alias(alias)
    number = parse_version(version)
    t = _t()
    with get_store().write() as conn:
        model = _model_row(conn, name)
        _version_row(conn, model, number)
        conn.execute(t.model_aliases.delete().where(
            t.model_aliases.c.model_id == model.id, t.model_aliases.c.alias == alias))
        conn.execute(t.model_aliases.insert().values(model_id=model.id, alias=alias,
                                                     version=number))


def delete_model_alias(name: str, alias: str) -> None:
    """Remove ``alias`` from model ``name``."""
    validate_model_name(name)
    validate_alias(alias)
    t = _t()
    with get_store().write() as conn:
        model = _model_row(conn, name)
        done = conn.execute(t.model_aliases.delete().where(
            t.model_aliases.c.model_id == model.id, t.model_aliases.c.alias == alias))
        if done.rowcount == 0:
            raise NotFoundError(f"registered model {name!r} has no alias {alias!r}")


def set_model_version_tag(name: str, version: int | str, key: str, value: Any) -> None:
    """Set a tag on one model version."""
    validate_model_name(name)
    validate_key(key, "model version tag")
    number = parse_version(version)
    t = _t()
    tags = t.model_version_tags
    with get_store().write() as conn:
        model = _model_row(conn, name)
        _version_row(conn, model, number)
        conn.execute(tags.delete().where(tags.c.model_id == model.id,
                                         tags.c.version == number, tags.c.key == key))
        conn.execute(tags.insert().values(model_id=model.id, version=number, key=key,
                                          value=str(value)))


def delete_model_version_tag(name: str, version: int | str, key: str) -> None:
    """Remove a tag from one model version."""
    validate_model_name(name)
    number = parse_version(version)
    tags = _t().model_version_tags
    with get_store().write() as conn:
        model = _model_row(conn, name)
        _version_row(conn, model, number)
        done = conn.execute(tags.delete().where(tags.c.model_id == model.id,
                                                tags.c.version == number, tags.c.key == key))
        if done.rowcount == 0:
            raise NotFoundError(f"version {number} of {name!r} has no tag {key!r}")


def set_registered_model_tag(name: str, key: str, value: Any) -> None:
    """Set a tag on a registered model."""
    validate_model_name(name)
    validate_key(key, "registered model tag")
    tags = _t().registered_model_tags
    with get_store().write() as conn:
        model = _model_row(conn, name)
        conn.execute(tags.delete().where(tags.c.model_id == model.id, tags.c.key == key))
        conn.execute(tags.insert().values(model_id=model.id, key=key, value=str(value)))


def delete_registered_model_tag(name: str, key: str) -> None:
    """Remove a tag from a registered model."""
    validate_model_name(name)
    tags = _t().registered_model_tags
    with get_store().write() as conn:
        model = _model_row(conn, name)
        done = conn.execute(tags.delete().where(tags.c.model_id == model.id, tags.c.key == key))
        if done.rowcount == 0:
            raise NotFoundError(f"registered model {name!r} has no tag {key!r}")


def update_model_version(name: str, version: int | str, *, description: str | None) -> ModelVersion:
    """Change a version's description (its model files never change)."""
    validate_model_name(name)
    number = parse_version(version)
    mv = _t().model_versions
    with get_store().write() as conn:
        model = _model_row(conn, name)
        _version_row(conn, model, number)
        conn.execute(mv.update().where(mv.c.model_id == model.id, mv.c.version == number)
                     .values(description=description, last_updated_time=_now_ms()))
    return get_model_version(name, number)


def update_registered_model(name: str, *, description: str | None) -> RegisteredModel:
    """Change a registered model's description."""
    validate_model_name(name)
    rm = _t().registered_models
    with get_store().write() as conn:
        model = _model_row(conn, name)
        conn.execute(rm.update().where(rm.c.id == model.id).values(
            description=description, last_updated_time=_now_ms()))
    return get_registered_model(name)


def rename_registered_model(name: str, new_name: str) -> RegisteredModel:
    """Rename a registered model; its versions, aliases and tags follow."""
    validate_model_name(name)
    validate_model_name(new_name)
    rm = _t().registered_models
    with get_store().write() as conn:
        model = _model_row(conn, name)
        taken = conn.execute(rm.select().where(rm.c.name == new_name)).first()
        if taken is not None:
            raise AlreadyExistsError(
                f"cannot rename {name!r} to {new_name!r}: that name is already registered"
            )
        conn.execute(rm.update().where(rm.c.id == model.id).values(
            name=new_name, last_updated_time=_now_ms()))
    return get_registered_model(new_name)


# --- deleting --------------------------------------------------------------------------


def _delete_version_rows(conn: Connection, model_id: int, version: int | None) -> list[str]:
    t = _t()
    mv, tags, aliases = t.model_versions, t.model_version_tags, t.model_aliases
    where_v = [mv.c.model_id == model_id]
    where_t = [tags.c.model_id == model_id]
    where_a = [aliases.c.model_id == model_id]
    if version is not None:
        where_v.append(mv.c.version == version)
        where_t.append(tags.c.version == version)
        where_a.append(aliases.c.version == version)
    storages = [r.storage_path for r in conn.execute(mv.select().where(*where_v))]
    conn.execute(tags.delete().where(*where_t))
    conn.execute(aliases.delete().where(*where_a))
    conn.execute(mv.delete().where(*where_v))
    return storages


def delete_model_version(name: str, version: int | str) -> None:
    """Delete one version (its aliases and tags go too; its number is never reused)."""
    validate_model_name(name)
    number = parse_version(version)
    store = get_store()
    with store.write() as conn:
        model = _model_row(conn, name)
        _version_row(conn, model, number)
        storages = _delete_version_rows(conn, model.id, number)
    # Rows first, files second: a crash in between leaves unreferenced files only.
    for storage in storages:
        store.artifacts.delete_tree(storage)


def delete_registered_model(name: str) -> None:
    """Delete a registered model with all its versions, aliases and tags."""
    validate_model_name(name)
    t = _t()
    store = get_store()
    with store.write() as conn:
        model = _model_row(conn, name)
        storages = _delete_version_rows(conn, model.id, None)
        conn.execute(t.registered_model_tags.delete().where(
            t.registered_model_tags.c.model_id == model.id))
        conn.execute(t.registered_models.delete().where(t.registered_models.c.id == model.id))
    for storage in storages:
        store.artifacts.delete_tree(storage)
