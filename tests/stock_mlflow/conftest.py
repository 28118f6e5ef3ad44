"""The ``compat-stock`` env: MLflow 3.17.2 and scikit-learn, and no saveur distribution at all.

It loads the portable models that the ``compat`` env saved into ``$SAVEUR_PORTABLE_MODELS``
(``tests/compat/test_portable_export.py``). Where that folder has no manifest, the tests are
skipped with the reason, except under ``CI=true`` (and ``SAVEUR_REQUIRE_MLFLOW=1``), where they
fail: CI must prove the models load. Nothing from saveur is imported here, on purpose.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(
        "SAVEUR_REQUIRE_MLFLOW") == "1"


def _manifest_path() -> Path | None:
    root = os.environ.get("SAVEUR_PORTABLE_MODELS")
    return Path(root) / "manifest.json" if root else None


@pytest.fixture(scope="session")
def portable_models() -> tuple[Path, dict[str, Any]]:
    """``(folder, manifest)`` of the models the compat env saved; skips or fails without them."""
    path = _manifest_path()
    if path is None or not path.is_file():
        why = (
            "no portable models to load: run the compat env first (python3 -m tox -e "
            f"compat,compat-stock); looked for {path or '$SAVEUR_PORTABLE_MODELS/manifest.json'}"
        )
        if _required():
            pytest.fail(why)
        pytest.skip(why)
    return path.parent, json.loads(path.read_text())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``case`` over the manifest's cases (one failing/skipped item without it)."""
    if "case" not in metafunc.fixturenames:
        return
    path = _manifest_path()
    if path is None or not path.is_file():
        metafunc.parametrize("case", [None], ids=["no-manifest"])
        return
    cases = json.loads(path.read_text())["cases"]
    metafunc.parametrize("case", cases, ids=[c["name"] for c in cases])


@pytest.fixture(autouse=True)
def _mlflow_quiet_and_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
