"""Portable models: a flavor MLflow also has is saved for MLflow's own loader, without saveur."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import saveur
import saveur.pyfunc
import saveur_echo
from saveur import plugins
from saveur.cli import main
from saveur.hookspecs import FlavorInfo, SavedFlavor, hookimpl
from saveur.portability import MLFLOW_REQUIREMENT, check_portability

KEY = "portable_echo"
LOADER = f"mlflow.{KEY}"


class _PortableEcho:
    """The echo flavor, declared portable: saved for an MLflow loader module of its key."""

    def __init__(self, written_loader: str = LOADER) -> None:
        self.written_loader = written_loader

    @hookimpl
    def saveur_flavors(self) -> list[FlavorInfo]:
        return [FlavorInfo(key=KEY, distribution="saveur-portable-echo",
                           loader_modules=(LOADER,), mlflow_loader_module=LOADER)]

    @hookimpl
    def saveur_save_model(self, flavor: str, model: Any, path: Path,
                          options: dict[str, Any]) -> SavedFlavor:
        (path / "echo.json").write_text(json.dumps({"factor": model.factor}))
        return SavedFlavor(flavor_conf={"data": "echo.json"},
                           pyfunc_conf={"loader_module": self.written_loader,
                                        "model_path": "echo.json"},
                           files=("echo.json",))

    @hookimpl
    def saveur_load_model(self, flavor: str, flavor_conf: dict[str, Any], context: Any) -> Any:
        data = json.loads((context.model_dir / flavor_conf["data"]).read_text())
        return saveur_echo.EchoModel(data["factor"])

    @hookimpl
    def saveur_predict_function(self, flavor: str, model: Any, pyfunc_conf: dict[str, Any],
                                context: Any) -> Any:
        return model.predict

    @hookimpl
    def saveur_infer_requirements(self, flavor: str, model_dir: Path,
                                  flavor_conf: dict[str, Any]) -> list[str]:
        # A plugin that still pins itself: the host drops it for a portable model.
        return ["numpy==2.0.0", "saveur-portable-echo==0.1.0"]


@pytest.fixture
def portable_plugin(host_plugins):
    def install(plugin: _PortableEcho) -> None:
        plugins.reset_plugins(plugins.build_plugins(
            entry_points=False, extra=[("echo", saveur_echo), (KEY, plugin)]))

    install(_PortableEcho())
    return install


def _requirements(model: Path) -> list[str]:
    return (model / "requirements.txt").read_text().splitlines()


def test_portable_model_names_mlflow_and_no_saveur_distribution(tmp_path, portable_plugin,
                                                                echo_model):
    saveur.save_model(echo_model, tmp_path / "m", flavor=KEY)
    assert _requirements(tmp_path / "m") == [MLFLOW_REQUIREMENT, "numpy==2.0.0"]
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert conda["dependencies"][-1] == {"pip": [MLFLOW_REQUIREMENT, "numpy==2.0.0"]}
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["flavors"]["python_function"]["loader_module"] == LOADER
    assert doc["saveur"]["plugin"] == {"distribution": "saveur-portable-echo"}
    assert check_portability(tmp_path / "m").portable


def test_portable_model_still_loads_through_the_plugin(tmp_path, portable_plugin, echo_model):
    import numpy as np

    saveur.save_model(echo_model, tmp_path / "m", flavor=KEY)
    got = saveur.pyfunc.load_model(tmp_path / "m").predict(np.array([1.0, 2.0]))
    assert got.tolist() == [3.0, 6.0]


def test_a_caller_naming_mlflow_skinny_gets_no_second_mlflow_line(tmp_path, portable_plugin,
                                                                  echo_model):
    saveur.save_model(echo_model, tmp_path / "m", flavor=KEY,
                      extra_pip_requirements=["mlflow-skinny==3.17.2"])
    assert _requirements(tmp_path / "m") == ["numpy==2.0.0", "mlflow-skinny==3.17.2"]


def test_explicit_saveur_requirements_stand_and_make_the_model_not_portable(
    tmp_path, portable_plugin, echo_model
):
    saveur.save_model(echo_model, tmp_path / "m", flavor=KEY,
                      pip_requirements=["saveur-portable-echo==0.1.0"])
    assert _requirements(tmp_path / "m") == [MLFLOW_REQUIREMENT, "saveur-portable-echo==0.1.0"]
    verdict = check_portability(tmp_path / "m")
    assert not verdict.portable
    assert "'saveur-portable-echo==0.1.0'" in verdict.reason


def test_a_model_saved_with_the_plugins_own_loader_is_not_portable_and_pins_saveur(
    tmp_path, portable_plugin, echo_model
):
    # One plugin, two formats: one for MLflow's loader, one for its own (torch's state_dict).
    portable_plugin(_PortableEcho(written_loader="saveur_portable_echo"))
    saveur.save_model(echo_model, tmp_path / "m", flavor=KEY)
    reqs = _requirements(tmp_path / "m")
    assert reqs[0].startswith("saveur==")
    assert not any(r.startswith("mlflow") for r in reqs)
    verdict = check_portability(tmp_path / "m")
    assert not verdict.portable and "'saveur_portable_echo'" in verdict.reason


def test_non_portable_model_pins_saveur_and_the_plugin(tmp_path, echo_model):
    saveur.save_model(echo_model, tmp_path / "m")
    reqs = _requirements(tmp_path / "m")
    assert reqs[0].startswith("saveur==") and "saveur-echo==0.1.0" in reqs
    assert not any(r.startswith("mlflow") for r in reqs)
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["saveur"]["plugin"]["distribution"] == "saveur-echo"
    verdict = check_portability(tmp_path / "m")
    assert not verdict.portable and "'saveur_echo'" in verdict.reason


def test_builtin_pyfunc_model_records_saveur_as_its_plugin(tmp_path):
    class AddOne(saveur.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input + 1

    saveur.pyfunc.save_model(tmp_path / "m", python_model=AddOne())
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["saveur"]["plugin"] == {"distribution": "saveur", "version": saveur.__version__}
    assert not check_portability(tmp_path / "m").portable


def test_reseal_keeps_the_plugin_record(tmp_path, echo_model):
    from saveur.saving import reseal

    saveur.save_model(echo_model, tmp_path / "m")
    reseal(tmp_path / "m")
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["saveur"]["plugin"]["distribution"] == "saveur-echo"


def _mlmodel_only(tmp_path: Path, pyfunc: dict[str, Any] | None, reqs: list[str]) -> Path:
    model = tmp_path / "m"
    model.mkdir()
    flavors: dict[str, Any] = {"sklearn": {"pickled_model": "model.skops"}}
    if pyfunc is not None:
        flavors["python_function"] = pyfunc
    (model / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors}))
    (model / "requirements.txt").write_text("\n".join(reqs))
    return model


def test_a_model_saved_by_mlflow_is_portable(tmp_path):
    model = _mlmodel_only(tmp_path, {"loader_module": "mlflow.sklearn"},
                          ["mlflow==3.17.2", "scikit-learn==1.9.1"])
    assert check_portability(model).portable


def test_an_mlflow_2_fastai_model_is_not_portable_to_mlflow_3(tmp_path):
    model = _mlmodel_only(tmp_path, {"loader_module": "mlflow.fastai", "data": "model.fastai"},
                          ["mlflow==2.22.5", "fastai==2.8.12"])
    verdict = check_portability(model)
    assert not verdict.portable and "no fastai flavor" in verdict.reason


def test_a_model_without_python_function_is_not_portable(tmp_path):
    verdict = check_portability(_mlmodel_only(tmp_path, None, ["scikit-learn"]))
    assert not verdict.portable and "python_function" in verdict.reason


def test_a_model_without_requirements_files_is_not_portable(tmp_path):
    model = _mlmodel_only(tmp_path, {"loader_module": "mlflow.sklearn"}, [])
    (model / "requirements.txt").unlink()
    verdict = check_portability(model)
    assert not verdict.portable and "requirements" in verdict.reason


def test_models_show_says_whether_the_model_is_portable(tmp_path, portable_plugin, echo_model,
                                                        capsys):
    saveur.save_model(echo_model, tmp_path / "p", flavor=KEY)
    saveur.save_model(echo_model, tmp_path / "n")
    assert main(["models", "show", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "portable:   yes, to stock MLflow without saveur" in out
    assert "saved by:   saveur-portable-echo" in out
    assert main(["models", "show", str(tmp_path / "n")]) == 0
    out = capsys.readouterr().out
    assert "portable:   no" in out and "'saveur_echo'" in out
    assert "saved by:   saveur-echo\n" in out  # registered directly here: no version
    assert main(["models", "show", "--json", str(tmp_path / "n")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["portable"]["portable"] is False
    assert doc["saved_by"]["distribution"] == "saveur-echo"


def test_models_show_does_not_print_a_hostile_plugin_record(tmp_path, echo_model, capsys):
    from saveur.saving import reseal

    saveur.save_model(echo_model, tmp_path / "m")
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    doc["saveur"]["plugin"] = {"distribution": "evil\x1b[2J", "version": "1\x1b[0m"}
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(doc))
    reseal(tmp_path / "m")
    assert main(["models", "show", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "saved by" not in out
