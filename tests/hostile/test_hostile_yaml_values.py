"""Values that PyYAML (or json) cannot turn into plain data are the model's error, not ours.

A 5,000-digit integer made PyYAML raise a bare ``ValueError`` (Python's limit on int string
conversion) and ``saveur models show`` printed a traceback. Every such value, in MLmodel and
in any YAML or JSON file a model carries, is now refused with saveur's error naming the file.
"""

from __future__ import annotations

import json

import pytest
import yaml

import saveur.pyfunc
from saveur.cli import main
from saveur.errors import EnvironmentBuildError, MLmodelError, SaveurError
from saveur.mlmodel import Model

_HUGE_DECIMAL = "1" * 5000
_HUGE_HEX = "0x" + "f" * 5000  # PyYAML converts it (base 16 has no digit limit): too big to print

# (YAML lines appended at the top level of a valid MLmodel, id)
_HOSTILE_MLMODEL = [
    (f"big_int: {_HUGE_DECIMAL}\n", "decimal-5000-digits"),
    (f"big_hex: {_HUGE_HEX}\n", "hex-5000-digits"),
    ("big_octal: 0" + "7" * 4000 + "\n", "octal-huge"),  # YAML 1.1 octal
    ("metadata:\n  n: 18446744073709551616\n", "int-over-64-bits"),
    ("big_float: 1.0e+99999\n", "float-overflow"),
    ("nan: .nan\n", "nan"),
    ("negative_inf: -.inf\n", "neg-inf"),
    ("stamp: 2024-13-45 10:00:00\n", "timestamp-month-13"),
    ("stamp: !!timestamp 'yesterday'\n", "timestamp-tag-garbage"),
    ("blob: !!binary aGVsbG8=\n", "binary-valid"),
    ("blob: !!binary '%%%%'\n", "binary-bad-base64"),
    ("f: !!float 'abc'\n", "float-tag-garbage"),
    ("i: !!int 'abc'\n", "int-tag-garbage"),
    ("s: !!set {a, b}\n", "set"),
    ("o: !!omap [a: 1, b: 2]\n", "omap"),
    ("p: !!pairs [a: 1]\n", "pairs"),
    ("m:\n  <<: [1, 2]\n", "merge-of-scalars"),
    ("m:\n  <<: 5\n", "merge-of-int"),
    ("1: one\n", "int-key"),
    ("null: x\n", "null-key"),
    ("true: x\n", "bool-key"),
    ("? [a, b]\n: c\n", "list-key"),
    ("? {a: 1}\n: c\n", "mapping-key"),
    ("metadata:\n  2024-01-01: x\n", "date-key"),
]


@pytest.mark.parametrize(("text", "case"), _HOSTILE_MLMODEL, ids=[c for _, c in _HOSTILE_MLMODEL])
def test_hostile_mlmodel_values_are_mlmodel_errors_naming_the_file(echo_dir, text, case):
    with open(echo_dir / "MLmodel", "a") as f:
        f.write(text)
    with pytest.raises(MLmodelError, match=str(echo_dir / "MLmodel")):
        Model.load(echo_dir)
    with pytest.raises(MLmodelError):
        saveur.pyfunc.load_model(echo_dir)


@pytest.mark.parametrize(("text", "case"), _HOSTILE_MLMODEL, ids=[c for _, c in _HOSTILE_MLMODEL])
def test_models_show_prints_one_line_for_a_hostile_mlmodel(echo_dir, capsys, text, case):
    with open(echo_dir / "MLmodel", "a") as f:
        f.write(text)
    for args in (["models", "show", str(echo_dir)], ["models", "show", "--json", str(echo_dir)],
                 ["models", "verify", str(echo_dir)], ["models", "reseal", str(echo_dir)]):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "MLmodel" in err


@pytest.mark.parametrize(
    "value",
    ["flavors: {python_function: {1: 2}}\n", "flavors:\n  python_function:\n    loader_module: "
     "saveur_echo\n    data: echo.json\n    extra: !!binary aGVsbG8=\n"],
)
def test_hostile_values_inside_flavors_are_refused(echo_dir, value):
    doc = (echo_dir / "MLmodel").read_text().split("flavors:")[0]
    (echo_dir / "MLmodel").write_text(doc + value)
    with pytest.raises(MLmodelError, match="MLmodel"):
        Model.load(echo_dir)


