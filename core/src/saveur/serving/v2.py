"""The Open Inference Protocol (KServe v2) codec: typed tensors in, typed tensors out.

A column signature maps each column to a 1-D tensor of that name (MLServer's convention); a
tensor signature maps tensors one to one by name (or the single unnamed tensor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saveur.errors import ProtocolError
from saveur.serving import _http

#: v2 datatype -> numpy dtype name
DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}

#: saveur column type name -> v2 datatype
_COLUMN_DATATYPES = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}

#: Bounds on a tensor's declared shape: numpy allows 64 dimensions, and a huge dimension next
#: to a zero one declares an empty tensor that downstream code may still try to size.
_MAX_DIMS = 32
_MAX_DIM = 2**31 - 1

#: request-level parameters that belong to the protocol, not to the model
_RESERVED_PARAMETERS = {"content_type", "headers"}


@dataclass
class InferenceRequest:
    """A decoded v2 request: the model input, params, request id and requested outputs."""

    data: Any
    params: dict[str, Any] | None
    id: str | None
    outputs: list[str] | None


def datatype_of_dtype(dtype: Any) -> str:
    """The v2 datatype of a numpy dtype (strings and objects are ``BYTES``)."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in "iuf":
        for name, numpy_name in DATATYPES.items():
            if numpy_name == dtype.name:
                return name
    return "BYTES"


def column_datatype(spec_type: Any) -> str:
    """The v2 datatype of a column type of a signature (non-scalar types are ``BYTES``)."""
    return _COLUMN_DATATYPES.get(_type_name(spec_type), "BYTES")


def _type_name(spec_type: Any) -> str:
    name = getattr(spec_type, "name", None)
    return str(name if isinstance(name, str) else spec_type).lower()


def signature_tensors(schema: Any) -> list[dict[str, Any]]:
    """A schema's inputs or outputs as v2 tensor metadata (name, datatype, shape)."""
    if schema is None:
        return []
    tensors = []
    is_tensor = schema.is_tensor_spec()
    for index, spec in enumerate(schema.inputs):
        name = spec.name or ("input-0" if index == 0 else f"input-{index}")
        if is_tensor:
            tensors.append(
                {"name": name, "datatype": datatype_of_dtype(spec.type), "shape": list(spec.shape)}
            )
        else:
            tensors.append({"name": name, "datatype": column_datatype(spec.type), "shape": [-1]})
    return tensors


def model_metadata(scorer: Any) -> dict[str, Any]:
    """``GET /v2/models/{name}``."""
    signature = scorer.signature
    inputs = signature_tensors(signature.inputs) if signature is not None else []
    outputs = signature_tensors(signature.outputs) if signature is not None else []
    return {
        "name": scorer.name,
        "versions": [] if getattr(scorer, "model_version", None) is None else [scorer.model_version],
        "platform": "saveur",
        "inputs": inputs,
        "outputs": outputs,
    }


def decode_request(body: bytes, scorer: Any) -> InferenceRequest:
    """Decode a v2 ``infer`` body into the model input the signature expects."""
    import orjson

    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"request body is not valid JSON: {exc}", field="body") from None
    if not isinstance(payload, dict):
        raise ProtocolError("request body must be a JSON object with 'inputs'", field="body")
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError("'inputs' must be a non-empty list of tensors", field="inputs")
    tensors = [_decode_tensor(tensor, i) for i, tensor in enumerate(inputs)]
    names = [name for name, _ in tensors]
    if len(set(names)) != len(names):
        raise ProtocolError("tensor names in 'inputs' must be unique", field="inputs")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("'id' must be a string", field="id")
    outputs = _requested_outputs(payload.get("outputs"))
    signature = scorer.signature
    data = _model_input(tensors, signature)
    params = _params(payload.get("parameters"), signature)
    return InferenceRequest(data, params, request_id, outputs)


