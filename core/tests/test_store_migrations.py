"""Migrations: versioned, applied on open, and matching the schema the code queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import saveur.store as st
from saveur.store import _db, _schema


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    yield
    st.set_store_uri(None)
    _db.close_stores()


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_new_store_is_at_head(tmp_path) -> None:
    st.set_store_uri(tmp_path / "s")
    with st.start_run():
        pass
    assert _revision(tmp_path / "s" / "store.db") == _schema.HEAD_REVISION


def test_head_constant_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(_db.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_heads() == [_schema.HEAD_REVISION]


def test_migrated_database_matches_the_schema_module(tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = _db.get_store(str(tmp_path / "s"))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), _schema.metadata)
    assert diff == []


def test_store_made_by_an_older_version_opens_and_keeps_its_data(tmp_path) -> None:
    from sqlalchemy import create_engine, text

    db = tmp_path / "old" / "store.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    _db.upgrade(engine, "0001")  # what saveur wrote before revision 0002
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO runs (run_id, name, status, lifecycle_stage, start_time) "
            "VALUES ('" + "a" * 32 + "', 'old-run', 'FINISHED', 'active', 1)"))
    engine.dispose()
    assert _revision(db) == "0001"
    st.set_store_uri(tmp_path / "old")
    assert st.get_run("a" * 32).info.run_name == "old-run"
    assert _revision(db) == _schema.HEAD_REVISION
    with sqlite3.connect(db) as conn:
        indexes = {r[1] for r in conn.execute("PRAGMA index_list('model_versions')")}
    assert "ix_model_versions_run_id" in indexes


def test_reopening_a_current_store_runs_no_migration(tmp_path, monkeypatch) -> None:
    _db.get_store(str(tmp_path / "s"))
    _db.close_stores()

    def boom(*args, **kwargs):
        raise AssertionError("upgrade should not run on a current store")

    monkeypatch.setattr(_db, "upgrade", boom)
    _db.get_store(str(tmp_path / "s"))


def test_importing_the_store_loads_no_database_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, saveur.store, saveur.store.resolver; "
        "saveur.store.set_store_uri; saveur.store.Run; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_store_name_resolves() -> None:
    import saveur

    for name in st.__all__:
        assert getattr(st, name) is not None, name
    reexported = [n for n in saveur.__all__ if getattr(saveur, "_LAZY", {}).get(n) == "saveur.store"]
    assert set(reexported) <= set(st.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        st.nope  # noqa: B018
