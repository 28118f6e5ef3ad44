from __future__ import annotations

import pytest

from saveur.errors import MLmodelError
from saveur.mlmodel import Model

MLFLOW_MLMODEL = """\
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.skops
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.skops
    serialization_format: skops
    sklearn_version: 1.9.1
    skops_trusted_types: null
is_signature_from_type_hint: false
mlflow_version: 3.17.2
model_id: null
model_size_bytes: 11152
model_uuid: ba4397d185e4409690c784b73e6d7672
prompts: null
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "double",
    "name": "b", "required": true}, {"type": "double", "name": "c", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-11-21 19:51:45.883976'
"""


def test_mlflow_mlmodel_round_trips_byte_identically():
    model = Model.from_yaml(MLFLOW_MLMODEL)
    assert model.to_yaml() == MLFLOW_MLMODEL


def test_known_keys_are_parsed():
    model = Model.from_yaml(MLFLOW_MLMODEL)
    assert model.flavors["sklearn"]["serialization_format"] == "skops"
    assert model.model_uuid == "ba4397d185e4409690c784b73e6d7672"
    assert model.utc_time_created == "2026-11-21 19:51:45.883976"
    assert model.model_size_bytes == 11152
    assert model.saved_input_example_info["type"] == "dataframe"
    assert model.pyfunc_conf["loader_module"] == "mlflow.sklearn"
    assert model.digests is None


def test_unknown_keys_are_kept(tmp_path):
    model = Model.from_yaml(MLFLOW_MLMODEL + "some_future_key:\n  nested: [1, 2]\n")
    model.save(tmp_path / "MLmodel")
    again = Model.load(tmp_path)
    assert again.extra["some_future_key"] == {"nested": [1, 2]}
    assert again.extra["mlflow_version"] == "3.17.2"


def test_new_model_writes_mlflow_time_and_uuid_format():
    model = Model(flavors={"x": {}})
    assert len(model.model_uuid) == 32
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", model.utc_time_created)


def test_run_fields_written_only_when_set():
    model = Model(flavors={"x": {}})
    assert "run_id" not in model.to_dict()
    model.run_id, model.artifact_path = "abc", "model"
    assert model.to_dict()["run_id"] == "abc" and model.to_dict()["artifact_path"] == "model"


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors:\n  a: [1,\n")
    with pytest.raises(MLmodelError, match=r"MLmodel: invalid YAML at line \d"):
        Model.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "expected a YAML mapping, got list"),
        ("model_uuid: abc\n", "missing the required key 'flavors'"),
        ("flavors: [1]\n", "'flavors' must map flavor names to mappings"),
        ("flavors: {}\nmodel_uuid: XYZ\n", "'model_uuid' must be 32 lowercase hex digits"),
        ("flavors: {}\nsignature: '[1]'\n", "'signature' must be a mapping"),
        ("flavors: {}\nmodel_size_bytes: big\n", "'model_size_bytes' must be an integer"),
        ("flavors: {python_function: {loader_module: 3}}\n", "loader_module must be a string"),
        ("flavors: {}\nsaveur: {digests: [1]}\n", "'saveur.digests' must map paths"),
    ],
)
def test_invalid_mlmodel_is_refused_with_the_problem(text, message):
    with pytest.raises(MLmodelError, match=message):
        Model.from_yaml(text, source="/m/MLmodel")


def test_missing_mlmodel_names_the_path(tmp_path):
    with pytest.raises(MLmodelError, match="no MLmodel file at"):
        Model.load(tmp_path)


def test_non_utf8_mlmodel_is_refused(tmp_path):
    (tmp_path / "MLmodel").write_bytes(b"flavors: {}\n\xff\xfe")
    with pytest.raises(MLmodelError, match="not UTF-8"):
        Model.load(tmp_path)


def test_invalid_signature_is_reported_on_access():
    model = Model.from_yaml("flavors: {}\nsignature: {inputs: 'not json'}\n")
    with pytest.raises(MLmodelError, match="invalid 'signature'"):
        _ = model.signature
