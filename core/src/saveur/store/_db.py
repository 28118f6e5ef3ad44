"""Opening a store: the SQLAlchemy engine, automatic migrations, transactions.

Writes take the database's write lock up front (``BEGIN IMMEDIATE`` on SQLite; row locks on
PostgreSQL) so that concurrent processes serialise instead of failing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import StoreError
from saveur.store._artifacts import ArtifactRoot, open_artifact_root
from saveur.store._config import StoreLocation, resolve_location

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_MIGRATION_LOCK_KEY = 0x5A7E0001  # pg advisory lock id for "saveur store migrations"
_stores: dict[tuple[str, str], Store] = {}
_stores_lock = threading.Lock()


class Store:
    """An open store: metadata database plus artifact root."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        if location.folder is not None:
            # Store folders follow the umask so a team can share one.
            location.folder.mkdir(parents=True, exist_ok=True)
        self.engine = _make_engine(location.db_url)
        self.dialect = self.engine.dialect.name
        _migrate(self.engine)
        self.artifacts: ArtifactRoot = open_artifact_root(location.artifact_root)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction holding the write lock from its first statement."""
        with self.engine.connect() as conn:
            conn.execution_options(saveur_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 120})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Hand transaction control to the "begin" hook below (pysqlite's own is lazy).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA case_sensitive_like=ON")  # MLflow's LIKE is case-sensitive
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            write = conn.get_execution_options().get("saveur_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise StoreError(
            f"cannot open store database {url.split('@')[-1]!r}: {exc}; "
            "install the driver (pip install 'saveur[postgres]')"
        ) from exc


def _current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn, conn.begin():
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(engine: Engine) -> None:
    """Bring the database to the code's revision; a no-op query when it is already there."""
    from saveur.store._schema import HEAD_REVISION

    if _current_revision(engine) == HEAD_REVISION:
        return
    upgrade(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run alembic migrations up to ``revision`` under a cross-process lock."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    script = ScriptDirectory.from_config(config)

    def _steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(revision, rev)

    with engine.connect() as conn:
        conn.execution_options(saveur_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            # Inside the locked transaction, alembic re-reads the version: a second process
            # that waited for the lock finds the work done.
            with EnvironmentContext(config, script, fn=_steps) as env:
                env.configure(connection=conn, target_metadata=None)
                with env.begin_transaction():
                    env.run_migrations()


def get_store(uri: str | None = None) -> Store:
    """The open store for ``uri`` (default: the store URI in effect), opened once per process."""
    location = resolve_location(uri)
    key = (location.db_url, location.artifact_root)
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = Store(location)
                _stores[key] = store
                _forget_pools_in_forked_children()
    return store


_fork_hook = {"registered": False}


def _forget_pools_in_forked_children() -> None:
    """A forked child must not reuse its parent's database connections (server workers)."""
    if _fork_hook["registered"] or not hasattr(os, "register_at_fork"):
        return
    _fork_hook["registered"] = True

    def _after_fork() -> None:
        for store in list(_stores.values()):
            store.engine.dispose(close=False)

    os.register_at_fork(after_in_child=_after_fork)


def close_stores() -> None:
    """Dispose every open store (tests; before forking)."""
    with _stores_lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()
