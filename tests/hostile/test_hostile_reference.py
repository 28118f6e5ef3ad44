"""A by-reference ``python_model_class`` never imports code the model carries.

The class is located without running anything and must be a file of an installed
distribution: never the model directory, its ``code/``, the current directory (on
``sys.path`` under ``python -c``, ``python -m``, notebooks) or a path the model names.
Every payload here writes a marker file when it runs; the marker must never appear.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.errors import MLmodelError, TrustError

_MODEL_CLASS = textwrap.dedent("""
    import pathlib
    pathlib.Path({marker!r}).write_text("ran")
    import saveur.pyfunc

    class Model(saveur.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input
""")


def _set_reference(model_dir, reference, **extra):
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    doc["flavors"]["python_function"]["python_model_class"] = reference
    doc["flavors"]["python_function"].update(extra)
    doc.pop("saveur", None)  # as a model saved without digests: the planted files pass
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A model in ``tmp_path/work/m`` with payloads in its root, code/ and a nested package.

    The current directory is ``tmp_path/work`` and is on ``sys.path`` as ``''``, as under
    ``python -c``.
    """
    work = tmp_path / "work"
    model = work / "m"
    work.mkdir()
    saveur.pyfunc.save_model(model, python_model="saveur_echo.pymodels:ScaledSum")
    marker = tmp_path / "ran"
    body = _MODEL_CLASS.format(marker=str(marker))
    (model / "evil.py").write_text(body)
    (model / "code").mkdir()
    (model / "code" / "evil.py").write_text(body)
    (model / "code" / "pkg" / "sub").mkdir(parents=True)
    (model / "code" / "pkg" / "__init__.py").write_text(body)
    (model / "code" / "pkg" / "sub" / "__init__.py").write_text("")
    (model / "code" / "pkg" / "sub" / "deep.py").write_text(body)
    (work / "cwd_evil.py").write_text(body)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend("")
    return model, marker


_INSIDE_THE_MODEL = [
    "m.evil:Model",  # the model directory, through the cwd on sys.path
    "m.code.evil:Model",  # its code/ directory, as namespace packages
    "m.code.pkg.sub.deep:Model",  # a nested package whose parent runs code at import
    "m.code.pkg:Model",
]


@pytest.mark.parametrize(
    ("reference", "trust"),
    [
        *((r, False) for r in _INSIDE_THE_MODEL),
        # trust_code lets code the caller vouches for load; never code inside the model
        *((r, True) for r in _INSIDE_THE_MODEL),
        ("cwd_evil:Model", False),  # a file in the cwd that no distribution installed
    ],
)
def test_reference_into_the_model_or_cwd_is_refused_before_it_runs(planted, reference, trust):
    model, marker = planted
    _set_reference(model, reference)
    with pytest.raises(TrustError, match=f"python_model_class '{reference}' is refused"):
        saveur.pyfunc.load_model(model, trust_code=trust)
    assert not marker.exists(), "the model's module ran"


def test_reference_into_code_on_sys_path_is_refused(planted):
    """Even once the model's code/ is on sys.path (a trusted load did it), never by reference."""
    model, marker = planted
    _set_reference(model, "evil:Model", code="code")
    with pytest.raises(TrustError, match="inside the model directory or a model's code path"):
        saveur.pyfunc.load_model(model, trust_code=True)
    assert not marker.exists()
    other = model.parent / "other"
    saveur.pyfunc.save_model(other, python_model="saveur_echo.pymodels:ScaledSum")
    _set_reference(other, "pkg.sub.deep:Model")  # the first model's code, from another model
    with pytest.raises(TrustError, match="code path"):
        saveur.pyfunc.load_model(other)
    assert not marker.exists()


def test_reference_with_a_planted_dist_info_in_the_cwd_is_refused(planted):
    model, marker = planted
    info = model.parent / "cwd_evil-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cwd-evil\nVersion: 1.0\n")
    (info / "RECORD").write_text("cwd_evil.py,,\n")
    _set_reference(model, "cwd_evil:Model")
    with pytest.raises(TrustError, match="not a file of any installed distribution"):
        saveur.pyfunc.load_model(model)
    assert not marker.exists()


