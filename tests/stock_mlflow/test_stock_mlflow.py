"""Models saved by saveur load and predict the same in stock MLflow, with no saveur installed.

Runs in the ``compat-stock`` tox env only (see conftest.py). Every case of the manifest loads
through ``mlflow.pyfunc.load_model`` and ``mlflow.sklearn.load_model`` and predicts exactly what
the saving env predicted; ``mlflow models serve --env-manager local`` answers one request.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.mlflow

SERVE_STARTUP_TIMEOUT_S = 120.0


def _input(root: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    values = np.load(root / manifest["input"], allow_pickle=False)
    return pd.DataFrame(values, columns=manifest["columns"])


def test_no_saveur_distribution_is_installed() -> None:
    # The whole point of this env: a model that reached for saveur would fail to import it.
    ours = sorted(
        d.metadata["Name"] for d in importlib.metadata.distributions()
        if (d.metadata["Name"] or "").lower().replace("_", "-").startswith("saveur")
    )
    assert ours == [], f"saveur distributions installed in the stock env: {ours}"
    assert importlib.util.find_spec("saveur") is None
    assert importlib.util.find_spec("saveur_sklearn") is None


def test_stock_mlflow_is_3_17_2() -> None:
    import mlflow

    assert mlflow.__version__ == "3.17.2"


def test_portable_model_predicts_the_same_in_stock_mlflow(portable_models, case) -> None:
    import mlflow.pyfunc
    import mlflow.sklearn

    root, manifest = portable_models
    model_dir = root / case["model_dir"]
    X = _input(root, manifest)
    expected = np.load(root / case["expected"], allow_pickle=False)

    reqs = (model_dir / "requirements.txt").read_text().splitlines()
    assert not any(r.lower().startswith("saveur") for r in reqs), reqs
    pyfunc_model = mlflow.pyfunc.load_model(str(model_dir))
    assert (pyfunc_model.metadata.signature is not None) == bool(
        case["signature"] or case["example"])
    np.testing.assert_array_equal(np.asarray(pyfunc_model.predict(X)), expected)
    native = mlflow.sklearn.load_model(str(model_dir))
    np.testing.assert_array_equal(getattr(native, case["predict_fn"])(X), expected)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVE_STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"mlflow models serve exited with {proc.returncode}:\n"
                f"{log.read_text(errors='replace')[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"mlflow models serve did not answer /ping within {SERVE_STARTUP_TIMEOUT_S:.0f} s:\n"
        f"{log.read_text(errors='replace')[-4000:]}"
    )


def test_mlflow_models_serve_answers_for_a_portable_model(portable_models, tmp_path) -> None:
    root, manifest = portable_models
    (case,) = [c for c in manifest["cases"] if c["name"] == "pipeline-skops-predict-example"]
    X = _input(root, manifest).head(5)
    expected = np.load(root / case["expected"], allow_pickle=False)[:5]
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(root / case["model_dir"]),
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
            # MLflow starts `uvicorn` by name: this env's scripts must come first on PATH.
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true",
                 "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                          os.environ.get("PATH", "")])},
            start_new_session=True,  # its workers go with it when the group is stopped
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_ping(url, proc, log)
        # json writes floats round-trip exact (repr), so the server sees the very same input.
        body = json.dumps({"dataframe_split": {"columns": list(X.columns),
                                               "data": X.to_numpy().tolist()}})
        request = urllib.request.Request(f"{url}/invocations", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            got = json.loads(answer.read())["predictions"]
        np.testing.assert_array_equal(np.asarray(got), expected)
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (its own process group), waiting for them."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break  # the whole group is gone already
        try:
            proc.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
