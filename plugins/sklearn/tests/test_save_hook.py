"""The save hook, called directly: files written, MLflow 3's flavor keys, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn

import saveur_sklearn
from saveur.errors import SaveError


def test_skops_is_the_default_and_records_mlflow_keys(tmp_path, forest):
    saved = saveur_sklearn.saveur_save_model(flavor="sklearn", model=forest, path=tmp_path,
                                             options={})
    assert (tmp_path / "model.skops").is_file()
    assert saved.files == ("model.skops",)
    assert saved.flavor_conf == {
        "pickled_model": "model.skops",
        "sklearn_version": sklearn.__version__,
        "serialization_format": "skops",
        "code": None,
        "skops_trusted_types": ["sklearn.tree._tree.Tree"],
    }
    assert saved.pyfunc_conf == {
        "loader_module": "mlflow.sklearn",
        "model_path": "model.skops",
        "predict_fn": "predict",
    }


def test_linear_model_needs_no_trusted_types(tmp_path, logreg):
    saved = saveur_sklearn.saveur_save_model(flavor="sklearn", model=logreg, path=tmp_path,
                                             options={})
    assert saved.flavor_conf["skops_trusted_types"] == []


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_pickle_formats_write_model_pkl(tmp_path, logreg, fmt):
    saved = saveur_sklearn.saveur_save_model(
        flavor="sklearn", model=logreg, path=tmp_path, options={"serialization_format": fmt}
    )
    assert (tmp_path / "model.pkl").is_file()
    assert saved.flavor_conf["serialization_format"] == fmt
    assert saved.flavor_conf["skops_trusted_types"] is None
    assert saved.pyfunc_conf["model_path"] == "model.pkl"


def test_predict_fn_is_recorded(tmp_path, logreg):
    saved = saveur_sklearn.saveur_save_model(
        flavor="sklearn", model=logreg, path=tmp_path,
        options={"pyfunc_predict_fn": "predict_proba"},
    )
    assert saved.pyfunc_conf["predict_fn"] == "predict_proba"


def test_predict_fn_the_estimator_lacks_is_refused(tmp_path, xy):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(*xy)
    with pytest.raises(SaveError, match="LinearRegression has no method 'predict_proba'"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=model, path=tmp_path,
                                         options={"pyfunc_predict_fn": "predict_proba"})
    assert list(tmp_path.iterdir()) == []


def test_unsupported_predict_fn_is_refused(tmp_path, logreg):
    with pytest.raises(SaveError, match="pyfunc_predict_fn 'fit' is not supported"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=logreg, path=tmp_path,
                                         options={"pyfunc_predict_fn": "fit"})


def test_unknown_option_is_refused_by_name(tmp_path, logreg):
    with pytest.raises(SaveError, match="unknown save option.*: colour; accepted"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=logreg, path=tmp_path,
                                         options={"colour": "red"})


def test_host_private_options_are_ignored(tmp_path, logreg):
    saved = saveur_sklearn.saveur_save_model(flavor="sklearn", model=logreg, path=tmp_path,
                                             options={"_code_dir": "code"})
    assert saved.files == ("model.skops",)


def test_unknown_format_is_refused(tmp_path, logreg):
    with pytest.raises(SaveError, match="unknown serialization_format 'joblib'.*skops, pickle"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=logreg, path=tmp_path,
                                         options={"serialization_format": "joblib"})


def test_skops_refusal_points_to_cloudpickle(tmp_path, xy):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    model = make_pipeline(FunctionTransformer(lambda x: x * 2)).fit(xy[0])
    with pytest.raises(SaveError, match="cannot be saved in the skops format.*cloudpickle"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=model, path=tmp_path,
                                         options={"pyfunc_predict_fn": "transform"})


def test_pickle_refusal_points_to_cloudpickle(tmp_path, xy):
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(lambda x: x * 2).fit(xy[0])
    with pytest.raises(SaveError, match="cannot be saved with pickle.*cloudpickle"):
        saveur_sklearn.saveur_save_model(flavor="sklearn", model=model, path=tmp_path,
                                         options={"serialization_format": "pickle",
                                                  "pyfunc_predict_fn": "transform"})


def test_cloudpickle_saves_a_lambda(tmp_path, xy):
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(lambda x: x * 2).fit(xy[0])
    saveur_sklearn.saveur_save_model(flavor="sklearn", model=model, path=tmp_path,
                                     options={"serialization_format": "cloudpickle",
                                              "pyfunc_predict_fn": "transform"})
    assert (tmp_path / "model.pkl").stat().st_size > 0


def test_detects_estimators_pipelines_and_subclasses(forest, xy):
    from custom_estimators import AddOne
    from sklearn.base import TransformerMixin
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from saveur.hookspecs import FlavorClaim

    detect = saveur_sklearn.saveur_detect_flavor
    assert detect(model=forest) == FlavorClaim("sklearn", RandomForestClassifier)
    assert detect(model=make_pipeline(StandardScaler())) == FlavorClaim("sklearn", Pipeline)
    # a user's subclass is claimed on its nearest scikit-learn base
    assert detect(model=AddOne()) == FlavorClaim("sklearn", TransformerMixin)


def test_does_not_claim_other_objects():
    from sklearn.utils import Bunch

    for obj in (np.zeros(3), {"a": 1}, Bunch(a=1), "sklearn", object()):
        assert saveur_sklearn.saveur_detect_flavor(model=obj) is None


def test_flavor_info():
    (info,) = saveur_sklearn.saveur_flavors()
    assert info.key == "sklearn"
    assert info.distribution == "saveur-sklearn"
    assert info.framework_requirements == ("scikit-learn", "skops")
    assert info.loader_modules == ("saveur_sklearn", "mlflow.sklearn")
    # Portable: models name MLflow's loader; saveur_sklearn stays for models saved before.
    assert info.mlflow_loader_module == "mlflow.sklearn"
