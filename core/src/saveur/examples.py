"""Input examples: ``input_example.json`` and ``serving_input_example.json``, as MLflow 3 writes them.

An example is a DataFrame (saved in pandas ``split`` orient), a numpy array or a dict of
arrays (nested lists), a JSON-like dict, list or scalar, a scipy CSR/CSC matrix, or a
``(data, params)`` tuple. Bytes are written as base64 (``base64.encodebytes``, as MLflow),
datetimes as ISO strings. The serving example is the request body the scoring server accepts
(``{"dataframe_split": ...}`` or ``{"inputs": ...}``, with ``"params"`` alongside).
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import json
import os
from typing import Any

from saveur.errors import SaveurError, SignatureError
from saveur.security import contained_path

__all__ = [
    "EXAMPLE_FILENAME",
    "SERVING_INPUT_FILENAME",
    "InputExampleError",
    "build_input_example",
    "read_input_example",
    "read_input_example_params",
    "read_serving_input_example",
    "split_example_params",
    "write_input_example",
]

EXAMPLE_FILENAME = "input_example.json"
SERVING_INPUT_FILENAME = "serving_input_example.json"
_EXAMPLE_TYPES = ("dataframe", "ndarray", "sparse_matrix_csc", "sparse_matrix_csr", "json_object")
# Keys that make a dict an LLM-style request, served as the body itself (MLflow's rule).
_LLM_KEYS = ("messages", "prompt", "input")


class InputExampleError(SignatureError):
    """An input example cannot be saved or read back."""


class _Encoder(json.JSONEncoder):
    """MLflow's ``NumpyEncoder``: numpy scalars/arrays, bytes as base64, dates as ISO."""

    def default(self, o: Any) -> Any:
        import numpy as np
        import pandas as pd

        if isinstance(o, np.ndarray):
            if o.dtype == object:
                return [self._convert(x) for x in o.tolist()]
            if o.dtype.kind == "S":
                return [_b64(x) for x in o.tolist()]
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, (bytes, bytearray)):
            return _b64(o)
        if isinstance(o, np.datetime64):
            return np.datetime_as_string(o)
        if isinstance(o, (pd.Timestamp, _dt.date, _dt.datetime, _dt.time)):
            return o.isoformat()
        if _is_pydantic(o):
            return o.model_dump()
        return super().default(o)

    def _convert(self, o: Any) -> Any:
        try:
            return self.default(o)
        except TypeError:
            return o


def _is_pydantic(obj: Any) -> bool:
    # Checked by class name so that pydantic is never imported for it.
    return any(
        c.__name__ == "BaseModel" and c.__module__.startswith("pydantic") for c in type(obj).__mro__
    )


def _b64(data: bytes | bytearray) -> str:
    return base64.encodebytes(bytes(data)).decode("ascii")


