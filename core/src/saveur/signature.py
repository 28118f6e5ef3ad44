"""Model signatures: :class:`ModelSignature` and :func:`infer_signature`, as MLflow 3 has them.

A signature is the data contract of a model: the schema of its inputs, of its outputs, and of
the params it accepts at inference. ``to_dict`` gives the ``signature`` block of ``MLmodel``
(each part a JSON string, byte-identical to MLflow's); inference follows MLflow's rules, but a
case MLflow would silently turn into ``AnyType`` raises :class:`SignatureError` here instead.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from saveur.errors import SignatureError
from saveur.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)

__all__ = [
    "ModelSignature",
    "infer_param_schema",
    "infer_schema",
    "infer_signature",
    "infer_signature_from_example",
    "schema_from_dataclass",
]

_MIXED_TYPES = (
    "expected all values in the list to have the same type; for a list of mixed types, "
    "declare the signature by hand with Array(AnyType())"
)


class ModelSignature:
    """Schema of a model's inputs, outputs and inference params (any may be None)."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        # A dataclass (class or instance) stands for the schema of its fields, as in MLflow.
        if inputs is not None and _is_dataclass(inputs):
            inputs = schema_from_dataclass(inputs)
        if outputs is not None and _is_dataclass(outputs):
            outputs = schema_from_dataclass(outputs)
        for what, value in (("inputs", inputs), ("outputs", outputs)):
            if value is not None and not isinstance(value, Schema):
                raise SignatureError(
                    f"{what} must be None, a saveur.types.Schema or a dataclass, "
                    f"got {type(value).__name__}"
                )
        if params is not None and not isinstance(params, ParamSchema):
            raise SignatureError(
                f"params must be None or a saveur.types.ParamSchema, got {type(params).__name__}"
            )
        if inputs is None and outputs is None and params is None:
            raise SignatureError("a signature needs at least one of inputs, outputs or params")
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """The MLmodel ``signature`` block: ``{"inputs", "outputs", "params"}`` JSON strings."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Read the MLmodel ``signature`` block (as written by saveur or MLflow)."""
        if not isinstance(signature_dict, dict):
            raise SignatureError(
                f"a signature must be a mapping, got {type(signature_dict).__name__}"
            )
        parts: dict[str, Any] = {}
        for key, parser in (
            ("inputs", Schema.from_json),
            ("outputs", Schema.from_json),
            ("params", ParamSchema.from_json),
        ):
            raw = signature_dict.get(key)
            try:
                parts[key] = parser(raw) if raw else None
            except SignatureError as exc:
                raise SignatureError(f"signature {key}: {exc}") from None
        return cls(**parts)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSignature)
            and self.inputs == other.inputs
            and self.outputs == other.outputs
            and self.params == other.params
        )

    def __repr__(self) -> str:
        return (
            f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\n"
            f"params: \n  {self.params!r}\n"
        )


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Infer a signature from example input, example output and example params.

    Accepts pandas DataFrames and Series, numpy arrays (tensors), dicts of arrays (named
    tensors), dicts and lists of dicts of JSON-like values, lists of scalars, and scalars.
    Raises SignatureError saying why when a part cannot be inferred.
    """
    inputs = _infer_part(model_input, "input") if model_input is not None else None
    outputs = _infer_part(model_output, "output") if model_output is not None else None
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(inputs, outputs, param_schema)


def infer_signature_from_example(
    model_input: Any, prediction: Any, params: dict[str, Any] | None = None
) -> ModelSignature:
    """The signature MLflow's ``save_model`` infers from an input example and its prediction.

    Unlike :func:`infer_signature`, a 1-D numpy prediction for a column-based input is one
    output column (``[{"type": "long", "required": true}]`` for a classifier), not a tensor,
    and an output that has no schema becomes ``AnyType`` with a logged warning, as in MLflow.
    The input schema and params still raise SignatureError when they cannot be inferred.
    """
    import numpy as np

    inputs = _infer_part(model_input, "input")
    param_schema = infer_param_schema(params) if params else None
    if not inputs.is_tensor_spec() and isinstance(prediction, np.ndarray) and prediction.ndim == 1:
        import pandas as pd

        prediction = pd.Series(prediction)
    try:
        outputs = infer_schema(prediction)
    except SignatureError as exc:
        import logging

        logging.getLogger(__name__).warning(
            "cannot infer the output schema from the prediction (%s); the output schema is AnyType",
            exc,
        )
        outputs = Schema([ColSpec(AnyType())])
    return ModelSignature(inputs, outputs, param_schema)


def _infer_part(data: Any, what: str) -> Schema:
    try:
        return schema_from_dataclass(data) if _is_dataclass(data) else infer_schema(data)
    except SignatureError as exc:
        raise SignatureError(
            f"cannot infer the model {what} schema from {type(data).__name__}: {exc}"
        ) from None


# --- dataclasses ---------------------------------------------------------------------------

_FIELD_TYPES: dict[Any, DataType] = {
    bool: DataType.boolean,
    int: DataType.long,  # Python ints are 64-bit in a signature
    float: DataType.float,  # MLflow maps float fields to float, not double
    str: DataType.string,
    bytes: DataType.binary,
    _dt.date: DataType.datetime,
}


def _is_dataclass(obj: Any) -> bool:
    import dataclasses

    return dataclasses.is_dataclass(obj)


def schema_from_dataclass(dataclass: Any) -> Schema:
    """A column schema from a dataclass (or instance): one column per field, as in MLflow.

    Fields may be bool, int, float, str, bytes, ``datetime.date``, nested dataclasses (an
    ``Object``), ``list[...]`` of those (an ``Array``), and ``Optional[...]`` (not required).
    """
    cls = dataclass if isinstance(dataclass, type) else type(dataclass)
    return Schema([ColSpec(t, name=name, required=req) for name, t, req in _dataclass_fields(cls)])


def _dataclass_fields(cls: type) -> list[tuple[str, Any, bool]]:
    import dataclasses
    import typing

    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # unresolvable forward references and the like
        raise SignatureError(f"cannot read the type hints of {cls.__name__}: {exc}") from None
    out = []
    for field in dataclasses.fields(cls):
        hint = hints.get(field.name, field.type)
        t, required = _field_type(hint, f"field {field.name!r} of {cls.__name__}")
        out.append((field.name, t, required))
    return out


def _field_type(hint: Any, where: str) -> tuple[Any, bool]:
    import dataclasses
    import types
    import typing

    required = True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if len(args) != 2 or type(None) not in args:
            raise SignatureError(f"{where}: only Optional[...] unions are supported, got {hint}")
        required = False
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        return Array(_field_type(item, f"{where} (list item)")[0]), required
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Object([Property(n, t, r) for n, t, r in _dataclass_fields(hint)]), required
    if hint in _FIELD_TYPES:
        return _FIELD_TYPES[hint], required
    raise SignatureError(
        f"{where}: type {hint} is not supported (use bool, int, float, str, bytes, "
        "datetime.date, a dataclass, list[...] or Optional[...])"
    )


# --- schema inference ------------------------------------------------------------------


def infer_schema(data: Any) -> Schema:
    """Infer a :class:`Schema` from one dataset, with MLflow's rules (see module doc)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, list) and not data:
        # MLflow keeps inferring an empty list as one string column.
        return Schema([ColSpec(DataType.string)])
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        columns: dict[Any, list[Any]] = {}
        for row in data:
            for k, v in row.items():
                columns.setdefault(k, []).append(v)
        return Schema(
            [
                ColSpec(
                    _array_item_type(values, f"column {name!r}"),
                    name=name,
                    required=all(row.get(name) is not None for row in data),
                )
                for name, values in columns.items()
            ]
        )
    if isinstance(data, dict):
        if not data:
            raise SignatureError("the dict is empty")
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(
                [
                    TensorSpec(_clean_tensor_type(a.dtype), _tensor_shape(a), name=name)
                    for name, a in data.items()
                ]
            )
        bad = [k for k in data if not isinstance(k, str)]
        if bad:
            raise SignatureError(f"dict keys must be strings, got {bad!r}")
        return Schema(
            [
                ColSpec(_value_type(v, f"key {k!r}"), name=k, required=_required(v))
                for k, v in data.items()
            ]
        )
    if isinstance(data, pd.Series):
        return Schema(
            [
                ColSpec(
                    _pandas_column_type(data),
                    name=_plain_name(data.name),
                    required=_required(data),
                )
            ]
        )
    if isinstance(data, pd.DataFrame):
        if len(data.columns) == 0:
            raise SignatureError("the DataFrame has no columns")
        if not data.columns.is_unique:
            dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
            raise SignatureError(f"the DataFrame has duplicated column names {dup}")
        return Schema(
            [
                ColSpec(
                    _pandas_column_type(data.iloc[:, i], name),
                    name=_plain_name(name),
                    required=_required(data.iloc[:, i]),
                )
                for i, name in enumerate(data.columns)
            ]
        )
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(_clean_tensor_type(data.dtype), _tensor_shape(data))])
    if _is_sparse(data):
        return Schema([TensorSpec(_clean_tensor_type(data.data.dtype), _tensor_shape(data))])
    if isinstance(data, list):
        return Schema([ColSpec(_array_item_type(data, "the list"))])
    if isinstance(data, (tuple, set)):
        raise SignatureError(f"a {type(data).__name__} is not a supported input: use a list")
    try:
        return Schema([ColSpec(_value_type(data, "the value"))])
    except SignatureError as exc:
        raise SignatureError(
            f"{exc}; supported are pandas DataFrame/Series, numpy arrays, dicts of numpy "
            "arrays, dicts and lists of dicts of JSON values, lists and scalars"
        ) from None


