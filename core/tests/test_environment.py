"""Environment files (MLflow layout), pinning, merging requirements, reading them back."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from saveur import environment
from saveur.environment import (
    PYTHON_VERSION,
    check_installed_versions,
    pin_requirement,
    python_env_conf,
    read_python_env,
    read_requirements,
    resolve_requirements,
    saveur_requirement,
    write_environment_files,
)
from saveur.errors import EnvironmentBuildError, SaveError

PY = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"


def make_dist(site: Path, name: str, version: str, top_level: list[str] | None = None) -> None:
    """Install a metadata-only distribution into ``site`` (enough for importlib.metadata)."""
    info = site / f"{name.replace('-', '_').replace('.', '_')}-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if top_level is not None:
        (info / "top_level.txt").write_text("".join(f"{m}\n" for m in top_level))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    environment._clear_caches()
    yield path
    environment._clear_caches()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    path = tmp_path / "model"
    path.mkdir()
    return path


def _version_or_none(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# --- file layout -------------------------------------------------------------------------------
def test_python_version_is_the_running_interpreter() -> None:
    assert PYTHON_VERSION == PY


def test_python_env_conf_is_mlflows_env_entry() -> None:
    assert python_env_conf() == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}


def test_requirements_txt_joins_lines_without_trailing_newline(model_dir: Path) -> None:
    write_environment_files(model_dir, ["saveur==0.1.0", "scikit-learn==1.9.1"])
    assert (model_dir / "requirements.txt").read_bytes() == b"saveur==0.1.0\nscikit-learn==1.9.1"


def test_files_match_mlflow_layout_with_pinned_build_packages(site: Path, model_dir: Path) -> None:
    # Reference text as MLflow 3.17.2's _PythonEnv.current().to_yaml and _mlflow_conda_env
    # write it, with fake pip/setuptools/wheel versions so every byte is known.
    make_dist(site, "pip", "24.0")
    make_dist(site, "setuptools", "69.5.1")
    make_dist(site, "wheel", "0.43.0")
    write_environment_files(model_dir, ["saveur==0.1.0", "scikit-learn==1.9.1"])
    assert (model_dir / "python_env.yaml").read_text() == (
        f"python: {PY}\n"
        "build_dependencies:\n"
        "- pip==24.0\n"
        "- setuptools==69.5.1\n"
        "- wheel==0.43.0\n"
        "dependencies:\n"
        "- -r requirements.txt\n"
    )
    assert (model_dir / "conda.yaml").read_text() == (
        "channels:\n"
        "- conda-forge\n"
        "dependencies:\n"
        f"- python={PY}\n"
        "- pip<=24.0\n"
        "- pip:\n"
        "  - saveur==0.1.0\n"
        "  - scikit-learn==1.9.1\n"
        "name: mlflow-env\n"
    )


def test_files_match_mlflow_layout_without_build_packages(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow writes bare names when pip/setuptools/wheel are not installed.
    real = environment._installed_version
    monkeypatch.setattr(
        environment,
        "_installed_version",
        lambda name: None if name in ("pip", "setuptools", "wheel") else real(name),
    )
    write_environment_files(model_dir, ["saveur==0.1.0"])
    assert (model_dir / "python_env.yaml").read_text() == (
        f"python: {PY}\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\n"
        "dependencies:\n- -r requirements.txt\n"
    )
    assert (model_dir / "conda.yaml").read_text() == (
        f"channels:\n- conda-forge\ndependencies:\n- python={PY}\n- pip\n- pip:\n"
        "  - saveur==0.1.0\nname: mlflow-env\n"
    )


def test_build_dependencies_follow_the_installed_packages(model_dir: Path) -> None:
    write_environment_files(model_dir, ["saveur==0.1.0"])
    expected = []
    for name in ("pip", "setuptools", "wheel"):
        version = _version_or_none(name)
        expected.append(f"- {name}=={version}\n" if version else f"- {name}\n")
    text = (model_dir / "python_env.yaml").read_text()
    assert "build_dependencies:\n" + "".join(expected) in text


def test_conda_yaml_with_no_requirements_has_empty_pip_section(model_dir: Path) -> None:
    write_environment_files(model_dir, [])
    assert (model_dir / "requirements.txt").read_text() == ""
    assert (model_dir / "conda.yaml").read_text() == (
        f"channels:\n- conda-forge\ndependencies:\n- python={PY}\n- pip: []\nname: mlflow-env\n"
    )


def test_yaml_quoting_of_markers_and_urls_is_pyyaml_s(model_dir: Path) -> None:
    reqs = ['a; python_version < "3.12"', "pkg @ git+https://x.org/a.git#egg=pkg"]
    write_environment_files(model_dir, reqs)
    text = (model_dir / "conda.yaml").read_text()
    assert '  - a; python_version < "3.12"\n' in text
    assert "  - pkg @ git+https://x.org/a.git#egg=pkg\n" in text
    assert read_requirements(model_dir) == reqs


def test_write_refuses_non_string_requirement(model_dir: Path) -> None:
    with pytest.raises(SaveError, match=r"requirement #1 is a int, not a string"):
        write_environment_files(model_dir, ["saveur==0.1.0", 3])  # type: ignore[list-item]


def test_write_refuses_requirement_with_line_break(model_dir: Path) -> None:
    with pytest.raises(SaveError, match=r"contains a line break; pass one requirement per string"):
        write_environment_files(model_dir, ["numpy\n--index-url https://evil.example"])
    assert not (model_dir / "requirements.txt").exists()


# --- pinning ----------------------------------------------------------------------------------
def test_pin_requirement_pins_the_installed_version() -> None:
    assert pin_requirement("scikit-learn") == (
        f"scikit-learn=={importlib.metadata.version('scikit-learn')}"
    )


def test_pin_requirement_normalizes_the_name(site: Path) -> None:
    make_dist(site, "Fake_Dist.Name", "1.2")
    assert pin_requirement("Fake_Dist.Name") == "fake-dist-name==1.2"
    assert pin_requirement("PyYAML") == f"pyyaml=={importlib.metadata.version('PyYAML')}"


def test_pin_requirement_drops_local_version_label(site: Path) -> None:
    make_dist(site, "faketorch", "2.13.0+cpu")
    assert pin_requirement("faketorch") == "faketorch==2.13.0"


def test_pin_requirement_of_missing_distribution_is_none() -> None:
    assert pin_requirement("no-such-distribution-saveur-test") is None


def test_saveur_requirement_pins_saveur() -> None:
    assert saveur_requirement() == f"saveur=={importlib.metadata.version('saveur')}"


# --- resolving requirements -------------------------------------------------------------------
def _saveur() -> str:
    return saveur_requirement()


def test_inferred_requirements_are_sorted_after_saveur() -> None:
    assert resolve_requirements(["scikit-learn==1.9.1", "numpy==2.0.0", "Flask==3.0"]) == [
        _saveur(),
        "Flask==3.0",
        "numpy==2.0.0",
        "scikit-learn==1.9.1",
    ]


def test_duplicate_inferred_requirements_collapse() -> None:
    assert resolve_requirements(["numpy==2.0.0", "numpy==2.0.0", "NumPy==2.0.0"]) == [
        _saveur(),
        "NumPy==2.0.0",
    ]


def test_inferred_saveur_pin_is_not_repeated() -> None:
    assert resolve_requirements(["numpy==2.0.0", _saveur()]) == [_saveur(), "numpy==2.0.0"]
    assert resolve_requirements(["saveur==0.0.1"]) == [_saveur()]


def test_extra_requirements_are_appended_in_order() -> None:
    assert resolve_requirements(["numpy==2.0.0"], extra_pip_requirements=["zlib-ng", "attrs"]) == [
        _saveur(),
        "numpy==2.0.0",
        "zlib-ng",
        "attrs",
    ]


def test_explicit_requirement_wins_over_inferred_pin_in_place() -> None:
    result = resolve_requirements(
        ["numpy==2.0.0", "scikit-learn==1.9.1"], extra_pip_requirements=["scikit_learn>=1.0"]
    )
    assert result == [_saveur(), "numpy==2.0.0", "scikit_learn>=1.0"]


def test_pip_requirements_replace_inferred_and_keep_saveur_first() -> None:
    assert resolve_requirements(["numpy==2.0.0"], pip_requirements=["pandas>=2"]) == [
        _saveur(),
        "pandas>=2",
    ]


def test_pip_requirements_naming_saveur_keep_the_callers_spec() -> None:
    assert resolve_requirements([], pip_requirements=["saveur>=0.1", "pandas"]) == [
        "saveur>=0.1",
        "pandas",
    ]


def test_saveur_installed_from_source_counts_as_saveur() -> None:
    line = "git+https://github.com/example/saveur@main#subdirectory=core"
    assert resolve_requirements([], pip_requirements=[line]) == [line]
    assert resolve_requirements([], pip_requirements=["-e ./saveur/core"]) == ["-e ./saveur/core"]


def test_a_plugin_source_path_is_not_saveur_itself() -> None:
    line = "./plugins/saveur-sklearn"
    assert resolve_requirements([], pip_requirements=[line]) == [_saveur(), line]


def test_explicit_requirements_for_one_name_are_merged() -> None:
    assert resolve_requirements([], extra_pip_requirements=["a>1", "a<3", "b[x]", "b[y]==1"]) == [
        _saveur(),
        "a<3,>1",
        "b[x,y]==1",
    ]


def test_requirements_are_written_in_packagings_canonical_spelling() -> None:
    assert resolve_requirements([], extra_pip_requirements=["pandas >= 2 , < 3"]) == [
        _saveur(),
        "pandas<3,>=2",
    ]


def test_requirements_with_different_markers_are_kept_apart() -> None:
    result = resolve_requirements(
        [], extra_pip_requirements=["a==1; python_version < '3.12'", "a==2"]
    )
    assert result == [_saveur(), 'a==1; python_version < "3.12"', "a==2"]


def test_conflicting_pins_are_refused() -> None:
    with pytest.raises(
        SaveError,
        match=r"conflicting requirements for 'scikit-learn': 'scikit-learn==1.1' and "
        r"'scikit-learn<1' cannot both hold; keep one of them",
    ):
        resolve_requirements([], pip_requirements=["scikit-learn==1.1", "scikit-learn<1"])


def test_conflicting_sources_are_refused() -> None:
    with pytest.raises(SaveError, match=r"conflicting requirements for 'pkg': .* name different"):
        resolve_requirements(
            [],
            pip_requirements=["pkg @ https://a.example/pkg.whl", "pkg @ https://b.example/p.whl"],
        )


def test_pip_and_extra_requirements_together_are_refused() -> None:
    with pytest.raises(
        SaveError,
        match=r"pass either pip_requirements \(replaces the inferred requirements\) or "
        r"extra_pip_requirements \(adds to them\), not both",
    ):
        resolve_requirements([], pip_requirements=["a"], extra_pip_requirements=["b"])


def test_pip_requirements_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("numpy==2.0.0  # pinned for the model\n")
    req_file = tmp_path / "reqs.txt"
    req_file.write_text(
        "# comment line\n\npandas>=2 \\\n  ,<3\n-r base.txt\n--extra-index-url https://x/simple\n"
    )
    expected = [_saveur(), "pandas<3,>=2", "numpy==2.0.0", "--extra-index-url https://x/simple"]
    assert resolve_requirements([], pip_requirements=str(req_file)) == expected
    assert resolve_requirements([], pip_requirements=req_file) == expected


def test_extra_requirements_from_a_file(tmp_path: Path) -> None:
    req_file = tmp_path / "extra.txt"
    req_file.write_text("attrs\n")
    assert resolve_requirements(["numpy==2.0.0"], extra_pip_requirements=req_file) == [
        _saveur(),
        "numpy==2.0.0",
        "attrs",
    ]


def test_include_line_in_a_list_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "more.txt").write_text("attrs==23.1\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_requirements([], pip_requirements=["--requirement=more.txt"]) == [
        _saveur(),
        "attrs==23.1",
    ]


def test_missing_requirements_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(
        SaveError, match=rf"requirements file '{missing}' named in pip_requirements does not exist"
    ):
        resolve_requirements([], pip_requirements=missing)


def test_missing_included_file_is_named(tmp_path: Path) -> None:
    req_file = tmp_path / "reqs.txt"
    req_file.write_text("-r other.txt\n")
    with pytest.raises(
        SaveError,
        match=rf"requirements file '{tmp_path / 'other.txt'}' named in extra_pip_requirements",
    ):
        resolve_requirements([], extra_pip_requirements=req_file)


def test_circular_include_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(SaveError, match=r"includes itself; remove the circular '-r' line"):
        resolve_requirements([], pip_requirements=tmp_path / "a.txt")


def test_constraints_files_are_refused() -> None:
    with pytest.raises(
        SaveError,
        match=r"constraints files are not supported in pip_requirements \('-c constraints.txt'\)"
        r": pin the versions in the requirements themselves",
    ):
        resolve_requirements([], pip_requirements=["numpy", "-c constraints.txt"])


def test_invalid_requirement_is_refused() -> None:
    with pytest.raises(
        SaveError,
        match=r"invalid requirement 'scikit-learn=1.0' in extra_pip_requirements: .*; write it "
        r"as 'name==version'",
    ):
        resolve_requirements([], extra_pip_requirements=["scikit-learn=1.0"])


def test_paths_urls_and_options_are_kept_as_written() -> None:
    lines = [
        "./vendor/mypkg",
        "dist/mypkg-1.0-py3-none-any.whl",
        "mypkg-1.0.tar.gz",
        "--index-url https://pypi.example/simple",
        "https://example.org/pkg-1.0.zip",
    ]
    assert resolve_requirements([], pip_requirements=lines) == [_saveur(), *lines]


def test_non_string_item_is_refused() -> None:
    with pytest.raises(
        SaveError, match=r"pip_requirements\[1\] is a int, not a string: pass requirement strings"
    ):
        resolve_requirements([], pip_requirements=["numpy", 1])  # type: ignore[list-item]


def test_wrong_type_is_refused() -> None:
    with pytest.raises(
        SaveError,
        match=r"extra_pip_requirements must be a list of requirement strings or the path of a "
        r"requirements file, got int",
    ):
        resolve_requirements([], extra_pip_requirements=3)  # type: ignore[arg-type]


def test_empty_pip_requirements_still_gets_saveur() -> None:
    assert resolve_requirements(["numpy==2.0.0"], pip_requirements=[]) == [_saveur()]


# --- reading back -----------------------------------------------------------------------------
def test_written_requirements_read_back(model_dir: Path) -> None:
    reqs = resolve_requirements(["numpy==2.0.0"], extra_pip_requirements=["attrs"])
    write_environment_files(model_dir, reqs)
    assert read_requirements(model_dir) == reqs


def test_read_requirements_drops_comments_and_blank_lines(model_dir: Path) -> None:
    (model_dir / "requirements.txt").write_text("# locked\nnumpy==2.0.0\n\n-c constraints.txt\n")
    assert read_requirements(model_dir) == ["numpy==2.0.0", "-c constraints.txt"]


def test_read_requirements_falls_back_to_conda_yaml(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text(
        "name: mlflow-env\ndependencies:\n- python=3.10.4\n- pip\n- pip:\n  - mlflow\n  - numpy\n"
    )
    assert read_requirements(model_dir) == ["mlflow", "numpy"]


def test_read_requirements_of_conda_yaml_without_pip_section_is_empty(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("dependencies:\n- python=3.10.4\n")
    assert read_requirements(model_dir) == []


def test_read_requirements_without_env_files_names_the_directory(model_dir: Path) -> None:
    with pytest.raises(
        EnvironmentBuildError,
        match=rf"model directory '{model_dir}' has neither requirements.txt nor conda.yaml; "
        "add a requirements.txt or re-save the model",
    ):
        read_requirements(model_dir)


def test_read_requirements_rejects_invalid_conda_yaml(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("dependencies: [unclosed\n")
    with pytest.raises(EnvironmentBuildError, match=r"conda.yaml' is not valid YAML"):
        read_requirements(model_dir)


def test_read_requirements_rejects_conda_yaml_that_is_not_a_mapping(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("- a\n- b\n")
    with pytest.raises(EnvironmentBuildError, match=r"expected a mapping at the top level"):
        read_requirements(model_dir)


def test_read_requirements_rejects_non_list_dependencies(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("dependencies: numpy\n")
    with pytest.raises(EnvironmentBuildError, match=r"'dependencies' must be a list"):
        read_requirements(model_dir)


def test_read_requirements_rejects_non_list_pip_entry(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("dependencies:\n- pip: numpy\n")
    with pytest.raises(EnvironmentBuildError, match=r"the 'pip' entry must be a list of strings"):
        read_requirements(model_dir)


def test_read_python_env_from_written_files(model_dir: Path) -> None:
    write_environment_files(model_dir, ["saveur==0.1.0"])
    env = read_python_env(model_dir)
    assert env["python"] == PY
    assert env["dependencies"] == ["-r requirements.txt"]
    assert [d.split("==")[0] for d in env["build_dependencies"]] == ["pip", "setuptools", "wheel"]


def test_read_python_env_falls_back_to_conda_python(model_dir: Path) -> None:
    (model_dir / "conda.yaml").write_text("dependencies:\n- python=3.10.4\n- pip\n")
    assert read_python_env(model_dir) == {
        "python": "3.10.4",
        "build_dependencies": [],
        "dependencies": [],
    }


def test_read_python_env_without_files_has_no_python(model_dir: Path) -> None:
    assert read_python_env(model_dir)["python"] is None


def test_read_python_env_rejects_a_non_version_python(model_dir: Path) -> None:
    (model_dir / "python_env.yaml").write_text("python: [3, 11]\n")
    with pytest.raises(EnvironmentBuildError, match=r"'python' must be a version such as"):
        read_python_env(model_dir)


# --- checking the running environment ----------------------------------------------------------
def test_satisfied_requirements_give_no_messages() -> None:
    version = importlib.metadata.version("scikit-learn")
    assert check_installed_versions([f"scikit-learn=={version}", "pyyaml>=1", "numpy"]) == []


def test_version_mismatch_message(site: Path) -> None:
    make_dist(site, "fakepkg", "1.8.0")
    assert check_installed_versions(["fakepkg==1.9.1"]) == [
        "fakepkg==1.9.1 required, 1.8.0 installed"
    ]


def test_missing_distribution_message() -> None:
    assert check_installed_versions(["no-such-dist-saveur==1.0"]) == [
        "no-such-dist-saveur==1.0 required, not installed"
    ]


def test_local_label_satisfies_public_pin(site: Path) -> None:
    make_dist(site, "faketorch", "2.13.0+cpu")
    assert check_installed_versions(["faketorch==2.13.0"]) == []


def test_check_skips_paths_options_comments_and_foreign_markers() -> None:
    assert (
        check_installed_versions(
            [
                "# comment",
                "-r other.txt",
                "./vendor/pkg",
                "no-such-dist-saveur==1.0; python_version < '3.0'",
            ]
        )
        == []
    )


def test_check_keeps_applicable_marker_in_message() -> None:
    line = "no-such-dist-saveur==1.0; python_version >= '3.0'"
    assert check_installed_versions([line]) == [f"{line} required, not installed"]


def test_a_portable_model_gets_no_saveur_pin() -> None:
    assert resolve_requirements(["scikit-learn==1.9.1"], pin_saveur=False) == [
        "scikit-learn==1.9.1"]
    # A caller who names saveur still gets it: only the host's own pin is left out.
    assert resolve_requirements([], extra_pip_requirements=["saveur==0.1.0"],
                                pin_saveur=False) == ["saveur==0.1.0"]
