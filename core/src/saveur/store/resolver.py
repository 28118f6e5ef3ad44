"""Built-in URI resolver plugin for ``runs:/`` and ``models:/`` URIs.

Registered by the host's plugin manager like any plugin. It imports nothing heavy until a
URI of its schemes arrives. ``models:/`` resolutions carry the registry's MLmodel digest,
which the loader checks (the registry is the trust anchor).
"""

from __future__ import annotations

from pathlib import Path

from saveur.hookspecs import ResolvedURI, hookimpl

_SCHEMES = ("runs", "models")


@hookimpl
def saveur_resolve_uri(uri: str) -> ResolvedURI | None:
    """Resolve ``runs:/<run_id>/<path>`` and ``models:/<name>/<version|latest>``, ``@<alias>``."""
    scheme = uri.split(":", 1)[0] if ":" in uri else ""
    if scheme == "runs":
        return resolve_runs_uri(uri)
    if scheme == "models":
        return resolve_models_uri(uri)
    return None


def resolve_runs_uri(uri: str) -> ResolvedURI:
    """The local directory of a model logged in a run (fetched first for remote roots)."""
    from saveur.errors import NotFoundError
    from saveur.store import tracking
    from saveur.store._db import get_store
    from saveur.store._validation import parse_runs_uri

    parsed = parse_runs_uri(uri)
    rows = tracking._artifact_rows(parsed.run_id)
    path = parsed.path
    if path is not None and (path == "MLmodel" or path.endswith("/MLmodel")) and path in rows:
        path = path.rsplit("/", 1)[0] if "/" in path else None
    prefix = f"{path}/" if path else ""
    rels = sorted(rel[len(prefix):] for rel in rows if rel.startswith(prefix))
    if not rels:
        raise NotFoundError(f"run {parsed.run_id} has no artifact directory {parsed.path!r} "
                            f"(URI {uri!r})")
    store = get_store()
    base = tracking.run_prefix(parsed.run_id) + (f"/{path}" if path else "")
    return ResolvedURI(local_path=_local_dir(store, base, rels))


def resolve_models_uri(uri: str) -> ResolvedURI:
    """The local directory of a registered version, with its recorded MLmodel digest."""
    from saveur.store._db import get_store
    from saveur.store._validation import parse_models_uri
    from saveur.store.registry import _remote_files, resolve_version

    version = resolve_version(parse_models_uri(uri))
    store = get_store()
    storage = version.storage_location[len(store.artifacts.uri.rstrip("/")) + 1:]
    local = store.artifacts.local_path(storage)
    if local is None:
        local = _local_dir(store, storage, _remote_files(store, storage))
    return ResolvedURI(
        local_path=local,
        mlmodel_sha256=version.mlmodel_sha256,
        registered_name=version.name,
        registered_version=str(version.version),
    )


def _local_dir(store: object, base: str, rels: list[str]) -> Path:
    """``base`` as a local directory: itself on a local root, else a private fetched copy."""
    from saveur.security import private_tempdir

    artifacts = store.artifacts  # type: ignore[attr-defined]
    local = artifacts.local_path(base)
    if local is not None:
        return Path(local)
    tmp = private_tempdir(prefix="saveur-fetch-")
    for rel in rels:
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        artifacts.get_file(f"{base}/{rel}", target)
    return tmp
