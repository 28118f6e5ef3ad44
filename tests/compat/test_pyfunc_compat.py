"""Custom Python models across MLflow 3.17.2 and saveur."""

from __future__ import annotations

import textwrap

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest

import saveur.pyfunc
from saveur.errors import PluginError, TrustError


@pytest.fixture
def frame():
    return pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})


def test_saveur_by_reference_model_loads_in_mlflow(tmp_path, frame):
    pytest.importorskip("saveur_echo")
    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                             model_config={"scale": 2}, input_example=frame)
    ours = saveur.pyfunc.load_model(tmp_path / "m").predict(frame)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(frame)
    assert list(theirs) == list(ours) == [8.0, 12.0]


class Summer(saveur.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input.sum(axis=1)


def test_saveur_pickled_model_loads_in_mlflow_only_with_deployer_trust(
    tmp_path, frame, monkeypatch
):
    saveur.pyfunc.save_model(tmp_path / "m", python_model=Summer())
    with pytest.raises(Exception, match="SAVEUR_TRUST_CODE=1"):
        mlflow.pyfunc.load_model(str(tmp_path / "m"))
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    assert list(mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(frame)) == [4.0, 6.0]


class MlflowSummer(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input.sum(axis=1)


def test_mlflow_python_model_says_it_needs_mlflow(tmp_path, frame):
    mlflow.pyfunc.save_model(str(tmp_path / "m"), python_model=MlflowSummer())
    with pytest.raises(PluginError, match="needs MLflow's own classes"):
        saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)


def test_mlflow_custom_loader_module_loads_only_with_trust(tmp_path, frame, monkeypatch):
    pkg = tmp_path / "src"
    pkg.mkdir()
    (pkg / "compat_loader_mod.py").write_text(textwrap.dedent("""
        class _M:
            def __init__(self, k):
                self.k = k
            def predict(self, data, params=None):
                return data.sum(axis=1) * self.k
        def _load_pyfunc(path):
            return _M(float(open(path).read()))
    """))
    (tmp_path / "k.txt").write_text("3")
    monkeypatch.syspath_prepend(str(pkg))
    mlflow.pyfunc.save_model(str(tmp_path / "m"), loader_module="compat_loader_mod",
                             data_path=str(tmp_path / "k.txt"))
    with pytest.raises(TrustError, match="loader module 'compat_loader_mod'"):
        saveur.pyfunc.load_model(tmp_path / "m")
    ours = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True).predict(frame)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(frame)
    assert list(ours) == list(theirs) == [12.0, 18.0]
