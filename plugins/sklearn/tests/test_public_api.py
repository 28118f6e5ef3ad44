"""saveur_sklearn's module functions: save_model, log_model, load_model and MLflow's _load_pyfunc."""

from __future__ import annotations

import numpy as np
import pytest

import saveur
import saveur.pyfunc
import saveur_sklearn
from saveur.errors import IntegrityError, TrustError
from saveur.models import Model


def test_save_model_passes_format_and_predict_fn(tmp_path, forest, xy):
    saveur_sklearn.save_model(forest, tmp_path / "m", serialization_format="pickle",
                              pyfunc_predict_fn="predict_proba")
    mlmodel = Model.load(tmp_path / "m")
    assert mlmodel.flavors["sklearn"]["serialization_format"] == "pickle"
    assert mlmodel.flavors["python_function"]["predict_fn"] == "predict_proba"
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)
    np.testing.assert_array_equal(pyfunc_model.predict(xy[0]), forest.predict_proba(xy[0]))


def test_load_model_passes_trusted_types(tmp_path, xy):
    from custom_estimators import AddOne

    saveur_sklearn.save_model(AddOne().fit(xy[0]), tmp_path / "m", pyfunc_predict_fn="transform")
    with pytest.raises(TrustError, match="custom_estimators.AddOne"):
        saveur_sklearn.load_model(tmp_path / "m")
    loaded = saveur_sklearn.load_model(tmp_path / "m", trusted_types=[AddOne])
    assert isinstance(loaded, AddOne)


def test_pyfunc_load_passes_trusted_types(tmp_path, xy):
    from custom_estimators import AddOne

    saveur_sklearn.save_model(AddOne().fit(xy[0]), tmp_path / "m", pyfunc_predict_fn="transform")
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m",
                                            trusted_types=["custom_estimators.AddOne"])
    np.testing.assert_array_equal(pyfunc_model.predict(xy[0]), xy[0] + 1)


def test_log_model_logs_to_a_run(tmp_path, logreg, xy, monkeypatch):
    monkeypatch.setenv("SAVEUR_STORE_URI", str(tmp_path / "store"))
    info = saveur_sklearn.log_model(logreg, "model")
    loaded = saveur_sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(xy[0]), logreg.predict(xy[0]))
    assert Model.load(saveur.pyfunc.load_model(info.model_uri).model_dir).flavors["sklearn"]


def test_mlflow_loader_entry_wraps_every_prediction_method(tmp_path, logreg, xy):
    saveur_sklearn.save_model(logreg, tmp_path / "m")
    wrapper = saveur_sklearn._load_pyfunc(str(tmp_path / "m"))
    assert wrapper.get_raw_model().__class__ is logreg.__class__
    for name in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        np.testing.assert_array_equal(getattr(wrapper, name)(xy[0]), getattr(logreg, name)(xy[0]))
    assert not hasattr(wrapper, "transform")


def test_mlflow_loader_entry_accepts_the_model_file(tmp_path, logreg, xy):
    saveur_sklearn.save_model(logreg, tmp_path / "m")
    wrapper = saveur_sklearn._load_pyfunc(str(tmp_path / "m" / "model.skops"))
    np.testing.assert_array_equal(wrapper.predict(xy[0]), logreg.predict(xy[0]))


def test_mlflow_loader_entry_checks_digests(tmp_path, logreg):
    saveur_sklearn.save_model(logreg, tmp_path / "m")
    with open(tmp_path / "m" / "model.skops", "ab") as f:
        f.write(b"\0")
    with pytest.raises(IntegrityError, match="model.skops"):
        saveur_sklearn._load_pyfunc(str(tmp_path / "m"))


def test_mlflow_loader_entry_needs_the_deployers_consent_for_pickles(tmp_path, logreg, xy,
                                                                     monkeypatch):
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
    saveur_sklearn.save_model(logreg, tmp_path / "m", serialization_format="pickle")
    with pytest.raises(TrustError, match="SAVEUR_TRUST_CODE=1"):
        saveur_sklearn._load_pyfunc(str(tmp_path / "m"))
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    wrapper = saveur_sklearn._load_pyfunc(str(tmp_path / "m"))
    np.testing.assert_array_equal(wrapper.predict(xy[0]), logreg.predict(xy[0]))


def test_import_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, saveur_sklearn; print('sklearn' in sys.modules, 'skops' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
