"""Hostile-input tests: the built-in plugins, the echo test plugin and (when installed) sklearn.

The plugin manager is built explicitly so these tests behave the same in the dev venv and in
the integration tox env (where the echo and broken test plugins are installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ECHO_SRC = Path(__file__).resolve().parents[1] / "plugins" / "saveur-echo" / "src"
if str(_ECHO_SRC) not in sys.path:
    sys.path.insert(0, str(_ECHO_SRC))


@pytest.fixture(autouse=True)
def hostile_plugins(monkeypatch):
    """Built-ins, echo, and sklearn when importable; no trust from the environment."""
    import saveur_echo
    from saveur import plugins

    monkeypatch.delenv("SAVEUR_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
    extra: list[tuple[str, object]] = [("echo", saveur_echo)]
    try:
        import saveur_sklearn
    except ImportError:
        pass
    else:
        extra.append(("sklearn", saveur_sklearn))
    built = plugins.build_plugins(entry_points=False, extra=extra)
    plugins.reset_plugins(built)
    yield built
    plugins.reset_plugins(None)


@pytest.fixture
def echo_dir(tmp_path):
    """A freshly saved echo model directory (digests recorded)."""
    import saveur
    import saveur_echo

    path = tmp_path / "echo"
    saveur.save_model(saveur_echo.EchoModel(factor=2.0), path)
    return path
