"""The load and predict hooks, called directly: formats, the trust list, refusals."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import saveur_sklearn
from saveur.errors import (
    IntegrityError,
    MissingDependencyError,
    PluginError,
    TrustError,
    UnsafePathError,
)


def _save(path, model, **options):
    return saveur_sklearn.saveur_save_model(flavor="sklearn", model=model, path=path,
                                            options=options)


def _load(saved, context):
    return saveur_sklearn.saveur_load_model(flavor="sklearn", flavor_conf=saved.flavor_conf,
                                            context=context)


def test_tree_model_loads_from_skops_without_any_trust(tmp_path, forest, xy, context_for):
    saved = _save(tmp_path, forest)
    loaded = _load(saved, context_for(tmp_path))
    np.testing.assert_array_equal(loaded.predict_proba(xy[0]), forest.predict_proba(xy[0]))


def test_trusted_types_in_mlmodel_are_never_read_as_trust(tmp_path, xy, context_for):
    from custom_estimators import AddOne
    from sklearn.pipeline import make_pipeline

    saved = _save(tmp_path, make_pipeline(AddOne()).fit(xy[0]), pyfunc_predict_fn="transform")
    assert saved.flavor_conf["skops_trusted_types"] == ["custom_estimators.AddOne"]
    with pytest.raises(TrustError) as info:
        _load(saved, context_for(tmp_path))
    message = str(info.value)
    assert "custom_estimators.AddOne" in message
    assert "trusted_types=['custom_estimators.AddOne']" in message


def test_callers_trusted_types_admit_a_custom_class(tmp_path, xy, context_for):
    from custom_estimators import AddOne
    from sklearn.pipeline import make_pipeline

    saved = _save(tmp_path, make_pipeline(AddOne()).fit(xy[0]), pyfunc_predict_fn="transform")
    by_name = _load(saved, context_for(tmp_path, trusted_types=["custom_estimators.AddOne"]))
    by_class = _load(saved, context_for(tmp_path, trusted_types=[AddOne]))
    for loaded in (by_name, by_class):
        np.testing.assert_array_equal(loaded.transform(xy[0]), xy[0] + 1)


def test_trust_code_admits_every_type_of_a_skops_file(tmp_path, xy, context_for):
    from custom_estimators import AddOne

    saved = _save(tmp_path, AddOne().fit(xy[0]), pyfunc_predict_fn="transform")
    loaded = _load(saved, context_for(tmp_path, trust_code=True))
    assert isinstance(loaded, AddOne)


def test_bad_trusted_types_are_refused(tmp_path, logreg, context_for):
    saved = _save(tmp_path, logreg)
    with pytest.raises(TrustError, match="trusted_types must hold .* got 3"):
        _load(saved, context_for(tmp_path, trusted_types=[3]))
    with pytest.raises(TrustError, match="trusted_types must be a list .* got dict"):
        _load(saved, context_for(tmp_path, trusted_types={"a": 1}))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_pickle_formats_need_trust_code(tmp_path, logreg, xy, context_for, fmt):
    saved = _save(tmp_path, logreg, serialization_format=fmt)
    with pytest.raises(TrustError, match=rf"'model.pkl' \({fmt}\) would run code.*trust_code=True"):
        _load(saved, context_for(tmp_path))
    loaded = _load(saved, context_for(tmp_path, trust_code=True))
    np.testing.assert_array_equal(loaded.predict(xy[0]), logreg.predict(xy[0]))


def test_mlflow_conf_without_format_is_a_pickle(tmp_path, logreg, context_for):
    saved = _save(tmp_path, logreg, serialization_format="pickle")
    conf = {"pickled_model": "model.pkl"}  # what MLflow 1.x wrote
    with pytest.raises(TrustError, match="pickle"):
        saveur_sklearn.saveur_load_model(flavor="sklearn", flavor_conf=conf,
                                         context=context_for(tmp_path))
    assert saved.flavor_conf["pickled_model"] == "model.pkl"


def test_model_file_outside_the_model_is_refused(tmp_path, context_for):
    conf = {"pickled_model": "../elsewhere/model.skops", "serialization_format": "skops"}
    with pytest.raises(UnsafePathError, match="contains '..'"):
        saveur_sklearn.saveur_load_model(flavor="sklearn", flavor_conf=conf,
                                         context=context_for(tmp_path))


def test_missing_pickled_model_key_is_reported(tmp_path, context_for):
    with pytest.raises(PluginError, match="has no 'pickled_model'"):
        saveur_sklearn.saveur_load_model(flavor="sklearn", flavor_conf={"serialization_format":
                                         "skops"}, context=context_for(tmp_path))


def test_unknown_format_in_mlmodel_is_reported(tmp_path, context_for):
    conf = {"pickled_model": "model.joblib", "serialization_format": "joblib"}
    with pytest.raises(PluginError, match="serialization_format 'joblib'.*reads skops"):
        saveur_sklearn.saveur_load_model(flavor="sklearn", flavor_conf=conf,
                                         context=context_for(tmp_path))


def test_unknown_load_option_is_refused(tmp_path, logreg, context_for):
    saved = _save(tmp_path, logreg)
    with pytest.raises(PluginError, match="unknown load option.*: trusted; accepted: trusted_types"):
        _load(saved, context_for(tmp_path, trusted=["x"]))


def test_corrupt_skops_file_is_reported(tmp_path, logreg, context_for):
    saved = _save(tmp_path, logreg)
    (tmp_path / "model.skops").write_bytes(b"not a zip")
    with pytest.raises(IntegrityError, match="'model.skops' is not a valid skops file"):
        _load(saved, context_for(tmp_path))


def test_missing_framework_names_what_to_install(tmp_path, logreg, context_for, monkeypatch):
    saved = _save(tmp_path, logreg)
    for name in [m for m in sys.modules if m == "skops" or m.startswith("skops.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependencyError, match="needs skops.*pip install skops"):
        _load(saved, context_for(tmp_path))


@pytest.mark.parametrize("name", saveur_sklearn.PREDICT_FNS[:3])
def test_predict_function_calls_the_chosen_method(tmp_path, logreg, xy, context_for, name):
    predict = saveur_sklearn.saveur_predict_function(
        flavor="sklearn", model=logreg, pyfunc_conf={"predict_fn": name},
        context=context_for(tmp_path),
    )
    np.testing.assert_array_equal(predict(xy[0], None), getattr(logreg, name)(xy[0]))


def test_predict_function_defaults_to_predict(tmp_path, logreg, xy, context_for):
    predict = saveur_sklearn.saveur_predict_function(
        flavor="sklearn", model=logreg, pyfunc_conf={}, context=context_for(tmp_path)
    )
    np.testing.assert_array_equal(predict(xy[0], {"ignored": 1}), logreg.predict(xy[0]))


def test_predict_function_refuses_a_method_outside_the_list(tmp_path, logreg, context_for):
    with pytest.raises(PluginError, match="predict_fn is 'score'.*does not call"):
        saveur_sklearn.saveur_predict_function(
            flavor="sklearn", model=logreg, pyfunc_conf={"predict_fn": "score"},
            context=context_for(tmp_path),
        )


def test_predict_function_refuses_a_missing_method(tmp_path, xy, context_for):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(*xy)
    with pytest.raises(PluginError, match="'predict_proba', which LinearRegression does not have"):
        saveur_sklearn.saveur_predict_function(
            flavor="sklearn", model=model, pyfunc_conf={"predict_fn": "predict_proba"},
            context=context_for(tmp_path),
        )