def _decode_tensor(tensor: Any, index: int) -> tuple[str, Any]:
    import numpy as np

    where = f"inputs[{index}]"
    if not isinstance(tensor, dict):
        raise ProtocolError(f"{where} must be an object with name, shape, datatype and data",
                            field=where)
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"{where}.name must be a non-empty string", field=f"{where}.name")
    where = f"input '{name}'"
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise ProtocolError(
            f"{where}: datatype must be one of {', '.join(DATATYPES)}, got {datatype!r}",
            field=f"inputs[{index}].datatype",
        )
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not 0 < len(shape) <= _MAX_DIMS
        or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= _MAX_DIM for d in shape
        )
    ):
        raise ProtocolError(
            f"{where}: shape must be a list of 1 to {_MAX_DIMS} integers from 0 to {_MAX_DIM}, "
            f"got {_http.one_line(repr(shape), 200)}",
            field=f"inputs[{index}].shape",
        )
    data = tensor.get("data")
    if not isinstance(data, list):
        raise ProtocolError(f"{where}: data must be a list", field=f"inputs[{index}].data")
    expected = 1
    for d in shape:
        expected *= d
    flat = _flatten(data, shape, where, f"inputs[{index}].data")
    if len(flat) != expected:
        raise ProtocolError(
            f"{where}: shape {shape} needs {expected} values, got {len(flat)}",
            field=f"inputs[{index}].data",
        )
    dtype = DATATYPES[datatype]
    try:
        if datatype == "BYTES":
            if not all(isinstance(v, str) for v in flat):
                raise ValueError("BYTES data must be strings")
            array = np.array(flat, dtype=object)
        elif datatype == "BOOL":
            if not all(isinstance(v, bool) for v in flat):
                raise ValueError("BOOL data must be true or false")
            array = np.array(flat, dtype=bool)
        else:
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
                raise ValueError(f"{datatype} data must be numbers")
            if datatype[0] in "IU" and not all(isinstance(v, int) for v in flat):
                raise ValueError(f"{datatype} data must be integers")
            info = np.iinfo(dtype) if datatype[0] in "IU" else None
            if info is not None and flat and not (info.min <= min(flat) and max(flat) <= info.max):
                raise ValueError(f"{datatype} data out of range [{info.min}, {info.max}]")
            with np.errstate(over="ignore", invalid="ignore"):
                array = np.array(flat, dtype=dtype)
            if datatype[0] == "F" and not np.isfinite(array).all():
                # A finite JSON number that overflowed the width is refused, as /invocations
                # does; NaN and infinities the client sent stay as they are.
                sent = np.array(flat, dtype="float64")
                if (np.isfinite(sent) & ~np.isfinite(array)).any():
                    raise ValueError(f"{datatype} data has numbers out of its range")
    except (ValueError, TypeError, OverflowError) as exc:
        raise ProtocolError(f"{where}: {exc}", field=f"inputs[{index}].data") from None
    try:
        return name, array.reshape(shape)
    except ValueError as exc:  # e.g. a dimension numpy cannot address
        raise ProtocolError(f"{where}: {exc}", field=f"inputs[{index}].shape") from None


def _flatten(data: list[Any], shape: list[int], where: str, field: str) -> list[Any]:
    """Row-major values of ``data``: flat, or nested exactly as ``shape`` says.

    v2 accepts both forms; anything in between (nested deeper or shallower than the shape,
    or ragged) is refused rather than flattened into a tensor the client did not describe.
    """
    if not any(isinstance(v, list) for v in data):
        return data
    flat: list[Any] = []
    stack: list[tuple[list[Any], int]] = [(data, 0)]
    while stack:
        values, depth = stack.pop()
        if len(values) != shape[depth]:
            raise ProtocolError(
                f"{where}: data nested as lists must follow shape {shape}: a list at depth "
                f"{depth} has {len(values)} items, the shape says {shape[depth]}",
                field=field,
            )
        if depth + 1 == len(shape):
            if any(isinstance(v, list) for v in values):
                raise ProtocolError(
                    f"{where}: data is nested deeper than shape {shape} ({len(shape)} levels)",
                    field=field,
                )
            flat.extend(values)
            continue
        for i in range(len(values) - 1, -1, -1):
            if not isinstance(values[i], list):
                raise ProtocolError(
                    f"{where}: data is nested less deeply than shape {shape}: a value where "
                    f"a list of {shape[depth + 1]} was expected at depth {depth + 1}",
                    field=field,
                )
            stack.append((values[i], depth + 1))
    return flat