def test_reference_with_a_dist_info_inside_the_model_is_refused(planted, monkeypatch):
    model, marker = planted
    info = model / "code" / "evil-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (info / "RECORD").write_text("evil.py,,\n")
    monkeypatch.syspath_prepend(str(model / "code"))
    _set_reference(model, "evil:Model")
    with pytest.raises(TrustError, match="inside the model directory"):
        saveur.pyfunc.load_model(model)
    assert not marker.exists()


@pytest.mark.parametrize(
    "reference", [".evil:Model", "..evil:Model", "m..evil:Model", "../m/evil:Model", "m/evil:Model"]
)
def test_relative_and_path_references_are_malformed(planted, reference):
    model, marker = planted
    _set_reference(model, reference)
    with pytest.raises(MLmodelError, match="python_model_class"):
        saveur.pyfunc.load_model(model)
    assert not marker.exists()


def test_reference_to_a_module_no_one_installed_is_refused(planted):
    model, _ = planted
    _set_reference(model, "no_such_module_xyz.inner:Model")
    with pytest.raises(TrustError, match="'no_such_module_xyz' is not installed"):
        saveur.pyfunc.load_model(model)


def test_installed_package_loads_without_trust(planted, install_package, tmp_path):
    model, marker = planted
    install_package({
        "goodpkg/__init__.py": "",
        "goodpkg/models/__init__.py": "",
        "goodpkg/models/doubler.py": textwrap.dedent("""
            import saveur.pyfunc

            class Doubler(saveur.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    return model_input * 2
        """),
    })
    _set_reference(model, "goodpkg.models.doubler:Doubler")
    loaded = saveur.pyfunc.load_model(model)
    assert loaded.predict(__import__("pandas").DataFrame({"a": [1.0], "b": [2.0]})).values.tolist(
    ) == [[2.0, 4.0]]


def test_uninstalled_file_beside_an_installed_package_is_refused(planted, install_package):
    """A module added to an installed package's directory, not in its RECORD, is not installed."""
    model, marker = planted
    site = install_package({"goodpkg2/__init__.py": ""})
    (site / "goodpkg2" / "added.py").write_text(_MODEL_CLASS.format(marker=str(marker)))
    _set_reference(model, "goodpkg2.added:Model")
    with pytest.raises(TrustError, match="not a file of any installed distribution"):
        saveur.pyfunc.load_model(model)
    assert not marker.exists()


@pytest.mark.parametrize("how", ["-c", "-m"])
def test_reference_into_the_model_is_refused_under_python_c_and_m(planted, how, tmp_path):
    """A fresh interpreter with the cwd first on sys.path, as users run it."""
    model, marker = planted
    _set_reference(model, "m.code.evil:Model")
    script = textwrap.dedent(f"""
        import sys
        import saveur.pyfunc
        from saveur.errors import TrustError
        try:
            saveur.pyfunc.load_model({str(model)!r})
        except TrustError as e:
            print("refused:", e)
            sys.exit(0)
        sys.exit("loaded")
    """)
    if how == "-c":
        command = [sys.executable, "-c", script]
    else:
        (model.parent / "runner.py").write_text(script)
        command = [sys.executable, "-m", "runner"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SAVEUR_TRUST_CODE", None)
    result = subprocess.run(command, cwd=model.parent, capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "python_model_class 'm.code.evil:Model' is refused" in result.stdout
    assert not marker.exists()


def test_editable_install_counts_unless_its_project_is_the_cwd(tmp_path, monkeypatch):
    """An editable install's project is installed code, except when it is the current
    directory (which the rule keeps out)."""
    import json

    project = tmp_path / "project"
    (project / "src" / "edpkg").mkdir(parents=True)
    (project / "src" / "edpkg" / "__init__.py").write_text(textwrap.dedent("""
        import saveur.pyfunc

        class Model(saveur.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input
    """))
    site = tmp_path / "site"
    info = site / "edpkg-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: edpkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("edpkg-1.0.dist-info/METADATA,,\n")
    (info / "direct_url.json").write_text(
        json.dumps({"url": project.as_uri(), "dir_info": {"editable": True}}))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(project / "src"))
    model = tmp_path / "m"
    saveur.pyfunc.save_model(model, python_model="saveur_echo.pymodels:ScaledSum")
    _set_reference(model, "edpkg:Model")
    monkeypatch.chdir(tmp_path)
    assert saveur.pyfunc.load_model(model) is not None
    monkeypatch.chdir(project)
    with pytest.raises(TrustError, match="not a file of any installed distribution"):
        saveur.pyfunc.load_model(model)
