"""Host test fixtures: installed plugins never leak in; the echo test plugin is registered directly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ECHO_SRC = Path(__file__).resolve().parents[2] / "tests" / "plugins" / "saveur-echo" / "src"
if str(_ECHO_SRC) not in sys.path:
    sys.path.insert(0, str(_ECHO_SRC))


@pytest.fixture(autouse=True, scope="session")
def echo_installed_editable(tmp_path_factory):
    """Make the echo test package an installed distribution, as ``pip install -e`` would.

    A by-reference ``python_model_class`` loads only from installed distributions, and the
    core env does not install the echo plugin (its entry point would leak into host tests):
    metadata without entry points, pointing at its source tree, is what an editable install
    leaves in site-packages.
    """
    import json

    site = tmp_path_factory.mktemp("echo-site")
    info = site / "saveur_echo_testing-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: saveur-echo-testing\n"
                                   "Version: 0.0.0\n")
    (info / "direct_url.json").write_text(json.dumps(
        {"url": _ECHO_SRC.parent.as_uri(), "dir_info": {"editable": True}}))
    (info / "RECORD").write_text("".join(
        f"{info.name}/{name},,\n" for name in ("METADATA", "direct_url.json", "RECORD")))
    sys.path.append(str(site))
    yield site
    sys.path.remove(str(site))


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
