"""The conformance kit fails plugins that break the contract (so passing it means something).

Kit checks are called directly here with hand-made arguments, outside their fixtures.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from pluggy import PluginValidationError

import saveur_sklearn
from saveur.hookspecs import hookimpl
from saveur.testing import (
    DiscoveryTests,
    SaveTests,
    assert_predictions_equal,
    block_modules,
    framework_modules_of,
    requirement_name,
)


def _plugin(**hooks):
    module = types.ModuleType("broken_plugin")
    for name, fn in hooks.items():
        setattr(module, name, hookimpl(fn))
    return module


def _all_hooks(**overrides):
    def flavors():
        return []

    def detect(model):
        return None

    def save(flavor, model, path, options):
        return None

    def load(flavor, flavor_conf, context):
        return None

    def predict_function(flavor, model, pyfunc_conf, context):
        return None

    def requirements(flavor, model_dir, flavor_conf):
        return []

    hooks = {
        "saveur_flavors": flavors,
        "saveur_detect_flavor": detect,
        "saveur_save_model": save,
        "saveur_load_model": load,
        "saveur_predict_function": predict_function,
        "saveur_infer_requirements": requirements,
    }
    hooks.update(overrides)
    return {k: v for k, v in hooks.items() if v is not None}


def test_sklearn_plugin_passes_the_hook_check():
    DiscoveryTests().test_hookimpls_match_the_specs(saveur_sklearn, "sklearn")


def test_hook_with_an_argument_the_spec_lacks_fails():
    def save(flavor, model, path, options, overwrite):
        return None

    with pytest.raises(PluginValidationError, match="overwrite"):
        DiscoveryTests().test_hookimpls_match_the_specs(
            _plugin(**_all_hooks(saveur_save_model=save)), "broken"
        )


def test_hook_with_a_misspelled_name_fails():
    def load(flavor, flavor_conf, context):
        return None

    hooks = _all_hooks(saveur_load_model=None)
    hooks["saveur_load_modle"] = load
    with pytest.raises(PluginValidationError, match="saveur_load_modle"):
        DiscoveryTests().test_hookimpls_match_the_specs(_plugin(**hooks), "broken")


def test_missing_hook_fails():
    with pytest.raises(AssertionError, match="saveur_infer_requirements"):
        DiscoveryTests().test_hookimpls_match_the_specs(
            _plugin(**_all_hooks(saveur_infer_requirements=None)), "broken"
        )


def _model_dir(tmp_path, lines, *, plugin="saveur-sklearn", loader="mlflow.sklearn"):
    import yaml

    (tmp_path / "requirements.txt").write_text("\n".join(lines) + "\n")
    doc = {"flavors": {"python_function": {"loader_module": loader, "model_path": "model.skops"},
                       "sklearn": {"pickled_model": "model.skops"}}}
    if plugin is not None:
        doc["saveur"] = {"plugin": {"distribution": plugin, "version": "0.1.0"}}
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(doc))
    return tmp_path


def _info():
    (info,) = saveur_sklearn.saveur_flavors()
    return info


def _non_portable_info():
    import dataclasses

    return dataclasses.replace(_info(), mlflow_loader_module=None)


def test_unpinned_requirement_fails(tmp_path):
    model_dir = _model_dir(tmp_path, ["saveur==0.1.0", "saveur-sklearn==0.1.0",
                                      "scikit-learn>=1.0"])
    with pytest.raises(AssertionError, match="not pinned"):
        SaveTests().test_requirements_are_pinned_and_name_the_plugin(
            model_dir, "saveur-sklearn", _non_portable_info(), False
        )


def test_requirements_without_the_plugin_fail(tmp_path):
    model_dir = _model_dir(tmp_path, ["saveur==0.1.0", "scikit-learn==1.9.1"])
    with pytest.raises(AssertionError, match="saveur-sklearn missing"):
        SaveTests().test_requirements_are_pinned_and_name_the_plugin(
            model_dir, "saveur-sklearn", _non_portable_info(), False
        )


def test_local_version_label_fails(tmp_path):
    model_dir = _model_dir(tmp_path, ["saveur==0.1.0", "saveur-sklearn==0.1.0",
                                      "scikit-learn==1.9.1+cpu"])
    with pytest.raises(AssertionError, match="local version labels"):
        SaveTests().test_requirements_are_pinned_and_name_the_plugin(
            model_dir, "saveur-sklearn", _non_portable_info(), False
        )


def test_portable_requirements_naming_a_saveur_distribution_fail(tmp_path):
    model_dir = _model_dir(tmp_path, ["mlflow>=3.17.2,<4", "saveur-sklearn==0.1.0",
                                      "scikit-learn==1.9.1"])
    with pytest.raises(AssertionError, match=r"names \['saveur-sklearn'\]"):
        SaveTests().test_requirements_are_pinned_and_name_the_plugin(
            model_dir, "saveur-sklearn", _info(), True
        )


def test_portable_model_without_the_plugin_record_fails(tmp_path):
    model_dir = _model_dir(tmp_path, ["mlflow>=3.17.2,<4", "scikit-learn==1.9.1"], plugin=None)
    with pytest.raises(AssertionError, match="saveur.plugin"):
        SaveTests().test_requirements_are_pinned_and_name_the_plugin(
            model_dir, "saveur-sklearn", _info(), True
        )


def test_portable_model_naming_another_loader_module_fails(tmp_path):
    from saveur.testing import PortableFlavorTests

    model_dir = _model_dir(tmp_path, ["scikit-learn==1.9.1"], loader="saveur_sklearn")
    with pytest.raises(AssertionError, match="saveur_sklearn"):
        PortableFlavorTests().test_portable_model_names_the_mlflow_loader_module(
            model_dir, "mlflow.sklearn", _info()
        )


def test_portable_model_with_saveur_requirements_is_not_reported_portable(tmp_path):
    from saveur.testing import PortableFlavorTests

    model_dir = _model_dir(tmp_path, ["saveur==0.1.0", "scikit-learn==1.9.1"])
    with pytest.raises(AssertionError, match="'saveur==0.1.0'"):
        PortableFlavorTests().test_portable_model_is_reported_portable(model_dir, "mlflow.sklearn")


def test_requirement_names_are_normalized():
    assert requirement_name("Saveur_SKLearn==0.1.0") == "saveur-sklearn"
    assert requirement_name("scikit-learn[extra]>=1; python_version>'3'") == "scikit-learn"


def test_predictions_that_differ_fail():
    assert_predictions_equal(np.array([1.0, 2.0]), pd.Series([1.0, 2.0 + 1e-12]))
    with pytest.raises(AssertionError):
        assert_predictions_equal(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_predictions_equal(np.array([1.0, 2.0]), np.array([[1.0, 2.0]]))
    with pytest.raises(AssertionError, match="keys differ"):
        assert_predictions_equal({"a": [1]}, {"b": [1]})
    with pytest.raises(AssertionError):
        assert_predictions_equal(np.array(["x", "y"]), np.array(["x", "z"]))


def test_block_modules_makes_imports_fail_until_the_test_ends():
    with pytest.MonkeyPatch.context() as mp:
        block_modules(mp, ["skops"])
        with pytest.raises(ImportError):
            import skops.io
    import skops.io  # noqa: F401

    assert sys.modules["skops"] is not None


def test_framework_modules_come_from_installed_metadata():
    assert framework_modules_of(["scikit-learn", "skops"]) == ("sklearn", "skops")


def _load_pyfunc_check(tmp_path, logreg, xy, monkeypatch):
    from saveur.testing import LoadTests

    (info,) = saveur_sklearn.saveur_flavors()
    saveur_sklearn.save_model(logreg, tmp_path / "m")
    LoadTests().test_loader_module_load_pyfunc_predicts(
        tmp_path / "m", xy[0], logreg.predict(xy[0]), info, {}, {"rtol": 1e-7, "atol": 0.0},
        monkeypatch,
    )


def test_the_kit_calls_load_pyfunc_without_mlflow(tmp_path, logreg, xy, monkeypatch):
    _load_pyfunc_check(tmp_path, logreg, xy, monkeypatch)  # the real plugin passes


def test_a_renamed_load_pyfunc_fails_the_kit(tmp_path, logreg, xy, monkeypatch):
    monkeypatch.delattr(saveur_sklearn, "_load_pyfunc")
    with pytest.raises(AssertionError, match="has no _load_pyfunc"):
        _load_pyfunc_check(tmp_path, logreg, xy, monkeypatch)


def test_a_load_pyfunc_that_predicts_otherwise_fails_the_kit(tmp_path, logreg, xy, monkeypatch):
    class _Wrong:
        def predict(self, data):
            return np.zeros(len(data))

    monkeypatch.setattr(saveur_sklearn, "_load_pyfunc", lambda path: _Wrong())
    with pytest.raises(AssertionError, match="_load_pyfunc"):
        _load_pyfunc_check(tmp_path, logreg, xy, monkeypatch)