def split_example_params(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """Split a ``(data, params)`` tuple as MLflow does; other examples have no params."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0], example[1]
    return example, None


def _ndarray_to_json(a: Any) -> Any:
    import numpy as np

    # NaN becomes null in numeric arrays (MLflow's rule; DataFrames keep NaN).
    if np.issubdtype(a.dtype, np.number):
        return np.where(np.isnan(a), None, a).tolist()  # type: ignore[attr-defined]
    return a.tolist()


def _dataframe_to_split(df: Any) -> dict[str, Any]:
    result = df.where(df.notnull(), None).to_dict(orient="split")
    del result["index"]
    if all(c == i for i, c in enumerate(df.columns)):
        del result["columns"]  # a default integer column index is not written
    return result


def _contains_ndarray(data: Any) -> bool:
    import numpy as np

    if isinstance(data, np.ndarray):
        return True
    if isinstance(data, list):
        return any(_contains_ndarray(x) for x in data)
    if isinstance(data, dict):
        return any(_contains_ndarray(x) for x in data.values())
    return False


def _is_sparse(data: Any) -> bool:
    module = type(data).__module__ or ""
    return module.startswith("scipy.sparse") and type(data).__name__ in ("csr_matrix", "csc_matrix")


def build_input_example(example: Any) -> tuple[dict[str, Any], str, str | None]:
    """Encode an example: returns (info, input_example.json text, serving example text|None).

    Nothing is written; :func:`write_input_example` writes the two texts.
    """
    import numpy as np
    import pandas as pd

    data, params = split_example_params(example)
    if params is not None:
        from saveur.signature import infer_param_schema

        try:
            infer_param_schema(params)
        except SignatureError as exc:
            raise InputExampleError(f"input example params: {exc}") from None
    data = copy.deepcopy(data)
    if _is_pydantic(data):
        data = data.model_dump()
    info: dict[str, Any] = {"artifact_path": EXAMPLE_FILENAME}
    if params:
        info["params"] = "true"
    llm_request = False
    serving: Any
    if isinstance(data, dict):
        if any(isinstance(v, np.ndarray) for v in data.values()):
            if not all(isinstance(v, np.ndarray) for v in data.values()):
                bad = sorted(str(k) for k, v in data.items() if not isinstance(v, np.ndarray))
                raise InputExampleError(
                    "input example dict mixes numpy arrays with other values "
                    f"(keys {bad}): use arrays for every key or for none"
                )
            info["type"] = "ndarray"
            data = {k: _ndarray_to_json(v) for k, v in data.items()}
            serving = {"inputs": data}
        else:
            info["type"] = "json_object"
            llm_request = any(k in data for k in _LLM_KEYS)
            serving = data if llm_request else {"inputs": data}
    elif isinstance(data, np.ndarray):
        data = _ndarray_to_json(data)
        info["type"] = "ndarray"
        serving = {"inputs": data}
    elif isinstance(data, list):
        if _contains_ndarray(data):
            raise InputExampleError(
                "input example list contains numpy arrays: pass one array or a dict of arrays"
            )
        info["type"] = "json_object"
        serving = {"inputs": data}
    elif _is_sparse(data):
        info["type"] = (
            "sparse_matrix_csc" if type(data).__name__ == "csc_matrix" else ("sparse_matrix_csr")
        )
        serving = {"inputs": data.toarray()}
        data = {
            "data": _ndarray_to_json(data.data),
            "indices": data.indices.tolist(),
            "indptr": data.indptr.tolist(),
            "shape": list(data.shape),
        }
    elif isinstance(data, pd.DataFrame):
        data = _dataframe_to_split(data)
        serving = {"dataframe_split": data}
        info["type"] = "dataframe"
        info["pandas_orient"] = "split" if "columns" in data else "values"
    elif np.isscalar(data) or isinstance(data, _dt.datetime):
        info["type"] = "json_object"
        serving = {"inputs": data}
    else:
        raise InputExampleError(
            f"input example of type {type(data).__name__} is not supported: use a pandas "
            "DataFrame, a numpy array, a dict of numpy arrays, a scipy CSR/CSC matrix, a dict, "
            "a list, a scalar or a datetime, optionally as a (data, params) tuple"
        )
    if params is not None:
        data = {"inputs": data, "params": params}
        serving = {**serving, **params} if llm_request else {**serving, "params": params}
    try:
        example_json = json.dumps(data, cls=_Encoder)
        serving_json = json.dumps(serving, cls=_Encoder, indent=2)
    except (TypeError, ValueError) as exc:
        raise InputExampleError(f"input example is not JSON-serializable: {exc}") from None
    info["serving_input_path"] = SERVING_INPUT_FILENAME
    return info, example_json, serving_json


def write_input_example(model_dir: str | os.PathLike[str], example: Any) -> dict[str, Any]:
    """Write ``input_example.json`` and ``serving_input_example.json`` into ``model_dir``.

    Returns the ``saved_input_example_info`` block for MLmodel (MLflow's keys and order).
    """
    info, example_json, serving_json = build_input_example(example)
    with open(contained_path(model_dir, info["artifact_path"]), "w", encoding="utf-8") as f:
        f.write(example_json)
    if serving_json is not None:
        path = contained_path(model_dir, info["serving_input_path"])
        with open(path, "w", encoding="utf-8") as f:
            f.write(serving_json)
    return info


#: The largest input example file read back (the input example and the serving input example
#: alike): a model directory is untrusted, and an example is read whole, parsed, and embedded in
#: the server's OpenAPI file. Real examples are a few rows; MLflow writes them the same way.
MAX_EXAMPLE_BYTES = 64 << 20


def _read_capped(f: Any, name: str, what: str) -> bytes:
    data: bytes = f.read(MAX_EXAMPLE_BYTES + 1)
    if len(data) > MAX_EXAMPLE_BYTES:
        raise InputExampleError(
            f"{what} {name!r} is over the {MAX_EXAMPLE_BYTES} byte limit for example files; "
            "refused (save a few rows as the example)"
        )
    return data


def _load_example_json(model_dir: str | os.PathLike[str], info: dict[str, Any]) -> Any:
    if not isinstance(info, dict) or "artifact_path" not in info or "type" not in info:
        raise InputExampleError(
            "saved_input_example_info needs 'artifact_path' and 'type' keys, got "
            f"{sorted(info) if isinstance(info, dict) else type(info).__name__}"
        )
    if info["type"] not in _EXAMPLE_TYPES:
        raise InputExampleError(
            f"input example type {info['type']!r} is not one of {list(_EXAMPLE_TYPES)}"
        )
    path = contained_path(model_dir, str(info["artifact_path"]), what="input example path")
    from saveur.security import open_regular

    try:
        with open_regular(path, "input example file") as f:
            data = _read_capped(f, str(info["artifact_path"]), "input example file")
        return json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise InputExampleError(
            f"input example file {info['artifact_path']!r} is missing"
        ) from None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise InputExampleError(
            f"input example file is not valid JSON: {str(exc) or type(exc).__name__} "
            f"(in {info['artifact_path']!r})"
        ) from None
    except OSError as exc:  # a directory, a FIFO, unreadable...
        raise InputExampleError(
            f"input example file {info['artifact_path']!r} cannot be read: {exc.strerror}"
        ) from None


def read_input_example(
    model_dir: str | os.PathLike[str], info: dict[str, Any] | None, schema: Any = None
) -> Any:
    """Read the saved example back as its kind: DataFrame, ndarray, dict of ndarrays, JSON value.

    With the model's input ``schema`` (a :class:`saveur.types.Schema`), tensors get their
    dtype and DataFrame columns their type back (base64 -> bytes, ISO strings -> datetimes).
    Returns None when ``info`` is None. Params of a ``(data, params)`` example are left out:
    see :func:`read_input_example_params`.
    """
    if info is None:
        return None
    raw = _load_example_json(model_dir, info)
    if info.get("params"):
        if not isinstance(raw, dict) or "inputs" not in raw:
            raise InputExampleError("input example with params must have an 'inputs' key")
        raw = raw["inputs"]
    kind = info["type"]
    if kind == "json_object":
        return raw
    try:
        if kind == "ndarray":
            return _read_ndarray(raw, schema)
        if kind == "dataframe":
            return _read_dataframe(raw, schema)
        return _read_sparse(raw, kind)
    except SaveurError:
        raise
    except Exception as exc:  # the file's content does not have the shape its type says
        raise InputExampleError(
            f"input example file {info['artifact_path']!r} does not hold a valid {kind} "
            f"example: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        ) from None


def read_input_example_params(
    model_dir: str | os.PathLike[str], info: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The params of a ``(data, params)`` example, or None."""
    if not info or not info.get("params"):
        return None
    raw = _load_example_json(model_dir, info)
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
        raise InputExampleError("input example with params must have a 'params' object")
    return raw["params"]


def read_serving_input_example(
    model_dir: str | os.PathLike[str], info: dict[str, Any] | None = None
) -> str | None:
    """The text of the serving input example, or None when the model has none."""
    name = SERVING_INPUT_FILENAME
    if info is not None:
        if not info.get("serving_input_path"):
            return None
        name = str(info["serving_input_path"])
    path = contained_path(model_dir, name, what="serving input example path")
    from saveur.security import open_regular

    try:
        with open_regular(path, "serving input example") as f:
            data = _read_capped(f, name, "serving input example")
        return data.decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputExampleError(
            f"serving input example {name!r} cannot be read: "
            f"{getattr(exc, 'strerror', None) or getattr(exc, 'reason', None) or exc}"
        ) from None


def _read_ndarray(raw: Any, schema: Any) -> Any:
    import numpy as np

    specs = schema.input_dict() if schema is not None and schema.has_input_names() else {}

    def to_array(value: Any, spec: Any) -> Any:
        try:
            if spec is not None and spec.__class__.__name__ == "TensorSpec":
                return np.array(value, dtype=spec.type)
            if spec is not None and hasattr(spec.type, "to_numpy"):
                return np.array(value, dtype=spec.type.to_numpy())
            return np.array(value)
        except (TypeError, ValueError) as exc:
            raise InputExampleError(f"input example does not fit {spec!r}: {exc}") from None

    if isinstance(raw, dict):
        return {k: to_array(v, specs.get(k)) for k, v in raw.items()}
    spec = schema.inputs[0] if schema is not None and not schema.has_input_names() else None
    return to_array(raw, spec)


def _read_dataframe(raw: Any, schema: Any) -> Any:
    import pandas as pd

    if not isinstance(raw, dict) or "data" not in raw:
        raise InputExampleError("a DataFrame input example must be an object with 'data'")
    try:
        df = pd.DataFrame(data=raw["data"], columns=raw.get("columns"), index=raw.get("index"))
    except (TypeError, ValueError) as exc:
        raise InputExampleError(f"DataFrame input example is malformed: {exc}") from None
    if schema is None or schema.is_tensor_spec():
        return df
    from saveur.types import DataType

    names = schema.input_names()
    for col_name, col_type in zip(names, schema.input_types(), strict=True):
        if col_name not in df.columns or not isinstance(col_type, DataType):
            continue
        col = df[col_name]
        try:
            if col_type is DataType.binary:
                df[col_name] = col.map(
                    lambda x: base64.decodebytes(x.encode("ascii")) if isinstance(x, str) else x
                )
            elif col_type is DataType.datetime:
                parsed = pd.to_datetime(col, format="ISO8601")
                # pandas 3 parses to microseconds; DataType.datetime is nanoseconds (as MLflow).
                if (
                    pd.api.types.is_datetime64_any_dtype(parsed)
                    and getattr(parsed.dt, "unit", "ns") != "ns"
                ):
                    parsed = parsed.dt.as_unit("ns")
                df[col_name] = parsed
            elif col_type is DataType.string:
                continue
            elif not col.isna().any():
                df[col_name] = col.astype(col_type.to_pandas())
            elif col_type.name in _NULLABLE:
                # Missing values in an integer or boolean column: pandas' nullable dtype.
                df[col_name] = col.astype(_NULLABLE[col_type.name])
        except (TypeError, ValueError) as exc:
            raise InputExampleError(
                f"input example column {col_name!r} does not fit {col_type.name}: {exc}"
            ) from None
    return df


_NULLABLE = {"integer": "Int32", "long": "Int64", "boolean": "boolean"}


def _read_sparse(raw: Any, kind: str) -> Any:
    try:
        from scipy.sparse import csc_matrix, csr_matrix
    except ImportError:
        raise InputExampleError(
            "reading a sparse input example needs scipy: pip install scipy"
        ) from None
    cls = csc_matrix if kind == "sparse_matrix_csc" else csr_matrix
    try:
        return cls((raw["data"], raw["indices"], raw["indptr"]), shape=tuple(raw["shape"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputExampleError(f"sparse input example is malformed: {exc}") from None
