"""Hostile-input tests: the built-in plugins, the echo test plugin and (when installed) sklearn.

The plugin manager is built explicitly so these tests behave the same in the dev venv and in
the integration tox env (where the echo and broken test plugins are installed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_ECHO_SRC = Path(__file__).resolve().parents[1] / "plugins" / "saveur-echo" / "src"
# Only when the echo plugin is not installed (the dev venv): a source tree ahead of the
# installed copy would make by-reference classes resolve to files of no distribution.
if importlib.util.find_spec("saveur_echo") is None and str(_ECHO_SRC) not in sys.path:
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


@pytest.fixture
def install_package(tmp_path, monkeypatch):
    """Install a package into a fresh site directory: its files plus ``*.dist-info``/RECORD.

    ``install_package({"pkg/__init__.py": "...", ...})`` returns the site directory, put on
    ``sys.path`` for the test: what ``pip install`` leaves, so the package is an installed
    distribution for ``importlib.metadata``.
    """
    import importlib

    def install(files: dict[str, str], name: str = "hostile-dist") -> Path:
        site = tmp_path / f"site-{name}"
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        for rel, text in files.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(text)
        listed = [*files, f"{info.name}/METADATA", f"{info.name}/RECORD"]
        (info / "RECORD").write_text("".join(f"{rel},,\n" for rel in listed))
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()
        return site

    return install