def _model_input(tensors: list[tuple[str, Any]], signature: Any) -> Any:
    import pandas as pd

    schema = signature.inputs if signature is not None else None
    if schema is not None and not schema.is_tensor_spec():
        return _columns_frame(tensors, pd)
    if schema is not None and not schema.has_input_names():
        if len(tensors) != 1:
            raise ProtocolError(
                f"this model takes one unnamed tensor, got {len(tensors)} inputs", field="inputs"
            )
        return tensors[0][1]
    if schema is not None:
        return dict(tensors)
    # No signature: one tensor is passed as is; several 1-D ones make columns.
    if len(tensors) == 1:
        return tensors[0][1]
    if all(array.ndim == 1 for _, array in tensors):
        return _columns_frame(tensors, pd)
    return dict(tensors)


def _columns_frame(tensors: list[tuple[str, Any]], pd: Any) -> Any:
    columns = {}
    rows = None
    for name, array in tensors:
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ProtocolError(
                f"input '{name}': a column is a 1-D tensor (shape [n] or [n, 1]), "
                f"got shape {list(array.shape)}",
                field="inputs",
            )
        if rows is not None and len(array) != rows:
            raise ProtocolError(
                f"input '{name}' has {len(array)} rows, the other inputs have {rows}",
                field="inputs",
            )
        rows = len(array)
        columns[name] = array
    return pd.DataFrame(columns)


def _params(parameters: Any, signature: Any) -> dict[str, Any] | None:
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise ProtocolError("'parameters' must be an object", field="parameters")
    if signature is None or getattr(signature, "params", None) is None:
        return None
    params = {k: v for k, v in parameters.items() if k not in _RESERVED_PARAMETERS}
    return params or None


def _requested_outputs(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise ProtocolError("'outputs' must be a list of objects with a name", field="outputs")
    return [o["name"] for o in outputs]


def encode_response(predictions: Any, request: InferenceRequest, scorer: Any) -> dict[str, Any]:
    """Encode predictions as a v2 inference response."""
    outputs = _output_tensors(predictions, scorer.signature)
    if request.outputs is not None:
        available = {o["name"]: o for o in outputs}
        missing = [name for name in request.outputs if name not in available]
        if missing:
            raise ProtocolError(
                f"requested output(s) {', '.join(map(repr, missing))} do not exist; "
                f"this model outputs {', '.join(map(repr, available))}",
                field="outputs",
            )
        outputs = [available[name] for name in request.outputs]
    response: dict[str, Any] = {"model_name": scorer.name, "outputs": outputs}
    if getattr(scorer, "model_version", None) is not None:
        response["model_version"] = scorer.model_version
    if request.id is not None:
        response["id"] = request.id
    return response


def _output_tensors(predictions: Any, signature: Any) -> list[dict[str, Any]]:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return [_tensor(str(name), predictions[name].to_numpy()) for name in predictions.columns]
    if isinstance(predictions, dict):
        return [_tensor(str(name), np.asarray(value)) for name, value in predictions.items()]
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    array = np.asarray(predictions)
    name = "predictions"
    outputs = signature.outputs if signature is not None else None
    if outputs is not None and len(outputs.inputs) == 1 and outputs.inputs[0].name:
        name = outputs.inputs[0].name
    return [_tensor(name, array)]


def _tensor(name: str, array: Any) -> dict[str, Any]:
    import numpy as np

    if array.ndim == 0:
        array = array.reshape(1)
    datatype = datatype_of_dtype(array.dtype)
    data: list[Any]
    if datatype == "BYTES":
        data = [v if isinstance(v, str) else str(v) for v in array.reshape(-1).tolist()]
    elif array.dtype.kind == "f":
        # NaN and infinities have no JSON form: they become null.
        flat = array.reshape(-1)
        data = [None if not np.isfinite(v) else v for v in flat.tolist()]
    else:
        data = array.reshape(-1).tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}
