"""The OpenAPI 3.1 document generated from a model's signature."""

from __future__ import annotations

import jsonschema_rs
import numpy as np
import pytest

from saveur.serving.openapi import build_openapi
from saveur.signature import ModelSignature
from saveur.types import Array, ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

COLUMNS = ModelSignature(
    Schema([ColSpec("double", "age"), ColSpec("string", "city"),
            ColSpec("long", "visits", required=False), ColSpec(Array("double"), "scores")]),
    Schema([TensorSpec(np.dtype("int64"), (-1,))]),
    ParamSchema([ParamSpec("threshold", "double", 0.5), ParamSpec("top", "long", 3)]),
)
TENSOR = ModelSignature(
    Schema([TensorSpec(np.dtype("float32"), (-1, 4))]),
    Schema([TensorSpec(np.dtype("float64"), (-1, 3))]),
)


def _validator(document, name):
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def _variant(document, key):
    variants = document["components"]["schemas"]["InvocationsRequest"]["oneOf"]
    return next(v for v in variants if v["title"] == key)


def test_the_document_is_valid_openapi_3_1_for_schemathesis():
    import schemathesis

    for signature in (COLUMNS, TENSOR, None):
        document = build_openapi(signature, model_name="iris")
        assert document["openapi"] == "3.1.0"
        schema = schemathesis.openapi.from_dict(document)
        operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
        assert ("POST", "/invocations") in operations
        assert ("POST", "/v2/models/iris/infer") in operations


def test_every_column_is_named_with_its_json_type_and_required_flag():
    document = build_openapi(COLUMNS, model_name="m")
    record = _variant(document, "dataframe_records")["properties"]["dataframe_records"]["items"]
    assert record["properties"]["age"] == {"type": "number"}
    assert record["properties"]["city"] == {"type": "string"}
    assert record["properties"]["visits"]["type"] == ["integer", "null"]
    assert record["properties"]["scores"] == {"type": "array", "items": {"type": "number"}}
    assert record["required"] == ["age", "city", "scores"]


def test_params_are_documented_with_types_and_defaults():
    document = build_openapi(COLUMNS, model_name="m")
    params = _variant(document, "inputs")["properties"]["params"]
    assert params["properties"]["threshold"] == {"type": "number", "default": 0.5}
    assert params["properties"]["top"]["default"] == 3
    assert params["additionalProperties"] is False


def test_response_schema_comes_from_the_output_signature():
    document = build_openapi(COLUMNS, model_name="m")
    response = document["components"]["schemas"]["InvocationsResponse"]
    predictions = response["properties"]["predictions"]
    assert predictions["type"] == "array"
    assert predictions["items"]["type"] == "integer"
    validator = _validator(document, "InvocationsResponse")
    assert validator.is_valid({"predictions": [1, 0]})
    assert not validator.is_valid({"predictions": ["a"]})


def test_tensor_inputs_carry_dtype_and_shape():
    document = build_openapi(TENSOR, model_name="m")
    inputs = _variant(document, "inputs")["properties"]["inputs"]
    assert inputs["type"] == "array"
    assert inputs["items"] == {"type": "array", "items": {"type": "number"},
                               "minItems": 4, "maxItems": 4}
    validator = _validator(document, "InvocationsRequest")
    assert validator.is_valid({"inputs": [[1, 2, 3, 4]]})
    assert not validator.is_valid({"inputs": [[1, 2, 3]]})


def test_the_serving_example_is_the_request_example_and_fits_the_schema():
    example = {"dataframe_split": {"columns": ["age", "city", "visits", "scores"],
                                   "data": [[31.0, "Lyon", 2, [0.5]]]}}
    document = build_openapi(COLUMNS, model_name="m", serving_example=example)
    request = document["components"]["schemas"]["InvocationsRequest"]
    assert request["example"] == example
    assert _validator(document, "InvocationsRequest").is_valid(example)


@pytest.mark.parametrize("signature", [COLUMNS, TENSOR])
def test_without_a_serving_example_one_is_built_from_the_signature(signature):
    document = build_openapi(signature, model_name="m")
    example = document["components"]["schemas"]["InvocationsRequest"]["example"]
    assert _validator(document, "InvocationsRequest").is_valid(example)
    v2_example = document["components"]["schemas"]["V2InferenceRequest"]["example"]
    assert _validator(document, "V2InferenceRequest").is_valid(v2_example)


def test_a_model_without_signature_gets_a_generic_document():
    document = build_openapi(None, model_name="m")
    assert "no signature" in document["info"]["description"]
    validator = _validator(document, "InvocationsRequest")
    assert validator.is_valid({"instances": [1, 2]})
    assert validator.is_valid({"dataframe_split": {"columns": ["a"], "data": [[1]]}})
    assert not validator.is_valid({"unknown": 1})


def test_every_endpoint_the_server_answers_is_documented():
    document = build_openapi(None, model_name="iris")
    assert set(document["paths"]) == {
        "/ping", "/health", "/version", "/invocations", "/openapi.json", "/docs",
        "/docs/{asset}", "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/iris",
        "/v2/models/iris/ready", "/v2/models/iris/infer",
    }
    invocations = document["paths"]["/invocations"]["post"]
    assert set(invocations["requestBody"]["content"]) == {
        "application/json", "text/csv", "application/vnd.apache.parquet"}
    assert set(invocations["responses"]) == {"200", "400", "413", "415"}
