"""Environment managers: the local pin check and cached uv environments with local wheels."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from saveur.environment import envmanager
from saveur.errors import EnvironmentBuildError


def _model_dir(tmp_path, requirements, python="3.11.7", loader="saveur_echo"):
    model = tmp_path / "model"
    model.mkdir(parents=True)
    (model / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (model / "python_env.yaml").write_text(
        f"python: {python}\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n"
    )
    (model / "MLmodel").write_text(
        f"flavors:\n  python_function:\n    loader_module: {loader}\n    data: echo.json\n"
        "    env:\n      virtualenv: python_env.yaml\n"
        "  echo:\n    data: echo.json\n"
    )
    return model


def test_mlflow_is_replaced_by_saveur_and_the_flavor_plugin(tmp_path):
    model = _model_dir(tmp_path, ["mlflow==3.17.2", "numpy==2.4.6", "cloudpickle==3.1.1"])
    plan = envmanager.plan_env(model)
    assert plan.python == "3.11"
    assert plan.index_requirements == ["numpy==2.4.6", "cloudpickle==3.1.1"]
    assert plan.local_distributions == {"saveur": {"serve"}, "saveur-echo": set()}


def test_the_owning_plugin_is_added_when_the_model_names_no_saveur_distribution(tmp_path):
    # A portable model lists neither saveur nor its plugin: this installation supplies both.
    model = _model_dir(tmp_path, ["mlflow>=3.17.2,<4", "numpy==2.4.6"])
    plan = envmanager.plan_env(model)
    assert plan.index_requirements == ["numpy==2.4.6"]
    assert plan.local_distributions == {"saveur": {"serve"}, "saveur-echo": set()}


def test_saveur_requirements_never_come_from_the_index(tmp_path):
    model = _model_dir(tmp_path, ["saveur[postgres]==0.1.0", "saveur_sklearn==0.1.0", "pandas"])
    plan = envmanager.plan_env(model, extras=())
    assert plan.index_requirements == ["pandas"]
    # saveur-echo owns the model's loader module here, so it comes too.
    assert plan.local_distributions == {"saveur": {"postgres"}, "saveur-sklearn": set(),
                                        "saveur-echo": set()}


def test_the_cache_key_follows_the_requirements(tmp_path):
    first = envmanager.plan_env(_model_dir(tmp_path / "a", ["numpy==2.4.6"]))
    same = envmanager.plan_env(_model_dir(tmp_path / "b", ["numpy==2.4.6"]))
    other = envmanager.plan_env(_model_dir(tmp_path / "c", ["numpy==2.4.5"]))
    assert first.key() == same.key()
    assert first.key() != other.key()


def test_included_requirement_files_are_refused(tmp_path):
    model = _model_dir(tmp_path, ["-r other.txt"])
    with pytest.raises(EnvironmentBuildError, match="includes another file"):
        envmanager.plan_env(model)


def test_a_malformed_python_version_is_refused(tmp_path):
    model = _model_dir(tmp_path, ["numpy"], python="three")
    with pytest.raises(EnvironmentBuildError, match="names Python 'three'; expected a version"):
        envmanager.plan_env(model)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_a_missing_interpreter_names_the_installed_ones():
    with pytest.raises(EnvironmentBuildError) as info:
        envmanager.find_python("3.99")
    message = str(info.value)
    assert "needs Python 3.99 and no Python 3.99 is installed" in message
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in message


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_the_running_minor_version_is_found():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = envmanager.find_python(version)
    out = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tuple(sys.version_info[:2]))


def test_a_plugin_that_is_not_installed_cannot_be_copied(tmp_path):
    with pytest.raises(EnvironmentBuildError, match="needs saveur-echo, which is not installed"):
        envmanager.local_wheel("saveur-echo", tmp_path)


def test_local_mismatches_name_the_requirement_and_the_installed_version(tmp_path):
    import numpy

    model = _model_dir(tmp_path, ["numpy==0.0.1", "mlflow==3.17.2", "surely-not-installed==1.0"])
    problems = envmanager.local_mismatches(model)
    assert f"numpy==0.0.1 required, {numpy.__version__} installed" in problems
    assert "surely-not-installed==1.0 required, not installed" in problems
    assert not any("mlflow" in p for p in problems)


def test_local_mismatches_are_logged_as_warnings(tmp_path, caplog):
    model = _model_dir(tmp_path, ["numpy==0.0.1"])
    with caplog.at_level("WARNING", logger="saveur.environment.envmanager"):
        envmanager.warn_on_local_mismatch(model)
    assert "numpy==0.0.1 required" in caplog.text
    assert "--env-manager uv" in caplog.text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_build_env_installs_saveur_from_the_running_installation_and_caches(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("SAVEUR_ENV_CACHE", str(tmp_path / "cache"))
    # A custom loader module, owned by no plugin: the env gets saveur alone (saveur-echo is
    # registered in these tests but not installed, so no wheel of it could be built).
    model = _model_dir(tmp_path, ["saveur==0.1.0"], loader="a_custom_loader")
    python = envmanager.build_env(model)
    out = subprocess.run(
        [str(python), "-c", "import saveur, uvicorn; print(saveur.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout
    import saveur

    assert out.strip() == saveur.__version__
    assert envmanager.build_env(model) == python  # cached: same env, no rebuild
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_the_old_import_path_is_the_same_module():
    import saveur.envmanager as old
    from saveur.environment import envmanager as new

    assert old is new