def _plain_name(name: Any) -> Any:
    # numpy integer column labels (from np arrays turned into frames) are written as ints.
    import numpy as np

    return name.item() if isinstance(name, np.generic) else name


def _is_sparse(data: Any) -> bool:
    module = type(data).__module__ or ""
    return module.startswith("scipy.sparse") and type(data).__name__ in (
        "csr_matrix",
        "csc_matrix",
        "csr_array",
        "csc_array",
    )


def _tensor_shape(data: Any) -> tuple[int, ...]:
    shape = list(data.shape)
    if not shape:
        raise SignatureError("a 0-dimensional array has no batch dimension")
    shape[0] = -1  # the first dimension is the batch, variable in size
    return tuple(shape)


def _clean_tensor_type(dtype: Any) -> Any:
    import numpy as np

    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    if dtype.kind == "O":
        raise SignatureError(
            "arrays of dtype object have no tensor type: convert to a numeric or str dtype"
        )
    return dtype


def _is_missing(x: Any) -> bool:
    import pandas as pd

    if isinstance(x, float):
        return x != x
    return x is None or x is pd.NA or x is pd.NaT


def _required(value: Any) -> bool:
    import pandas as pd

    if isinstance(value, pd.Series):
        return not bool(value.isna().any())
    if isinstance(value, list):
        return not any(_is_missing(x) for x in value)
    return not _is_missing(value)


