from __future__ import annotations

import stat

import pytest
import yaml

import saveur
import saveur_echo
from saveur.errors import ModelExistsError, SaveError
from saveur.hookspecs import hookimpl


def test_save_writes_mlmodel_env_files_and_digests(tmp_path, echo_model):
    saveur.save_model(echo_model, tmp_path / "m", metadata={"team": "x"})
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["MLmodel", "conda.yaml", "echo.json", "python_env.yaml", "requirements.txt"]
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["flavors"]["echo"] == {"data": "echo.json", "echo_version": "1"}
    pyfunc = doc["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "saveur_echo"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert pyfunc["python_version"].count(".") == 2
    assert doc["metadata"] == {"team": "x"}
    assert set(doc["saveur"]["digests"]) == {"conda.yaml", "echo.json", "python_env.yaml",
                                             "requirements.txt"}
    assert doc["model_size_bytes"] > 0
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert "saveur-echo==0.1.0" in reqs
    assert any(r.startswith("saveur==") for r in reqs)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o027, 0o750), (0o077, 0o700)])
def test_saved_model_follows_umask_not_staging_mode(tmp_path, echo_model, umask, mode):
    import os

    previous = os.umask(umask)
    try:
        saveur.save_model(echo_model, tmp_path / "m")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == mode


def test_save_into_non_empty_directory_is_refused(tmp_path, echo_model):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("mine")
    with pytest.raises(ModelExistsError, match="the directory is not empty"):
        saveur.save_model(echo_model, tmp_path / "m")
    assert (tmp_path / "m" / "keep.txt").read_text() == "mine"


def test_save_onto_a_file_is_refused(tmp_path, echo_model):
    (tmp_path / "m").write_text("x")
    with pytest.raises(ModelExistsError, match="a file is already there"):
        saveur.save_model(echo_model, tmp_path / "m")


def test_save_into_empty_directory_works(tmp_path, echo_model):
    (tmp_path / "m").mkdir()
    saveur.save_model(echo_model, tmp_path / "m")
    assert (tmp_path / "m" / "MLmodel").is_file()


class _Exploding:
    @hookimpl
    def saveur_flavors(self):
        from saveur.hookspecs import FlavorInfo

        return [FlavorInfo(key="boom", distribution="saveur-boom")]

    @hookimpl
    def saveur_save_model(self, flavor, model, path, options):
        (path / "half-written.bin").write_bytes(b"x" * 10)
        assert stat.S_IMODE(path.stat().st_mode) == 0o700  # staging is private
        raise RuntimeError("disk full")


def test_failed_save_leaves_nothing_behind(tmp_path, host_plugins):
    from saveur import plugins

    plugins.reset_plugins(plugins.build_plugins(entry_points=False, extra=[("boom", _Exploding())]))
    with pytest.raises(RuntimeError, match="disk full"):
        saveur.save_model(object(), tmp_path / "m", flavor="boom")
    assert list(tmp_path.iterdir()) == []


def test_unknown_flavor_option_is_refused_by_the_plugin(tmp_path, echo_model):
    with pytest.raises(SaveError, match=r"unknown options for the echo flavor: \['colour'\]"):
        saveur.save_model(echo_model, tmp_path / "m", colour="red")
    assert not (tmp_path / "m").exists()


def test_pip_requirements_replace_and_extra_add(tmp_path, echo_model):
    saveur.save_model(echo_model, tmp_path / "a", pip_requirements=["numpy==2.0.0"])
    reqs = (tmp_path / "a" / "requirements.txt").read_text().split()
    assert reqs[1:] == ["numpy==2.0.0"] and reqs[0].startswith("saveur==")  # saveur stays, as mlflow
    saveur.save_model(echo_model, tmp_path / "b", extra_pip_requirements=["rich==13.0.0"])
    reqs = (tmp_path / "b" / "requirements.txt").read_text().split()
    assert "rich==13.0.0" in reqs and "saveur-echo==0.1.0" in reqs


def test_code_paths_are_copied_under_code(tmp_path, echo_model):
    (tmp_path / "helpers.py").write_text("import json\nVALUE = 1\n")
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    saveur.save_model(echo_model, tmp_path / "m", code_paths=[tmp_path / "helpers.py", pkg])
    assert (tmp_path / "m" / "code" / "helpers.py").is_file()
    assert (tmp_path / "m" / "code" / "mypkg" / "__init__.py").is_file()
    doc = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert doc["flavors"]["python_function"]["code"] == "code"
    assert doc["flavors"]["echo"]["code"] == "code"


