"""Interop with real MLflow 3.17.2 (tox env ``onnx-mlflow``; skipped where MLflow is absent).

Models saved by ``mlflow.onnx`` load and predict identically in saveur; models saved by
saveur-onnx load in ``mlflow.pyfunc.load_model`` and ``mlflow.onnx.load_model`` identically,
because their ``python_function`` block is the one MLflow writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from onnx_graphs import linear, two_in_two_out, xy

import saveur
import saveur.pyfunc
import saveur_onnx

pytest.importorskip("mlflow", reason="MLflow is not installed (tox -e onnx-mlflow)")
import mlflow
import mlflow.onnx
import mlflow.pyfunc

#: Given, so that MLflow skips its requirement inference (a subprocess per save, ~20 s here).
_PINS = ["onnx", "onnxruntime"]


@pytest.fixture(scope="module")
def regressor_onnx():
    """One output with one value per row: DataFrame answers are comparable with MLflow's."""
    from sklearn.linear_model import LinearRegression

    X, y = xy()
    return saveur_onnx.from_sklearn(LinearRegression().fit(X, y.astype(np.float32)), X[:1])


def _block(mlmodel_text: str, key: str) -> str:
    """The lines of one top-level flavor block of an MLmodel file, as written."""
    lines, inside = [], False
    for line in mlmodel_text.splitlines():
        if line == f"  {key}:":
            inside = True
        elif inside and (not line.startswith("    ")):
            break
        if inside:
            lines.append(line)
    assert lines, f"no {key} block in MLmodel"
    return "\n".join(lines)


def test_python_function_block_is_byte_for_byte_mlflows(tmp_path, logreg_onnx):
    mlflow.onnx.save_model(logreg_onnx, str(tmp_path / "mlflow"), pip_requirements=_PINS)
    saveur_onnx.save_model(logreg_onnx, tmp_path / "saveur")
    theirs = (tmp_path / "mlflow" / "MLmodel").read_text()
    ours = (tmp_path / "saveur" / "MLmodel").read_text()
    assert _block(ours, "python_function") == _block(theirs, "python_function")
    # The onnx block has MLflow's keys; only the providers default differs (explicit CPU).
    ours_conf = saveur.models.Model.load(tmp_path / "saveur").flavors["onnx"]
    theirs_conf = mlflow.models.Model.load(str(tmp_path / "mlflow")).flavors["onnx"]
    assert set(ours_conf) == set(theirs_conf)
    assert {k: v for k, v in ours_conf.items() if k != "providers"} == \
        {k: v for k, v in theirs_conf.items() if k != "providers"}


@pytest.mark.parametrize("name", ["logreg", "regressor", "two_in_two_out", "linear"])
def test_mlflow_saved_models_predict_identically_in_saveur(tmp_path, name, logreg_onnx,
                                                            regressor_onnx):
    model = {"logreg": logreg_onnx, "regressor": regressor_onnx,
             "two_in_two_out": two_in_two_out(), "linear": linear()}[name]
    path = str(tmp_path / "m")
    mlflow.onnx.save_model(model, path, pip_requirements=_PINS)  # external data on (default)
    theirs = mlflow.pyfunc.load_model(path)
    ours = saveur.pyfunc.load_model(path)
    assert ours.metadata.signature is None  # MLflow writes none; nothing is invented on load
    for data in _inputs(name):
        _assert_same(ours.predict(data), theirs.predict(data))
    loaded = saveur_onnx.load_model(path)
    assert loaded == mlflow.onnx.load_model(path)


def _inputs(name):
    X = xy(5, seed=4)[0]
    if name == "two_in_two_out":
        return [{"a": X[:, :2].copy(), "b": np.arange(5, dtype=np.int64).reshape(-1, 1)}]
    if name == "linear":
        return [np.random.RandomState(0).randn(2, 300).astype(np.float32)]
    frames = [pd.DataFrame(X, columns=list("abcd"))] if name == "regressor" else []
    return [X, X.astype(np.float64), *frames]


def _assert_same(ours, theirs):
    if isinstance(theirs, pd.DataFrame):
        pd.testing.assert_frame_equal(ours, theirs)
        return
    assert isinstance(ours, dict) and list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key])


@pytest.mark.parametrize("name", ["logreg", "regressor", "two_in_two_out", "linear"])
def test_saveur_saved_models_load_in_mlflow_identically(tmp_path, name, logreg_onnx,
                                                        regressor_onnx):
    model = {"logreg": logreg_onnx, "regressor": regressor_onnx,
             "two_in_two_out": two_in_two_out(), "linear": linear()}[name]
    saveur_onnx.save_model(model, tmp_path / "m")
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    ours = saveur.pyfunc.load_model(tmp_path / "m")
    # The derived signature is the one addition, and MLflow reads and enforces it.
    assert theirs.metadata.signature is not None
    for data in _inputs(name):
        if isinstance(data, np.ndarray) and data.dtype == np.float64:
            continue  # the float32 signature refuses float64 in both (checked below)
        _assert_same(ours.predict(data), theirs.predict(data))
    assert mlflow.onnx.load_model(str(tmp_path / "m")) == saveur_onnx.load_model(tmp_path / "m")


def test_both_enforce_the_derived_signature_alike(tmp_path, logreg_onnx):
    from saveur.errors import SchemaError

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    X64 = xy(2)[0].astype(np.float64)
    with pytest.raises(SchemaError, match="float32"):
        saveur.pyfunc.load_model(tmp_path / "m").predict(X64)
    with pytest.raises(mlflow.exceptions.MlflowException, match="float32"):
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X64)
