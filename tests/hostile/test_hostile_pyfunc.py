"""Custom Python models that try to run code without the caller's trust."""

from __future__ import annotations

import pickle

import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.errors import MLmodelError, PluginError, TrustError


@pytest.fixture
def reference_dir(tmp_path):
    path = tmp_path / "ref"
    saveur.pyfunc.save_model(path, python_model="saveur_echo.pymodels:ScaledSum")
    return path


def _set_pyfunc(model_dir, **values):
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    doc["flavors"]["python_function"].update(values)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


@pytest.mark.parametrize(
    "reference",
    [
        "os:system",
        "subprocess:Popen",
        "builtins:eval",
        "importlib:import_module",
        "__main__:Model",
        "test.support:Model",
        "idlelib.idle:Model",
        # __main__ modules are command-line entry points that act at import time
        "certifi.__main__:Model",
        "pytest.__main__:Model",
        "uvicorn.__main__:Model",
    ],
)
def test_by_reference_refuses_stdlib_and_main_modules_before_importing(reference_dir, reference):
    _set_pyfunc(reference_dir, python_model_class=reference)
    with pytest.raises(TrustError, match="only PythonModel subclasses from installed packages"):
        saveur.pyfunc.load_model(reference_dir)


@pytest.mark.parametrize("reference", ["numpy:ndarray", "pytest:main", "saveur.pyfunc:PyFuncModel"])
def test_by_reference_refuses_installed_objects_that_are_not_python_models(
    reference_dir, reference
):
    _set_pyfunc(reference_dir, python_model_class=reference)
    with pytest.raises(TrustError, match="not a saveur.pyfunc.PythonModel subclass"):
        saveur.pyfunc.load_model(reference_dir)


@pytest.mark.parametrize(
    "reference",
    ["x.:Y", "a..b:C", "../evil:X", "mod:Cls\n", "mod:Cls extra", 5, None, ["a:B"], "mod"],
)
def test_by_reference_malformed_names_are_mlmodel_errors(reference_dir, reference):
    _set_pyfunc(reference_dir, python_model_class=reference)
    with pytest.raises(MLmodelError, match="python_model_class"):
        saveur.pyfunc.load_model(reference_dir)


@pytest.mark.parametrize("body", ["raise SystemExit(3)\n", "raise RuntimeError('boom')\n"])
def test_by_reference_module_that_fails_at_import_is_a_plugin_error(
    reference_dir, install_package, body
):
    install_package({"hostile_import_pkg/__init__.py": body})
    _set_pyfunc(reference_dir, python_model_class="hostile_import_pkg:Model")
    with pytest.raises(PluginError, match="importing 'hostile_import_pkg' failed"):
        saveur.pyfunc.load_model(reference_dir)


def test_pickled_python_model_needs_trust_even_with_digests_stripped(reference_dir):
    """Stripping saveur's digests makes a model look like MLflow's; trust still gates code."""

    class Gadget:
        def __reduce__(self):
            return (eval, ("__import__('os').system('echo pwned')",))

    (reference_dir / "python_model.pkl").write_bytes(pickle.dumps(Gadget()))
    doc = yaml.safe_load((reference_dir / "MLmodel").read_text())
    conf = doc["flavors"]["python_function"]
    conf.pop("python_model_class")
    conf["python_model"] = "python_model.pkl"
    doc.pop("saveur")
    (reference_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match="the pickled model 'python_model.pkl' would run code"):
        saveur.pyfunc.load_model(reference_dir)


def test_model_code_file_needs_trust(reference_dir):
    (reference_dir / "model_code").mkdir()
    (reference_dir / "model_code" / "m.py").write_text("import os\nos.system('echo pwned')\n")
    doc = yaml.safe_load((reference_dir / "MLmodel").read_text())
    conf = doc["flavors"]["python_function"]
    conf.pop("python_model_class")
    conf["model_code"] = "model_code/m.py"
    doc.pop("saveur")
    (reference_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match="model code file"):
        saveur.pyfunc.load_model(reference_dir)


def test_code_paths_need_trust(reference_dir):
    (reference_dir / "code").mkdir()
    (reference_dir / "code" / "sitecustomize.py").write_text("raise SystemExit('pwned')\n")
    doc = yaml.safe_load((reference_dir / "MLmodel").read_text())
    doc["flavors"]["python_function"]["code"] = "code"
    doc.pop("saveur")
    (reference_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match="code directory"):
        saveur.pyfunc.load_model(reference_dir)


@pytest.mark.parametrize("loader", ["os", "subprocess", "saveur_echo_not_registered", "json"])
def test_custom_loader_module_needs_trust_even_when_installed(reference_dir, loader):
    _set_pyfunc(reference_dir, loader_module=loader)
    with pytest.raises(TrustError, match=f"loader module '{loader}'"):
        saveur.pyfunc.load_model(reference_dir)


def test_custom_loader_module_that_exits_at_import_is_a_plugin_error(
    reference_dir, tmp_path, monkeypatch
):
    (tmp_path / "exiting_loader.py").write_text("raise SystemExit(4)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _set_pyfunc(reference_dir, loader_module="exiting_loader")
    with pytest.raises(PluginError, match="failed at import: SystemExit"):
        saveur.pyfunc.load_model(reference_dir, trust_code=True)


def test_mlflow_entry_point_tolerates_a_non_mapping_model_config(reference_dir):
    from saveur.pyfunc_flavor import _load_pyfunc

    _set_pyfunc(reference_dir, model_config=[1, 2])
    adapter = _load_pyfunc(str(reference_dir), model_config={"scale": 2})
    assert adapter.python_model is not None