def _numpy_dtype_type(dtype: Any, where: str) -> DataType:
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if size <= 4:
            return DataType.float
        if size <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    hint = (
        " (uint64 does not fit in long: cast to int64 or float64)" if str(dtype) == "uint64" else ""
    )
    raise SignatureError(f"{where} has unsupported dtype {str(dtype)!r}{hint}")


def _pandas_column_type(col: Any, name: Any = None) -> Any:
    where = f"column {name if name is not None else col.name!r}"
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind != "O":
        return _numpy_dtype_type(col.dtype, where)
    import pandas as pd

    # Fast paths for large frames: pandas string dtypes hold only text, and pandas' C-level
    # ``infer_dtype`` recognizes all-str or all-bytes object columns without a Python loop.
    if isinstance(col.dtype, pd.StringDtype) and col.notna().any():
        return DataType.string
    if isinstance(col.dtype, pd.CategoricalDtype):
        # The values are the categories in use: type those instead of every row.
        import numpy as np

        codes = np.unique(col.cat.codes.to_numpy())
        used = col.cat.categories.take(codes[codes >= 0])
        if len(used):
            # Python scalars, as ``to_list`` gives MLflow: int32 categories are typed long.
            return _array_item_type(used.tolist(), where)
    else:
        found = {"string": DataType.string, "bytes": DataType.binary}.get(
            pd.api.types.infer_dtype(col, skipna=True)
        )
        if found is not None:
            return found
    # object, categorical and other columns: look at the values, as MLflow does.

    try:
        return _array_item_type(col.to_list(), where)
    except SignatureError:
        if pd.api.types.is_string_dtype(col):
            return DataType.string
        raise


def _array_item_type(values: Any, where: str) -> Any:
    """The item type of a list (MLflow's ``_infer_colspec_type(values).dtype``)."""
    arr = _array_type(values, where)
    if arr is None:
        raise SignatureError(f"{where} has no non-empty value to infer a type from")
    return arr.dtype


_SCALAR_TYPES: dict[type, DataType] | None = None


def _scalar_types() -> dict[type, DataType]:
    global _SCALAR_TYPES
    if _SCALAR_TYPES is None:
        import numpy as np

        _SCALAR_TYPES = {
            bool: DataType.boolean,
            np.bool_: DataType.boolean,
            int: DataType.long,
            np.int64: DataType.long,
            np.int32: DataType.integer,
            float: DataType.double,
            np.float64: DataType.double,
            np.float32: DataType.float,
            str: DataType.string,
            np.str_: DataType.string,
            bytes: DataType.binary,
            np.bytes_: DataType.binary,
            bytearray: DataType.binary,
        }
    return _SCALAR_TYPES


