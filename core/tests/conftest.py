"""Host test fixtures: installed plugins never leak in; the echo test plugin is registered directly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ECHO_SRC = Path(__file__).resolve().parents[2] / "tests" / "plugins" / "saveur-echo" / "src"
if str(_ECHO_SRC) not in sys.path:
    sys.path.insert(0, str(_ECHO_SRC))


@pytest.fixture(autouse=True)
def host_plugins(monkeypatch):
    """Every host test sees the built-in plugins plus the echo plugin, nothing installed."""
    import saveur_echo
    from saveur import plugins

    monkeypatch.delenv("SAVEUR_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
    built = plugins.build_plugins(entry_points=False, extra=[("echo", saveur_echo)])
    plugins.reset_plugins(built)
    yield built
    plugins.reset_plugins(None)


@pytest.fixture
def echo_model():
    import saveur_echo

    return saveur_echo.EchoModel(factor=3.0)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh local store (SQLite + artifacts) in the test's folder; closed afterwards."""
    import saveur.store as st
    from saveur.store import _db

    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    st.set_store_uri(tmp_path / "store")
    yield tmp_path / "store"
    while st.active_run() is not None:
        st.end_run()
    st.set_store_uri(None)
    _db.close_stores()
