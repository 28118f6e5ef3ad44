"""Bytecode never escapes the digests, never runs from a model, is never written or saved.

A ``.pyc`` runs instead of its source: an unchecked-hash one (PEP 552) under
``__pycache__`` is used whatever the source says, and a sourceless ``.pyc`` imports by
itself. Every payload writes a marker file when it runs; the marker must never appear.
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
import textwrap

import pandas as pd
import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.cli import main
from saveur.errors import IntegrityError, MLmodelError, SaveError

_CACHE_TAG = sys.implementation.cache_tag


@pytest.fixture
def code_model(tmp_path):
    """A models-from-code model whose code imports ``helper`` (and, optionally, ``extra``)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "helper.py").write_text("VALUE = 1\n")
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import helper
        try:
            import saveur_optional_extra
        except ImportError:
            saveur_optional_extra = None
        import saveur.pyfunc
        from saveur.models import set_model

        class M(saveur.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input * helper.VALUE

        set_model(M())
    """))
    path = tmp_path / "m"
    saveur.pyfunc.save_model(path, python_model=tmp_path / "model.py", code_paths=[src / "helper.py"])
    yield path
    for name in ("helper", "saveur_optional_extra"):
        sys.modules.pop(name, None)


def _payload(tmp_path, name: str) -> str:
    marker = tmp_path / "ran"
    source = tmp_path / f"payload_{name}.py"
    source.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nVALUE = 99\n")
    return str(source)


def _plant_unchecked_pyc(model, tmp_path):
    cache = model / "code" / "__pycache__"
    cache.mkdir(exist_ok=True)
    target = cache / f"helper.{_CACHE_TAG}.pyc"
    py_compile.compile(_payload(tmp_path, "helper"), cfile=str(target), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return target


def _plant_sourceless_pyc(model, tmp_path):
    target = model / "code" / "saveur_optional_extra.pyc"
    py_compile.compile(_payload(tmp_path, "extra"), cfile=str(target), doraise=True)
    return target


@pytest.mark.parametrize("plant", [_plant_unchecked_pyc, _plant_sourceless_pyc],
                         ids=["pep552-unchecked-hash", "sourceless"])
def test_planted_bytecode_fails_the_digest_check(code_model, tmp_path, plant, capsys):
    planted = plant(code_model, tmp_path)
    rel = planted.relative_to(code_model).as_posix()
    with pytest.raises(IntegrityError, match=f"'{rel}' is not recorded in MLmodel"):
        saveur.pyfunc.load_model(code_model, trust_code=True)
    assert main(["models", "verify", str(code_model)]) == 1
    assert f"'{rel}' is not recorded" in capsys.readouterr().err
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("plant", [_plant_unchecked_pyc, _plant_sourceless_pyc],
                         ids=["pep552-unchecked-hash", "sourceless"])
def test_planted_bytecode_never_runs_even_unverified(code_model, tmp_path, plant):
    """Without digests to check (verify=False, or a model saved by MLflow) source still wins."""
    plant(code_model, tmp_path)
    model = saveur.pyfunc.load_model(code_model, trust_code=True, verify=False)
    assert model.predict(pd.DataFrame({"x": [2]}))["x"].tolist() == [2]  # helper.VALUE == 1
    assert not (tmp_path / "ran").exists()
    predict = type(model.unwrap_python_model()).predict
    assert predict.__globals__["saveur_optional_extra"] is None  # the .pyc was not imported


def test_resealed_bytecode_is_recorded_and_still_never_runs(code_model, tmp_path):
    """A deliberate reseal records the .pyc (no file escapes); loading reads the source anyway."""
    planted = _plant_unchecked_pyc(code_model, tmp_path)
    assert main(["models", "reseal", str(code_model)]) == 0
    digests = yaml.safe_load((code_model / "MLmodel").read_text())["saveur"]["digests"]
    assert planted.relative_to(code_model).as_posix() in digests
    model = saveur.pyfunc.load_model(code_model, trust_code=True)
    assert model.predict(pd.DataFrame({"x": [3]}))["x"].tolist() == [3]
    assert not (tmp_path / "ran").exists()


def test_loading_writes_no_bytecode_into_the_model(code_model, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    sys.modules.pop("helper", None)
    saveur.pyfunc.load_model(code_model, trust_code=True)
    assert not any(p.suffix == ".pyc" or p.name == "__pycache__" for p in code_model.rglob("*"))
    saveur.pyfunc.load_model(code_model, trust_code=True)  # and it still verifies


def test_saving_never_copies_bytecode_from_code_paths(tmp_path):
    lib = tmp_path / "lib"
    (lib / "__pycache__").mkdir(parents=True)
    (lib / "__init__.py").write_text("")
    (lib / "mod.py").write_text("X = 1\n")
    py_compile.compile(str(lib / "mod.py"), cfile=str(lib / "__pycache__" / f"mod.{_CACHE_TAG}.pyc"))
    py_compile.compile(str(lib / "mod.py"), cfile=str(lib / "sourceless.pyc"))
    (lib / "old.pyo").write_bytes(b"\x00")
    saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                             code_paths=[lib])
    copied = sorted(p.relative_to(tmp_path / "m" / "code").as_posix()
                    for p in (tmp_path / "m" / "code").rglob("*"))
    assert copied == ["lib", "lib/__init__.py", "lib/mod.py"]


def test_a_bytecode_file_as_code_path_is_refused(tmp_path):
    (tmp_path / "mod.py").write_text("X = 1\n")
    pyc = py_compile.compile(str(tmp_path / "mod.py"), cfile=str(tmp_path / "mod.pyc"))
    with pytest.raises(SaveError, match="is compiled bytecode"):
        saveur.pyfunc.save_model(tmp_path / "m", python_model="saveur_echo.pymodels:ScaledSum",
                                 code_paths=[pyc])
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("name", ["model_code/model.py", "model_code/model.pyc"])
def test_model_code_that_is_bytecode_is_refused(code_model, tmp_path, name):
    """runpy would run a file that starts with the bytecode magic number as bytecode."""
    target = code_model / name
    py_compile.compile(_payload(tmp_path, "code"), cfile=str(target), doraise=True)
    doc = yaml.safe_load((code_model / "MLmodel").read_text())
    doc["flavors"]["python_function"]["model_code"] = name
    doc.pop("saveur")
    (code_model / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(MLmodelError, match="compiled bytecode is refused"):
        saveur.pyfunc.load_model(code_model, trust_code=True)
    assert not (tmp_path / "ran").exists()
    assert importlib.util.MAGIC_NUMBER == target.read_bytes()[:4]