def test_plain_values_still_load(echo_dir):
    """Big-but-fitting ints, finite floats, timestamps, merge keys and small aliases are fine."""
    with open(echo_dir / "MLmodel", "a") as f:
        f.write("extra_int: 18446744073709551615\nextra_float: 1.5e+300\n"
                "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\nwhen: 2024-01-01 10:00:00\n")
    model = Model.load(echo_dir)
    assert model.extra["merged"] == {"x": 1, "y": 2}
    assert model.extra["extra_int"] == 2**64 - 1


@pytest.mark.parametrize("name", ["python_env.yaml", "conda.yaml"])
@pytest.mark.parametrize(
    "text",
    [f"python: {_HUGE_DECIMAL}\n", f"python: {_HUGE_HEX}\n", "python: 2024-13-45\n",
     "python: !!binary aGVsbG8=\n", "1: x\n", "python: 1.0e+999\n",
     "dependencies: !!set {a}\n"],
    ids=["decimal", "hex", "timestamp", "binary", "int-key", "float", "set"],
)
def test_hostile_env_file_values_are_environment_errors(echo_dir, name, text):
    from saveur.environment import read_python_env, read_requirements

    (echo_dir / "requirements.txt").unlink()
    (echo_dir / "python_env.yaml").unlink()
    (echo_dir / name).write_text(text)
    with pytest.raises(EnvironmentBuildError, match=name):
        read_python_env(echo_dir)
        read_requirements(echo_dir)


@pytest.mark.parametrize(
    "content",
    [_HUGE_DECIMAL, '{"a": ' + _HUGE_DECIMAL + "}", '{"a": 1e999999}', "[" * 100_000 + "]" * 100_000],
    ids=["int", "nested-int", "float", "deep"],
)
def test_hostile_input_example_json_is_a_saveur_error_naming_the_file(echo_dir, content):
    info = {"artifact_path": "input_example.json", "type": "json_object"}
    (echo_dir / "input_example.json").write_text(content)
    from saveur.examples import read_input_example

    try:
        value = read_input_example(echo_dir, info)
    except SaveurError as e:
        assert "input_example.json" in str(e)
    else:  # a float that overflows is JSON's own infinity: data, not an error
        assert json.dumps(value)


def test_registering_a_hostile_mlmodel_is_an_mlmodel_error(echo_dir, tmp_path, monkeypatch):
    import saveur.store as st

    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    st.set_store_uri(tmp_path / "store")
    try:
        with open(echo_dir / "MLmodel", "a") as f:
            f.write(f"metadata:\n  n: {_HUGE_HEX}\n")
        with pytest.raises(MLmodelError, match="MLmodel"):
            st.register_model(str(echo_dir), "hostile")
    finally:
        st.set_store_uri(None)
        from saveur.store import _db

        _db.close_stores()


def test_mlmodel_that_is_a_fifo_is_refused_without_hanging(echo_dir):
    import os

    (echo_dir / "MLmodel").unlink()
    os.mkfifo(echo_dir / "MLmodel")
    with pytest.raises(MLmodelError, match="not a regular file"):
        Model.load(echo_dir)
    assert yaml  # the module is used by the other tests' helpers


@pytest.mark.parametrize(
    "params",
    ['[{"name": "k", "type": "long", "default": ' + _HUGE_DECIMAL + ', "shape": null}]',
     '[{"name": "k", "type": "long", "default": 1, "shape": null}' + "]" * 3],
    ids=["huge-int", "bad-json"],
)
def test_hostile_signature_json_is_an_mlmodel_error_naming_the_file(echo_dir, capsys, params):
    def edit(doc):
        doc["signature"] = {"inputs": '[{"type": "double"}]', "outputs": None, "params": params}

    doc = yaml.safe_load((echo_dir / "MLmodel").read_text())
    edit(doc)
    (echo_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(MLmodelError, match=f"{echo_dir / 'MLmodel'} has an invalid 'signature'"):
        saveur.pyfunc.load_model(echo_dir, verify=False)
    assert main(["models", "show", str(echo_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