def _scalar_type(value: Any, where: str) -> DataType:
    import numpy as np
    import pandas as pd

    found = _scalar_types().get(type(value))
    if found is not None:
        return found
    if isinstance(value, (_dt.date, np.datetime64, pd.Timestamp)):
        return DataType.datetime
    raise SignatureError(
        f"{where}: {type(value).__name__} value {value!r} has no signature type "
        "(supported: bool, int, float, str, bytes, datetime and their numpy types)"
    )


def _value_type(value: Any, where: str) -> Any:
    """Type of one JSON-like value: dict -> Object, list -> Array, None -> AnyType."""
    import numpy as np

    if _is_missing(value) or (isinstance(value, (list, dict)) and not value):
        return AnyType()
    if isinstance(value, dict):
        props = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise SignatureError(f"{where}: object keys must be strings, got {k!r}")
            t = _value_type(v, f"{where}[{k!r}]")
            if t is None:
                raise SignatureError(f"{where}[{k!r}] is an empty numpy array")
            props.append(Property(k, t, required=not isinstance(t, AnyType)))
        return Object(props)
    if isinstance(value, (list, np.ndarray)):
        return _array_type(value, where)
    return _scalar_type(value, where)


def _array_type(values: Any, where: str) -> Array | None:
    """Array type of a list or array; None when no item has a type (empty numpy arrays)."""
    result: Array | None = None
    for item in values:
        t = _value_type(item, where)
        if t is None:
            continue
        if result is None:
            result = Array(t)
        elif isinstance(result.dtype, DataType):
            if not isinstance(t, AnyType) and t != result.dtype:
                raise SignatureError(f"{where}: {_MIXED_TYPES} (found {result.dtype!r} and {t!r})")
        else:
            try:
                result = Array(result.dtype._merge(t))
            except SignatureError as exc:
                raise SignatureError(f"{where}: {_MIXED_TYPES} ({exc})") from None
    return result


# --- params ------------------------------------------------------------------------------


def _param_type_and_shape(value: Any, name: str) -> tuple[Any, tuple[int, ...] | None]:
    import numpy as np

    if isinstance(value, (list, np.ndarray)):
        depth = _depth(value)
        if depth != 1:
            raise SignatureError(
                f"param {name!r}: expected a scalar or a 1-D list, got a {depth}-D array"
            )
        if all(_is_datetime_value(v) for v in value):
            return DataType.datetime, (-1,)
        return _numpy_dtype_type(np.array(value).dtype, f"param {name!r}"), (-1,)
    if _is_datetime_value(value):
        return DataType.datetime, None
    if np.isscalar(value):
        return _numpy_dtype_type(np.array(value).dtype, f"param {name!r}"), None
    if isinstance(value, dict):
        t = _value_type(value, f"param {name!r}")
        if not isinstance(t, Object):
            raise SignatureError(f"param {name!r}: an empty dict has no type")
        return t, None
    raise SignatureError(
        f"param {name!r}: expected a scalar, a 1-D list or a dict, got {type(value).__name__}"
    )


def _depth(value: Any) -> int:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.ndim
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _is_datetime_value(value: Any) -> bool:
    import numpy as np

    return type(value) in (_dt.date, _dt.datetime, np.datetime64) or (
        type(value).__name__ == "Timestamp" and isinstance(value, _dt.datetime)
    )


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Infer a :class:`ParamSchema` from example params; every bad param is named."""
    import copy

    if not isinstance(params, dict):
        raise SignatureError(f"params must be a dict, got {type(params).__name__}")
    specs, problems = [], []
    for name, value in params.items():
        try:
            dtype, shape = _param_type_and_shape(value, str(name))
            specs.append(ParamSpec(str(name), dtype, copy.deepcopy(value), shape))
        except SignatureError as exc:
            problems.append(str(exc))
    if problems:
        raise SignatureError("cannot infer the params schema: " + "; ".join(problems))
    return ParamSchema(specs)


# Re-exported for convenience: code that builds signatures by hand imports from here too.
__all__ += [
    "Schema",
    "ColSpec",
    "TensorSpec",
    "ParamSchema",
    "ParamSpec",
    "DataType",
    "Array",
    "Object",
    "Property",
    "Map",
    "AnyType",
]
