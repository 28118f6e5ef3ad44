from __future__ import annotations

import sys
import textwrap

import pandas as pd
import pytest
import yaml

import saveur.pyfunc
from saveur.errors import PluginError, SaveError, TrustError


class AddColumns(saveur.pyfunc.PythonModel):
    def load_context(self, context):
        self.bias = 0.0
        if "bias" in context.artifacts:
            with open(context.artifacts["bias"]) as f:
                self.bias = float(f.read())

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return (model_input["a"] + model_input["b"] + self.bias) * scale


@pytest.fixture
def frame():
    return pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})


def test_pickled_instance_needs_trust(tmp_path, frame):
    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns())
    with pytest.raises(TrustError, match="the pickled model 'python_model.pkl' would run code"):
        saveur.pyfunc.load_model(tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)
    assert model.predict(frame).tolist() == [4.0, 6.0]
    assert isinstance(model.unwrap_python_model(), AddColumns)


def test_trust_from_deployer_environment(tmp_path, frame, monkeypatch):
    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns())
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    assert saveur.pyfunc.load_model(tmp_path / "m").predict(frame).tolist() == [4.0, 6.0]


def test_artifacts_are_copied_and_handed_to_load_context(tmp_path, frame):
    (tmp_path / "bias.txt").write_text("10")
    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns(),
                             artifacts={"bias": tmp_path / "bias.txt"})
    (tmp_path / "bias.txt").write_text("999")  # the model keeps its own copy
    model = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)
    assert model.predict(frame).tolist() == [14.0, 16.0]
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["flavors"]["python_function"]["artifacts"] == {"bias": {"path": "artifacts/bias/bias.txt"}}


def test_missing_artifact_is_an_error(tmp_path):
    with pytest.raises(SaveError, match="artifact 'w': .* does not exist"):
        saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns(),
                                 artifacts={"w": tmp_path / "nope"})
    assert not (tmp_path / "m").exists()


def test_by_reference_loads_without_trust_and_gets_model_config(tmp_path, frame):
    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                             model_config={"scale": 10})
    model = saveur.pyfunc.load_model(tmp_path / "m")
    assert model.predict(frame).tolist() == [40.0, 60.0]
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    conf = doc["flavors"]["python_function"]
    assert conf["python_model_class"] == "saveur_echo.pymodels:ScaledSum"
    assert conf["model_config"] == {"scale": 10}
    assert not (tmp_path / "m" / "python_model.pkl").exists()


@pytest.mark.parametrize(
    ("reference", "error", "message"),
    [
        ("subprocess:Popen", TrustError, "only PythonModel subclasses from installed packages"),
        ("saveur_echo.pymodels:NotAModel", TrustError, "not a saveur.pyfunc.PythonModel subclass"),
        ("no_such_pkg_xyz.mod:Cls", PluginError, "cannot import 'no_such_pkg_xyz.mod'"),
    ],
)
def test_by_reference_refuses_anything_but_a_python_model(tmp_path, reference, error, message):
    with pytest.raises(error, match=message):
        saveur.pyfunc.save_model(tmp_path / "m", python_model=reference)


def test_edited_reference_is_refused_at_load(tmp_path):
    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum")
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("saveur_echo.pymodels:ScaledSum", "os:system"))
    with pytest.raises(TrustError, match="'os:system' is refused"):
        saveur.pyfunc.load_model(tmp_path / "m", verify=False)


def test_model_config_must_be_json(tmp_path):
    with pytest.raises(SaveError, match="model_config must be JSON-serializable"):
        saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                                 model_config={"f": object()})


def _write_model_code(path):
    path.write_text(textwrap.dedent('''
        import saveur.pyfunc
        from saveur.models import set_model

        class Doubler(saveur.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input * 2

        set_model(Doubler())
    '''))


def test_models_from_code_are_copied_and_need_trust(tmp_path):
    _write_model_code(tmp_path / "doubler.py")
    saveur.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "doubler.py")
    assert (tmp_path / "m" / "model_code" / "doubler.py").is_file()
    with pytest.raises(TrustError, match="model code file 'model_code/doubler.py'"):
        saveur.pyfunc.load_model(tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)
    assert model.predict(pd.DataFrame({"x": [1, 2]}))["x"].tolist() == [2, 4]


def test_model_code_without_set_model_is_an_error(tmp_path):
    (tmp_path / "empty.py").write_text("x = 1\n")
    saveur.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "empty.py")
    with pytest.raises(SaveError, match="did not call saveur.models.set_model"):
        saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)


def test_not_a_model_is_refused(tmp_path):
    with pytest.raises(SaveError, match="neither a .py file nor 'package.module:Class'"):
        saveur.pyfunc.save_model(tmp_path / "m", python_model="model.txt")


def test_requirements_come_from_a_static_scan_of_the_code(tmp_path):
    (tmp_path / "feature_code.py").write_text("import yaml\nimport json\n")
    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                             code_paths=[tmp_path / "feature_code.py"])
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert any(r.lower().startswith("pyyaml==") for r in reqs), reqs
    assert not any(r.startswith("json") for r in reqs)


def test_pickled_model_pins_cloudpickle(tmp_path):
    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns())
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert any(r.startswith("cloudpickle==") for r in reqs)
    assert any(r.startswith("pandas==") for r in reqs)  # this test module imports pandas


def test_unwrap_python_model_refuses_framework_models(tmp_path, echo_model):
    import saveur

    saveur.save_model(echo_model, tmp_path / "e")
    with pytest.raises(Exception, match="only for custom Python models"):
        saveur.pyfunc.load_model(tmp_path / "e").unwrap_python_model()


def test_mlflow_entry_point_loads_by_reference(tmp_path, frame):
    from saveur.pyfunc_flavor import _load_pyfunc

    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum")
    assert _load_pyfunc(str(tmp_path / "m")).predict(frame).tolist() == [4.0, 6.0]


def test_mlflow_entry_point_refuses_pickles_without_env_trust(tmp_path):
    from saveur.pyfunc_flavor import _load_pyfunc

    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddColumns())
    with pytest.raises(TrustError, match="SAVEUR_TRUST_CODE=1"):
        _load_pyfunc(str(tmp_path / "m"))


def test_pickled_model_skips_imports_of_unrelated_helpers(tmp_path, monkeypatch):
    (tmp_path / "bench_saveur_test.py").write_text(textwrap.dedent("""
        import saveur.pyfunc

        def run_benchmark():
            import sklearn  # a helper of the script, not of the model
            return sklearn

        class Model(saveur.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                import yaml
                return model_input
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "bench_saveur_test", raising=False)
    import bench_saveur_test

    saveur.pyfunc.save_model(tmp_path / "m", python_model=bench_saveur_test.Model())
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert any(r.lower().startswith("pyyaml==") for r in reqs), reqs
    assert not any(r.startswith("scikit-learn") for r in reqs), reqs