def test_missing_code_path_is_an_error(tmp_path, echo_model):
    with pytest.raises(SaveError, match="code path .*nope.py' does not exist"):
        saveur.save_model(echo_model, tmp_path / "m", code_paths=[tmp_path / "nope.py"])
    assert not (tmp_path / "m").exists()


def test_auto_detection_picks_the_plugin(tmp_path):
    model = saveur.save_model(saveur_echo.EchoModel(2.0), tmp_path / "m")
    assert "echo" in model.flavors


def test_metadata_must_be_a_dict(tmp_path, echo_model):
    with pytest.raises(SaveError, match="metadata must be a dict"):
        saveur.save_model(echo_model, tmp_path / "m", metadata=["x"])


def test_output_schema_of_a_1d_prediction_on_columns_is_one_column_as_mlflow(tmp_path):
    import pandas as pd

    import saveur.pyfunc

    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    model = saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                                     input_example=frame)
    assert model.signature.to_dict()["outputs"] == '[{"type": "long", "required": true}]'
    assert model.load_input_example(tmp_path / "m").equals(frame)


class _RecordsContext:
    """The echo flavor, recording the LoadContext its predict hook gets."""

    def __init__(self):
        self.contexts = []

    @hookimpl
    def saveur_flavors(self):
        from saveur.hookspecs import FlavorInfo

        return [FlavorInfo(key="rec", distribution="saveur-rec", loader_modules=("saveur_echo",))]

    @hookimpl
    def saveur_save_model(self, flavor, model, path, options):
        return saveur_echo.saveur_save_model(flavor=flavor, model=model, path=path,
                                             options=options)

    @hookimpl
    def saveur_predict_function(self, model, context):
        self.contexts.append(context)
        return model.predict

    @hookimpl
    def saveur_infer_requirements(self, model):
        # The version tells the test which object the hook received.
        return [f"saveur-rec=={model.factor}"]


def test_the_output_schema_is_inferred_with_a_typed_saving_context(tmp_path, echo_model):
    import numpy as np

    from saveur import plugins

    recorder = _RecordsContext()
    plugins.reset_plugins(plugins.build_plugins(entry_points=False, extra=[("rec", recorder)]))
    mlmodel = saveur.save_model(echo_model, tmp_path / "m", flavor="rec",
                                input_example=np.array([1.0, 2.0]))
    (context,) = recorder.contexts
    assert context.saving is True and context.options == {}
    assert mlmodel.signature is not None and mlmodel.signature.outputs is not None


def test_the_requirements_hook_gets_the_saved_object(tmp_path, echo_model):
    from saveur import plugins

    plugins.reset_plugins(
        plugins.build_plugins(entry_points=False, extra=[("rec", _RecordsContext())])
    )
    saveur.save_model(echo_model, tmp_path / "m", flavor="rec")
    assert "saveur-rec==3.0" in (tmp_path / "m" / "requirements.txt").read_text().splitlines()


def test_host_options_never_reach_the_save_hook(tmp_path, echo_model, host_plugins):
    # saveur-echo refuses any option: the host's own (signature, code_paths...) are taken out.
    code = tmp_path / "helper.py"
    code.write_text("import json\n")
    saveur.save_model(echo_model, tmp_path / "m", code_paths=[code], metadata={"a": 1},
                      pip_requirements=["x==1"])
    assert (tmp_path / "m" / "code" / "helper.py").is_file()


class _RecordsExample:
    """Records the input example its save hook gets, then stops the save."""

    def __init__(self) -> None:
        self.examples: list = []

    @hookimpl
    def saveur_flavors(self):
        from saveur.hookspecs import FlavorInfo

        return [FlavorInfo(key="rec", distribution="saveur-rec")]

    @hookimpl
    def saveur_save_model(self, options, input_example):
        self.examples.append((dict(options), input_example))
        raise RuntimeError("recorded")


def test_the_save_hook_gets_the_input_examples_data_part(tmp_path, host_plugins):
    # A plugin that traces its model (torch.export) needs the example's data, not its params.
    import numpy as np

    from saveur import plugins

    recording = _RecordsExample()
    plugins.reset_plugins(plugins.build_plugins(entry_points=False, extra=[("rec", recording)]))
    data = np.ones((2, 3))
    with pytest.raises(RuntimeError, match="recorded"):
        saveur.save_model(object(), tmp_path / "m", flavor="rec",
                          input_example=(data, {"temperature": 0.5}))
    with pytest.raises(RuntimeError, match="recorded"):
        saveur.save_model(object(), tmp_path / "m", flavor="rec")
    (options, example), (_, none) = recording.examples
    assert example is data and none is None
    assert options == {}
