"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) for a model signature's columns and tensors."""

from __future__ import annotations

from typing import Any

_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}

#: saveur column type name -> JSON schema of one value
_SCALARS: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "integer": _INT32,
    "long": _INT64,
    "float": {"type": "number"},
    "double": {"type": "number"},
    "string": {"type": "string"},
    "binary": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
}


def type_name(spec_type: Any) -> str:
    """The lower-case name of a signature type (``DataType.long`` -> ``long``)."""
    name = getattr(spec_type, "name", None)
    return str(name if isinstance(name, str) else spec_type).lower()


def value_schema(spec_type: Any) -> dict[str, Any]:
    """JSON schema of one value of a column type (scalars, Array, Object, Map, Any)."""
    kind = type(spec_type).__name__
    if kind == "Array":
        return {"type": "array", "items": value_schema(spec_type.dtype)}
    if kind == "Object":
        properties = {p.name: value_schema(p.dtype) for p in spec_type.properties}
        required = [p.name for p in spec_type.properties if getattr(p, "required", True)]
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema
    if kind == "Map":
        return {"type": "object", "additionalProperties": value_schema(spec_type.value_type)}
    if kind == "AnyType":
        return {}
    return dict(_SCALARS.get(type_name(spec_type), {}))


def column_schema(spec: Any) -> dict[str, Any]:
    """JSON schema of one cell of a column, nullable when the column is optional."""
    schema = value_schema(spec.type)
    if not getattr(spec, "required", True) and "type" in schema:
        schema = {**schema, "type": [schema["type"], "null"]}
    return schema


def dtype_schema(dtype: Any) -> dict[str, Any]:
    """JSON schema of one element of a tensor of numpy ``dtype``."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return {"type": "boolean"}
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
    if dtype.kind == "f":
        return {"type": "number"}
    if dtype.kind in "SUO":
        return {"type": "string"}
    return {}


def tensor_schema(spec: Any, *, batch: bool = True) -> dict[str, Any]:
    """JSON schema of a tensor as nested arrays: its dtype, and its shape where fixed.

    With ``batch=False`` the first dimension is dropped (one instance of the tensor).
    """
    shape = list(spec.shape)
    if not batch and shape:
        shape = shape[1:]
    schema = dtype_schema(spec.type)
    for size in reversed(shape):
        array: dict[str, Any] = {"type": "array", "items": schema}
        if size is not None and size >= 0:
            array["minItems"] = size
            array["maxItems"] = size
        schema = array
    return schema


def param_schema(spec: Any) -> dict[str, Any]:
    """JSON schema of one inference parameter, with its default."""
    schema = value_schema(spec.dtype) if not _is_dtype_name(spec.dtype) else dict(
        _SCALARS.get(type_name(spec.dtype), {})
    )
    if getattr(spec, "shape", None) is not None:
        schema = {"type": "array", "items": schema}
    default = getattr(spec, "default", None)
    if default is not None:
        schema["default"] = _jsonable(default)
    return schema


def _is_dtype_name(dtype: Any) -> bool:
    return type(dtype).__name__ not in {"Array", "Object", "Map", "AnyType"}


def _jsonable(value: Any) -> Any:
    import orjson

    try:
        return orjson.loads(orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY, default=str))
    except TypeError:
        return str(value)
