"""Which store to use: ``SAVEUR_STORE_URI``, :func:`set_store_uri`, or ``./saveur-store/``.

A store URI is either a local folder (plain path or ``file://``), which holds ``store.db``
(SQLite) and ``artifacts/``, or a SQLAlchemy URL for the metadata database, with artifacts
under ``SAVEUR_ARTIFACT_ROOT`` (a local path, or any fsspec URL when fsspec is installed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from saveur.errors import StoreError

DEFAULT_STORE = "./saveur-store"
_DB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql", "oracle")

_state: dict[str, str | None] = {"uri": None, "artifact_root": None}
#: (folder store, ignored SAVEUR_ARTIFACT_ROOT) pairs already warned about, once per process
_warned: set[tuple[str, str]] = set()


def set_store_uri(uri: str | os.PathLike[str] | None, artifact_root: str | None = None) -> None:
    """Choose the store used by this process; ``None`` goes back to the environment/default.

    ``artifact_root`` (a folder or fsspec URL) overrides ``SAVEUR_ARTIFACT_ROOT`` for a
    database URL, and the folder's own ``artifacts/`` for a folder store.
    """
    _state["uri"] = None if uri is None else os.fspath(uri)
    _state["artifact_root"] = artifact_root


def get_store_uri() -> str:
    """The store URI in effect: :func:`set_store_uri`, else ``SAVEUR_STORE_URI``, else default."""
    return _state["uri"] or os.environ.get("SAVEUR_STORE_URI") or DEFAULT_STORE


@dataclass(frozen=True)
class StoreLocation:
    """Where metadata (a SQLAlchemy URL) and artifacts (a path or fsspec URL) live."""

    db_url: str
    artifact_root: str
    folder: Path | None = None


def _is_db_url(uri: str) -> bool:
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    return scheme in _DB_SCHEMES


def _sqlalchemy_url(uri: str) -> str:
    """Pick an installed driver for ``postgresql://`` (SQLAlchemy defaults to psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            import importlib.util

            if importlib.util.find_spec("psycopg2") is None:
                return "postgresql+psycopg://" + uri[len(prefix) :]
            return "postgresql://" + uri[len(prefix) :]
    return uri


def resolve_location(uri: str | None = None) -> StoreLocation:
    """Turn a store URI into a :class:`StoreLocation` (no file is touched)."""
    uri = uri or get_store_uri()
    if _is_db_url(uri):
        root = _state["artifact_root"] or os.environ.get("SAVEUR_ARTIFACT_ROOT")
        if not root:
            if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
                root = str(Path(uri[len("sqlite:///") :]).resolve().parent / "artifacts")
            else:
                raise StoreError(
                    f"store URI {uri!r} is a database; set SAVEUR_ARTIFACT_ROOT (a folder or "
                    "fsspec URL) to say where artifacts go"
                )
        return StoreLocation(_sqlalchemy_url(uri), _normalise_root(root))
    if uri.startswith("file://"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
            raise StoreError(f"store URI {uri!r} must be file:///<absolute path>")
        uri = parts.path
    elif "://" in uri:
        raise StoreError(
            f"store URI {uri!r} is neither a folder nor a database URL "
            "(sqlite:///..., postgresql://...)"
        )
    folder = Path(uri).expanduser().resolve()
    root = _state["artifact_root"]
    ignored = os.environ.get("SAVEUR_ARTIFACT_ROOT")
    if root is None and ignored and (str(folder), ignored) not in _warned:
        # Honoring it would hide the artifacts this folder store already holds.
        import warnings

        _warned.add((str(folder), ignored))

        warnings.warn(
            f"SAVEUR_ARTIFACT_ROOT is ignored: the store {str(folder)!r} is a folder store, "
            f"which keeps its artifacts in {str(folder / 'artifacts')!r}; set "
            "SAVEUR_STORE_URI to a database URL (sqlite:///..., postgresql://...) to put "
            "artifacts elsewhere",
            UserWarning,
            stacklevel=3,
        )
    artifacts = _normalise_root(root) if root else str(folder / "artifacts")
    return StoreLocation(f"sqlite:///{folder / 'store.db'}", artifacts, folder)


def _normalise_root(root: str) -> str:
    if root.startswith("file://"):
        return urlsplit(root).path
    if "://" in root:
        return root
    return str(Path(root).expanduser().resolve())
