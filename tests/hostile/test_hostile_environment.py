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


@pytest.mark.parametrize(
    "line",
    [
        # valid project names per PEP 508, yet uv reads them as local files and builds them
        "evilpkg-1.0.tar.gz",
        "evilpkg-1.0-py3-none-any.whl",
        "evil.zip",
        "evil-1.0.tar.bz2",
        "evil.tgz",
        "evil-1.0.tar.xz",
        "Evil-1.0.TAR.GZ",
        "evil.egg",
        "evil-1.0.tar.gz ; python_version > '3'",
        # paths, URLs and includes
        "sub/evil",
        "sub\\evil",
        "~/evil",
        ".",
        "..",
        ".evil",
        "file:evil.tar.gz",
        "FILE:evil",
        "git+ssh://git@evil.example/x.git",
        "evil @ file:evil",
        "evil; sys_platform == 'file:/x'",
        "-r other.txt",
        "-c constraints.txt",
        "--requirement other.txt",
        "--no-binary :all:",
        "--config-settings x=y",
    ],
)
def test_requirement_lines_naming_files_or_archives_are_refused(tmp_path, line):
    model = _model_dir(tmp_path, ["numpy==2.4.6", line])
    with pytest.raises(EnvironmentBuildError, match="--env-manager uv") as refused:
        envmanager.plan_env(model)
    assert repr(line) in str(refused.value)


@pytest.mark.parametrize("line", ["numpy~=2.4", "pandas[pyarrow]>=2,<4", "scikit-learn==1.9.1",
                                  "zope.interface", "backports.zoneinfo; python_version < '3.9'"])
def test_ordinary_named_requirements_are_accepted(tmp_path, line):
    plan = envmanager.plan_env(_model_dir(tmp_path, [line]), extras=())
    assert plan.index_requirements == [line]


@pytest.fixture
def recorded_uv(tmp_path, monkeypatch):
    """build_env with uv replaced by a recorder: each command, with its working directory."""
    import os
    from pathlib import Path

    calls: list[tuple[list[str], Path | None, list[str]]] = []

    def fake_run(command, what, *, cwd=None):
        listing = sorted(os.listdir(cwd)) if cwd is not None else ["<inherited>"]
        calls.append((command, cwd, listing))
        if command[1] == "venv":
            Path(command[-1], "bin").mkdir(parents=True)
            Path(command[-1], "bin", "python").write_text("")

    def fake_wheel(name, dest, uv=None, *, cwd=None):
        wheel = dest / f"{name}-0.0.0-py3-none-any.whl"
        wheel.write_text("")
        return wheel

    monkeypatch.setenv("SAVEUR_ENV_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(envmanager, "_uv", lambda: "uv")
    monkeypatch.setattr(envmanager, "_run", fake_run)
    monkeypatch.setattr(envmanager, "local_wheel", fake_wheel)
    monkeypatch.setattr(envmanager, "find_python", lambda version, uv=None, *, cwd=None:
                        Path("/usr/bin/python3"))
    return calls


@pytest.mark.parametrize("allow_build", [False, True])
def test_uv_runs_from_an_empty_private_directory_and_builds_nothing_by_default(
    tmp_path, monkeypatch, recorded_uv, allow_build
):
    import stat

    model = _model_dir(tmp_path, ["numpy==2.4.6"])
    (model / "numpy").mkdir()  # a directory named like a requirement, next to the model
    monkeypatch.chdir(model)  # the caller runs serve from the model directory
    envmanager.build_env(model, allow_build=allow_build)
    assert [c[0][1] for c in recorded_uv] == ["venv", "pip"]
    for command, cwd, listing in recorded_uv:
        assert cwd is not None and cwd != model and model not in cwd.parents
        assert listing == [], f"{command[1]} ran in a directory holding {listing}"
        assert stat.S_IMODE(cwd.stat().st_mode) == 0o700 if cwd.exists() else True
    install = recorded_uv[-1][0]
    assert ("--no-build" in install) is (not allow_build)


def test_serve_passes_allow_build_to_the_environment_build(tmp_path, monkeypatch, echo_dir):
    from saveur.cli import main
    from saveur.errors import SaveurError

    seen = {}

    def fake_build_env(model_dir, *, extras=("serve",), allow_build=False):
        seen["allow_build"] = allow_build
        raise EnvironmentBuildError("stop here")

    monkeypatch.setattr(envmanager, "build_env", fake_build_env)
    for flags, expected in (([], False), (["--allow-build"], True)):
        assert main(["serve", "-m", str(echo_dir), "--env-manager", "uv", *flags]) == 1
        assert seen.pop("allow_build") is expected
    assert main(["serve", "-m", str(echo_dir), "--allow-build"]) == 1
    assert issubclass(EnvironmentBuildError, SaveurError)
