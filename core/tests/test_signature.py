"""ModelSignature: construction, MLmodel encoding, parsing errors, equality and repr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from saveur.errors import SignatureError
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


def _sig() -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec("double", "x"), ColSpec("string", "y", required=False)]),
        outputs=Schema([ColSpec("long")]),
        params=ParamSchema([ParamSpec("k", "long", 3)]),
    )


def test_to_dict_is_the_mlmodel_encoding():
    assert _sig().to_dict() == {
        "inputs": '[{"type": "double", "name": "x", "required": true}, '
        '{"type": "string", "name": "y", "required": false}]',
        "outputs": '[{"type": "long", "required": true}]',
        "params": '[{"name": "k", "default": 3, "shape": null, "type": "long"}]',
    }


def test_absent_parts_are_none():
    sig = ModelSignature(inputs=Schema([TensorSpec("float32", (-1, 2))]))
    assert sig.to_dict() == {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]',
        "outputs": None,
        "params": None,
    }


def test_from_dict_round_trips_byte_identically():
    d = _sig().to_dict()
    again = ModelSignature.from_dict(d)
    assert again == _sig()
    assert again.to_dict() == d


def test_from_dict_accepts_missing_and_null_parts():
    sig = ModelSignature.from_dict({"inputs": '[{"type": "long", "required": true}]'})
    assert sig.outputs is None and sig.params is None
    sig = ModelSignature.from_dict({"inputs": None, "outputs": '[{"type": "long"}]'})
    assert sig.inputs is None and sig.outputs == Schema([ColSpec("long")])


def test_from_dict_error_names_the_part():
    with pytest.raises(SignatureError, match="signature outputs: schema is not valid JSON"):
        ModelSignature.from_dict({"inputs": '[{"type": "long"}]', "outputs": "[oops"})
    with pytest.raises(SignatureError, match="signature params: a param entry needs"):
        ModelSignature.from_dict({"params": '[{"name": "a"}]'})
    with pytest.raises(SignatureError, match="a signature must be a mapping, got list"):
        ModelSignature.from_dict([])


def test_empty_signature_is_an_error():
    with pytest.raises(SignatureError, match="needs at least one of inputs, outputs or params"):
        ModelSignature()
    with pytest.raises(SignatureError, match="needs at least one of"):
        ModelSignature.from_dict({"inputs": None, "outputs": None})


def test_wrong_part_types_are_errors():
    with pytest.raises(
        SignatureError, match="inputs must be None, a saveur.types.Schema or a dataclass, got list"
    ):
        ModelSignature(inputs=[ColSpec("long")])
    with pytest.raises(SignatureError, match="params must be None or a saveur.types.ParamSchema"):
        ModelSignature(inputs=Schema([ColSpec("long")]), params={"a": 1})


def test_equality_and_repr():
    assert _sig() == _sig()
    assert _sig() != ModelSignature(inputs=_sig().inputs)
    assert _sig() != "sig"
    assert repr(_sig()) == (
        "inputs: \n  ['x': double (required), 'y': string (optional)]\n"
        "outputs: \n  [long (required)]\n"
        "params: \n  ['k': long (default: 3)]\n"
    )


def test_json_strings_parse_as_json_lists():
    for value in _sig().to_dict().values():
        assert isinstance(json.loads(value), list)


def test_importing_signature_does_not_import_numpy_or_pandas():
    code = (
        "import sys, saveur.signature, saveur.types, saveur.examples; "
        "print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
