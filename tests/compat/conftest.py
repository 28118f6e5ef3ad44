"""Shared set-up for the MLflow compatibility tests (real MLflow 3.17.2 against saveur).

These tests need MLflow and saveur in one env. The benchmark env has both::

    $(python benchmarks/_envs.py) -m pytest tests/compat

Without an importable MLflow the whole folder is skipped with a visible reason, unless
``SAVEUR_REQUIRE_MLFLOW=1`` (CI's compat job), where that is an error instead. Every test here
is marked ``mlflow``; MLflow's tracking store, saveur's store and MLflow's telemetry are pointed
at the test's temporary folder or turned off, so a run leaves nothing in the checkout.

The test-only plugin package ``saveur_echo`` (``tests/plugins/saveur-echo``) is importable here
and in snippets, without being registered as a plugin.

Fixtures: ``tmp_model_dir`` (a model path that does not exist yet), ``run_snippet`` and
``run_snippet_json`` (run Python code in a fresh interpreter, e.g. to load a model in a
process where neither library was imported before).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
# The test-only echo plugin (``saveur_echo``: by-reference PythonModel classes and the like) is
# put on the import path, not installed: its entry points stay unregistered, so it never joins
# the plugin manager of the env these tests share with the benchmarks.
_ECHO_SRC = _HERE.parent / "plugins" / "saveur-echo" / "src"
# Installed (the compat tox env): its installed copy is used, since a by-reference class loads
# only from a file of an installed distribution. Not installed (the benchmark env): its source
# goes on the path and an editable-install record without entry points vouches for it.
_ECHO_INSTALLED = importlib.util.find_spec("saveur_echo") is not None
if not _ECHO_INSTALLED and str(_ECHO_SRC) not in sys.path:
    sys.path.insert(0, str(_ECHO_SRC))

_MLFLOW_MISSING: str | None = None
try:
    import mlflow  # noqa: F401  (imported once here so each test module need not pay for it)
except Exception as exc:  # a broken install is as unusable as a missing one
    _MLFLOW_MISSING = (
        f"MLflow cannot be imported ({type(exc).__name__}: {exc}); "
        "run these with $(python benchmarks/_envs.py) -m pytest tests/compat"
    )
    if os.environ.get("SAVEUR_REQUIRE_MLFLOW") == "1":
        raise pytest.UsageError(f"SAVEUR_REQUIRE_MLFLOW=1 but {_MLFLOW_MISSING}") from exc


class _SkippedForMlflow(pytest.Module):
    """A test module collected as one skip, without importing it (it would import mlflow)."""

    def collect(self) -> list[pytest.Item]:
        pytest.skip(_MLFLOW_MISSING or "MLflow cannot be imported")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    """Without MLflow, report each test module of this folder as skipped, with the reason.

    (A module-level ``pytest.skip`` in this conftest would crash ``pytest tests/compat``,
    where pytest loads the conftest before collection starts.)
    """
    if _MLFLOW_MISSING is not None and _HERE in module_path.parents:
        return _SkippedForMlflow.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``mlflow`` (``-m "not mlflow"`` deselects them)."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.mlflow)


@pytest.fixture(scope="session")
def _echo_site(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The paths that make ``saveur_echo`` importable and installed, when it is not."""
    if _ECHO_INSTALLED:
        return []
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
    return [str(_ECHO_SRC), str(site)]


@pytest.fixture(autouse=True)
def _isolated_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _echo_site: list[str]
) -> None:
    """Keep MLflow's and saveur's stores in the test's folder; no telemetry from MLflow.

    Set in the environment, so snippets run with ``run_snippet`` inherit it (and can import
    ``saveur_echo`` too).
    """
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*_echo_site, *([path] if path else [])]))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SAVEUR_STORE_URI", str(tmp_path / "saveur-store"))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)


@pytest.fixture
def tmp_model_dir(tmp_path: Path) -> Path:
    """A path for one saved model: its parent exists, the path itself does not.

    Both MLflow and saveur refuse to save into a non-empty directory, so this is what either
    library's ``save_model`` expects.
    """
    return tmp_path / "model"


def _run(code: str, env: dict[str, str] | None, timeout: float, cwd: Path) -> str:
    source = textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", source],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"snippet exited with status {done.returncode}\n--- code ---\n{source}\n"
            f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        )
    return done.stdout


@pytest.fixture
def run_snippet(tmp_path: Path) -> Callable[..., str]:
    """Run Python code in a fresh interpreter of this env and return its stdout.

    ``run_snippet(code, env=None, timeout=300)``: ``code`` is dedented; ``env`` adds
    variables to the inherited environment; the working directory is the test's tmp folder.
    A non-zero exit fails the test with the code, stdout and stderr in the message.
    """

    def run(code: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> str:
        return _run(code, env, timeout, tmp_path)

    return run


@pytest.fixture
def run_snippet_json(tmp_path: Path) -> Callable[..., Any]:
    """Like ``run_snippet``, but parse the last line of stdout as JSON and return it.

    Libraries may log to stdout, so only the last line is read: end the snippet with
    ``print(json.dumps(result))``.
    """

    def run(code: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
        out = _run(code, env, timeout, tmp_path).strip().splitlines()
        if not out:
            raise AssertionError("snippet printed nothing; end it with print(json.dumps(...))")
        return json.loads(out[-1])

    return run
