"""The server's OpenAPI 3.1 document, generated from the model's signature.

Every endpoint the server answers is documented; the ``/invocations`` request body names each
column (JSON type, required or not) or tensor (dtype, shape), the params with their types and
defaults; the response schema comes from the output signature; the request example is the
model's serving input example. A model without a signature gets a generic, valid document.
"""

from __future__ import annotations

from typing import Any

from saveur.serving import jsonschema as js

_ERROR = {
    "type": "object",
    "description": "MLflow's scoring-server error shape.",
    "properties": {
        "error_code": {"type": "string", "examples": ["BAD_REQUEST"]},
        "message": {"type": "string"},
        "stack_trace": {"type": "string", "description": "only with --debug"},
    },
    "required": ["error_code", "message"],
}
_V2_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_DATATYPES = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
]
_SAMPLES: dict[str, Any] = {
    "boolean": True,
    "integer": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "string": "text",
    "binary": "",
    "datetime": "2024-01-01T00:00:00",
}


def build_openapi(
    signature: Any,
    *,
    model_name: str,
    serving_example: Any = None,
    version: str = "0",
    docs_assets: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of a server for a model with ``signature`` (or None)."""
    if docs_assets is None:
        from saveur.serving.swagger import ASSETS

        docs_assets = tuple(ASSETS)
    inputs = getattr(signature, "inputs", None) if signature is not None else None
    outputs = getattr(signature, "outputs", None) if signature is not None else None
    params = getattr(signature, "params", None) if signature is not None else None
    request = _invocations_request(inputs, params)
    example = serving_example if serving_example is not None else _example(inputs, params)
    if example is not None:
        request["example"] = example
    components = {
        "schemas": {
            "ErrorResponse": _ERROR,
            "V2Error": _V2_ERROR,
            "InvocationsRequest": request,
            "InvocationsResponse": {
                "type": "object",
                "properties": {"predictions": _predictions_schema(outputs)},
                "required": ["predictions"],
            },
            "V2Tensor": _v2_tensor(),
            "V2InferenceRequest": _v2_request(inputs),
            "V2InferenceResponse": _v2_response(),
            "V2TensorMetadata": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "datatype": {"type": "string", "enum": _DATATYPES},
                    "shape": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["name", "datatype", "shape"],
            },
        }
    }
    v2 = f"/v2/models/{model_name}"
    paths: dict[str, Any] = {
        "/ping": _text_get("Health check (MLflow)", "ping", "Answers 200 once the model is loaded."),
        "/health": _text_get("Health check (MLflow)", "health", "Same as /ping."),
        "/version": _text_get("Server version", "version", "The saveur version, as plain text."),
        "/invocations": {"post": _invocations_operation()},
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["meta"],
                "responses": {
                    "200": {"description": "OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}}}
                },
            }
        },
        "/docs": {
            "get": {
                "summary": "Swagger UI for this document",
                "operationId": "docs",
                "tags": ["meta"],
                "responses": {
                    "200": {"description": "HTML page",
                            "content": {"text/html": {"schema": {"type": "string"}}}}
                },
            }
        },
        "/docs/{asset}": {
            "get": {
                "summary": "Swagger UI static files (served from the installed package)",
                "operationId": "docsAsset",
                "tags": ["meta"],
                "parameters": [
                    {
                        "name": "asset",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": sorted(docs_assets)},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "file",
                        "content": {
                            "text/css": {"schema": {"type": "string"}},
                            "text/javascript": {"schema": {"type": "string"}},
                            "image/png": {"schema": {"type": "string"}},
                        },
                    },
                    "404": _error_response("no such file", "ErrorResponse"),
                },
            }
        },
        "/v2/health/live": _json_get("Liveness (Open Inference Protocol)", "v2HealthLive", {
            "type": "object", "properties": {"live": {"type": "boolean"}}, "required": ["live"]}),
        "/v2/health/ready": _json_get("Readiness (Open Inference Protocol)", "v2HealthReady", {
            "type": "object", "properties": {"ready": {"type": "boolean"}},
            "required": ["ready"]}),
        "/v2": _json_get("Server metadata (Open Inference Protocol)", "v2Server", {
            "type": "object",
            "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                           "extensions": {"type": "array", "items": {"type": "string"}}},
            "required": ["name", "version", "extensions"]}),
        v2: _json_get("Model metadata (Open Inference Protocol)", "v2Model", {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "string"}},
                "platform": {"type": "string"},
                "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2TensorMetadata"}},
                "outputs": {"type": "array",
                            "items": {"$ref": "#/components/schemas/V2TensorMetadata"}},
            },
            "required": ["name", "platform", "inputs", "outputs"]}),
        v2 + "/ready": _json_get("Model readiness (Open Inference Protocol)", "v2ModelReady", {
            "type": "object",
            "properties": {"name": {"type": "string"}, "ready": {"type": "boolean"}},
            "required": ["name", "ready"]}),
        v2 + "/infer": {"post": _v2_infer_operation()},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"saveur scoring server: {model_name}",
            "version": version,
            "description": _description(signature),
        },
        "paths": paths,
        "components": components,
    }


# --- /invocations ----------------------------------------------------------------------


def _invocations_operation() -> dict[str, Any]:
    return {
        "summary": "Score data (MLflow scoring protocol)",
        "operationId": "invocations",
        "tags": ["scoring"],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/InvocationsRequest"},
                },
                "text/csv": {
                    "schema": {"type": "string",
                               "description": "CSV with a header row naming the columns"},
                },
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "contentMediaType":
                               "application/vnd.apache.parquet"},
                },
            },
        },
        "responses": {
            "200": {
                "description": "Predictions, one per input row",
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/InvocationsResponse"}}},
            },
            "400": _error_response(
                "Malformed payload, input that does not fit the signature, or an exception "
                "raised by the model", "ErrorResponse"),
            "413": _error_response("Body larger than --max-body-mb", "ErrorResponse"),
            "415": _error_response("Unsupported content type", "ErrorResponse"),
        },
    }


def _invocations_request(inputs: Any, params: Any) -> dict[str, Any]:
    """``oneOf`` the four JSON forms, each with optional ``params``."""
    params_schema = _params_schema(params)
    forms = _input_forms(inputs)
    variants = []
    for key, schema in forms.items():
        variants.append({
            "type": "object",
            "title": key,
            "properties": {key: schema, "params": params_schema},
            "required": [key],
            "additionalProperties": False,
        })
    return {"oneOf": variants}


def _input_forms(inputs: Any) -> dict[str, Any]:
    if inputs is None:
        return _generic_forms()
    if inputs.is_tensor_spec():
        return _tensor_forms(inputs)
    if not inputs.has_input_names():
        return _unnamed_column_forms(inputs)
    return _column_forms(inputs)


def _column_forms(inputs: Any) -> dict[str, Any]:
    specs = list(inputs.inputs)
    names = [spec.name for spec in specs]
    cells = {spec.name: js.column_schema(spec) for spec in specs}
    required = [spec.name for spec in specs if getattr(spec, "required", True)]
    record: dict[str, Any] = {"type": "object", "properties": cells}
    if required:
        record["required"] = required
    records = {"type": "array", "items": record, "minItems": 1}
    split = {
        "type": "object",
        "description": "pandas 'split' orient: rows in the order of 'columns'",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string", "enum": names},
                        "uniqueItems": True},
            "data": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [cells[n] for n in names],
                          "maxItems": len(names)},
            },
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
    }
    columnar = {
        "type": "object",
        "description": "one list of values per column",
        "properties": {name: {"type": "array", "items": cells[name]} for name in names},
    }
    if required:
        columnar["required"] = required
    return {
        "dataframe_split": split,
        "dataframe_records": records,
        "instances": records,
        "inputs": {"oneOf": [records, columnar]},
    }


def _unnamed_column_forms(inputs: Any) -> dict[str, Any]:
    cells = [js.column_schema(spec) for spec in inputs.inputs]
    row = {"type": "array", "prefixItems": cells, "maxItems": len(cells)}
    rows = {"type": "array", "items": row}
    split = {"type": "object", "properties": {"data": rows}, "required": ["data"]}
    return {"dataframe_split": split, "instances": rows, "inputs": rows}


def _tensor_forms(inputs: Any) -> dict[str, Any]:
    specs = list(inputs.inputs)
    if not inputs.has_input_names():
        tensor = js.tensor_schema(specs[0])
        return {"instances": tensor, "inputs": tensor}
    whole = {
        "type": "object",
        "properties": {spec.name: js.tensor_schema(spec) for spec in specs},
        "required": [spec.name for spec in specs],
    }
    one = {
        "type": "object",
        "properties": {spec.name: js.tensor_schema(spec, batch=False) for spec in specs},
        "required": [spec.name for spec in specs],
    }
    return {"instances": {"type": "array", "items": one}, "inputs": whole}


def _generic_forms() -> dict[str, Any]:
    return {
        "dataframe_split": {
            "type": "object",
            "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                           "data": {"type": "array", "items": {"type": "array"}},
                           "index": {"type": "array"}},
            "required": ["data"],
        },
        "dataframe_records": {"type": "array", "items": {"type": "object"}},
        "instances": {"type": "array"},
        "inputs": {"type": ["array", "object"]},
    }


def _params_schema(params: Any) -> dict[str, Any]:
    if params is None or not list(getattr(params, "params", []) or []):
        return {"type": "object", "description": "inference parameters (this model has none)"}
    properties = {spec.name: js.param_schema(spec) for spec in params.params}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _predictions_schema(outputs: Any) -> dict[str, Any]:
    if outputs is None:
        return {"description": "the model's output (no output signature)"}
    specs = list(outputs.inputs)
    if outputs.is_tensor_spec():
        if len(specs) == 1:
            return _nullable_numbers(js.tensor_schema(specs[0]))
        return {
            "type": "object",
            "properties": {s.name: _nullable_numbers(js.tensor_schema(s)) for s in specs},
        }
    cells = {str(s.name): _nullable_numbers(js.column_schema(s)) for s in specs}
    if len(specs) == 1:
        cell = next(iter(cells.values()))
        alternatives: list[dict[str, Any]] = [{"type": "array", "items": cell}]
        if specs[0].name:
            alternatives.append({"type": "array", "items": {
                "type": "object", "properties": {str(specs[0].name): cell}}})
        return {"anyOf": alternatives} if len(alternatives) > 1 else alternatives[0]
    return {"type": "array", "items": {"type": "object", "properties": cells}}


def _nullable_numbers(schema: dict[str, Any]) -> dict[str, Any]:
    """NaN predictions are written as null: let floating-point outputs be null.

    Integer bounds are dropped too: they guard requests, and in an output they only make
    Swagger UI show -9223372036854775808 as the example prediction.
    """
    if schema.get("type") == "integer":
        return {"type": "integer"}
    if schema.get("type") == "number":
        return {**schema, "type": ["number", "null"]}
    if schema.get("type") == "array" and "items" in schema:
        return {**schema, "items": _nullable_numbers(schema["items"])}
    return schema


# --- examples ----------------------------------------------------------------------------


def _sample(spec_type: Any) -> Any:
    kind = type(spec_type).__name__
    if kind == "Array":
        return [_sample(spec_type.dtype)]
    if kind == "Object":
        return {p.name: _sample(p.dtype) for p in spec_type.properties}
    if kind == "Map":
        return {"key": _sample(spec_type.value_type)}
    return _SAMPLES.get(js.type_name(spec_type))


def _tensor_sample(spec: Any) -> Any:
    import numpy as np

    element = False if np.dtype(spec.type).kind == "b" else (
        "text" if np.dtype(spec.type).kind in "SUO" else 0)
    sizes = [size if size is not None and size > 0 else 1 for size in spec.shape]
    count = 1
    for size in sizes:
        count *= size
    if count > _MAX_EXAMPLE_VALUES:
        return []  # never materialize a huge declared shape into the document
    value: Any = element
    for size in reversed(sizes):
        value = [value] * size
    return value


def _example(inputs: Any, params: Any) -> dict[str, Any] | None:
    """A one-row request built from the signature, when the model has no serving example."""
    if inputs is None:
        return None
    specs = list(inputs.inputs)
    example: dict[str, Any]
    if inputs.is_tensor_spec():
        if not inputs.has_input_names():
            example = {"inputs": _tensor_sample(specs[0])}
        else:
            example = {"inputs": {s.name: _tensor_sample(s) for s in specs}}
    elif inputs.has_input_names():
        example = {"dataframe_split": {"columns": [s.name for s in specs],
                                       "data": [[_sample(s.type) for s in specs]]}}
    else:
        example = {"dataframe_split": {"data": [[_sample(s.type) for s in specs]]}}
    return example


#: Beyond this many values a tensor example is left empty rather than materialized.
_MAX_EXAMPLE_VALUES = 10_000


def _v2_example(inputs: Any) -> dict[str, Any] | None:
    if inputs is None:
        return None
    from saveur.serving.v2 import column_datatype, datatype_of_dtype

    tensors = []
    for index, spec in enumerate(inputs.inputs):
        name = spec.name or f"input-{index}"
        if inputs.is_tensor_spec():
            shape = [d if d is not None and d > 0 else 1 for d in spec.shape]
            count = 1
            for d in shape:
                count *= d
            if count > _MAX_EXAMPLE_VALUES:
                # A huge declared shape must not make the document itself huge: the example
                # then shows one element per dimension (still a valid request shape for -1
                # dimensions; a fixed large shape gets no example values at all).
                tensors.append({"name": name, "shape": shape,
                                "datatype": datatype_of_dtype(spec.type), "data": []})
                continue
            datatype = datatype_of_dtype(spec.type)
            value: Any = False if datatype == "BOOL" else ("text" if datatype == "BYTES" else 0)
            tensors.append({"name": name, "shape": shape, "datatype": datatype,
                            "data": [value] * count})
        else:
            datatype = column_datatype(spec.type)
            sample = _sample(spec.type)
            if datatype == "BYTES" and not isinstance(sample, str):
                sample = "text"
            tensors.append({"name": name, "shape": [1], "datatype": datatype, "data": [sample]})
    return {"inputs": tensors}


# --- Open Inference Protocol ------------------------------------------------------------


def _v2_tensor() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": _DATATYPES},
            "data": {"type": "array"},
            "parameters": {"type": "object"},
        },
        "required": ["name", "shape", "datatype", "data"],
    }


def _v2_request(inputs: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"},
                       "minItems": 1},
            "outputs": {"type": "array", "items": {
                "type": "object", "properties": {"name": {"type": "string"}},
                "required": ["name"]}},
        },
        "required": ["inputs"],
    }
    example = _v2_example(inputs)
    if example is not None:
        schema["example"] = example
    return schema


def _v2_response() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}},
        },
        "required": ["model_name", "outputs"],
    }


def _v2_infer_operation() -> dict[str, Any]:
    return {
        "summary": "Score typed tensors (Open Inference Protocol v2)",
        "operationId": "v2Infer",
        "tags": ["open inference protocol"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/V2InferenceRequest"}}},
        },
        "responses": {
            "200": {"description": "Output tensors",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/V2InferenceResponse"}}}},
            "400": _error_response("Malformed request or model failure", "V2Error"),
            "413": _error_response("Body larger than --max-body-mb", "V2Error"),
        },
    }


# --- helpers -------------------------------------------------------------------------------


def _error_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _text_get(summary: str, operation_id: str, description: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "description": description,
            "operationId": operation_id,
            "tags": ["health"],
            "responses": {"200": {"description": "OK",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }
    }


def _json_get(summary: str, operation_id: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "tags": ["open inference protocol"],
            "responses": {"200": {"description": "OK",
                                  "content": {"application/json": {"schema": schema}}}},
        }
    }


def _description(signature: Any) -> str:
    if signature is None:
        return ("This model has no signature: inputs are passed to the model as parsed, and "
                "the request and response schemas are generic.")
    return ("Request and response schemas are generated from the model's signature. "
            "Clients of `mlflow models serve` work unchanged against /invocations.")
