"""Turning pyfunc inputs into onnxruntime feeds, outputs into answers, and the graph into a
signature.

Inputs: a dict of named arrays; a single ndarray (or nested lists) for a single-input graph;
a DataFrame whose columns map to inputs by name, or whose columns are stacked into the single
input. dtypes become what the graph declares when no value changes (see :func:`cast`).
Outputs: a dict of named arrays; for a DataFrame input, a DataFrame with one column per output
when every output has one value per row (MLflow's rule), else the dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from saveur.errors import SchemaError

if TYPE_CHECKING:
    import numpy as np
    import onnx

#: onnxruntime's type strings for plain tensors, and the numpy dtype each one takes.
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class GraphInput:
    """One input of the session: name, numpy dtype (None if not a plain tensor) and rank."""

    __slots__ = ("dtype", "name", "rank", "type")

    def __init__(self, name: str, type_: str, shape: Any) -> None:
        import numpy as np

        self.name = name
        self.type = type_
        dtype = _ORT_DTYPES.get(type_)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.rank = len(shape) if isinstance(shape, (list, tuple)) else None


def graph_inputs(session: Any) -> list[GraphInput]:
    """The session's inputs, in graph order."""
    return [GraphInput(i.name, i.type, i.shape) for i in session.get_inputs()]


def cast(arr: np.ndarray, spec: GraphInput) -> np.ndarray:
    """Convert ``arr`` to the input's dtype when every value survives, else refuse.

    Casts made: numpy's "safe" ones (int32 -> int64, float32 -> float64, ...) except from
    booleans; integers into
    a narrower integer or into a float when every value of this array is kept exactly; str
    arrays into string tensors; and float64 -> float32, the one lossy cast, because MLflow's
    ONNX flavor makes it (JSON numbers arrive as float64) and models must predict the same.
    """
    import numpy as np

    expected = spec.dtype
    if expected is None or arr.dtype == expected:
        return arr
    actual = arr.dtype
    if expected == np.dtype(object):
        if actual.kind in "US":
            return arr.astype(object)
        if actual == np.dtype(object) and all(isinstance(v, str) for v in arr.flat):
            return arr
    elif actual.kind not in "Ob" and np.can_cast(actual, expected, casting="safe"):
        # (booleans are not numbers here, as in the host's signature enforcement)
        return arr.astype(expected)
    elif actual == np.dtype("float64") and expected == np.dtype("float32"):
        return arr.astype(np.float32)
    elif actual.kind in "iu" and expected.kind in "iuf":
        converted = arr.astype(expected)
        if np.array_equal(converted.astype(actual), arr):
            return converted
        raise SchemaError(
            f"input {spec.name!r} expects {expected} ({spec.type}); the {actual} values given "
            f"do not all fit in {expected}, so they are refused rather than changed"
        )
    raise SchemaError(
        f"input {spec.name!r} expects {expected} ({spec.type}), got {actual}: converting would "
        f"change values; pass {expected} data"
    )


def _column_tensor(series: Any, spec: GraphInput) -> np.ndarray:
    """One DataFrame column as the input's tensor: scalars, or one array per row stacked."""
    import numpy as np

    values = series.to_numpy()
    if (
        len(values)
        and values.dtype == np.dtype(object)
        and isinstance(values[0], (list, tuple, np.ndarray))
    ):
        try:
            values = np.stack([np.asarray(v) for v in values])
        except ValueError:
            raise SchemaError(
                f"column {series.name!r} feeds input {spec.name!r}: its rows hold arrays of "
                "different shapes, which do not stack into one tensor"
            ) from None
    elif spec.rank == 2 and values.ndim == 1:
        values = values.reshape(-1, 1)  # a column of scalars into a [batch, 1] input
    return values


def make_feeds(data: Any, inputs: list[GraphInput]) -> dict[str, np.ndarray]:
    """The ``{input name: array}`` feed for ``data``, cast to the graph's dtypes."""
    import numpy as np

    if type(data) is np.ndarray and len(inputs) == 1:  # the common case, kept short
        spec = inputs[0]
        return {spec.name: data if data.dtype == spec.dtype else cast(data, spec)}
    import pandas as pd

    names = [i.name for i in inputs]
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise SchemaError(
                f"the input dict lacks graph input {missing[0]!r}; the graph takes {names}"
            )
        unknown = [k for k in data if k not in names]
        if unknown:
            raise SchemaError(
                f"the input dict has {unknown[0]!r}, which is not a graph input; the graph "
                f"takes {names}"
            )
        raw = {i.name: np.asarray(data[i.name]) for i in inputs}
    elif isinstance(data, pd.DataFrame):
        if len(inputs) == 1 and not (len(data.columns) == 1 and data.columns[0] == names[0]):
            # The columns are the features of the one input: stacked as MLflow does.
            raw = {names[0]: data.to_numpy()}
        else:
            missing = [n for n in names if n not in data.columns]
            if missing:
                raise SchemaError(
                    f"the DataFrame has no column {missing[0]!r} for graph input {missing[0]!r}; "
                    f"the graph takes {names} (one column each)"
                )
            raw = {i.name: _column_tensor(data[i.name], i) for i in inputs}
    elif isinstance(data, (np.ndarray, list, tuple)):
        if len(inputs) != 1:
            raise SchemaError(
                f"an array can feed only a single-input graph; this one takes {names}: pass a "
                "dict of arrays or a DataFrame with those columns"
            )
        raw = {names[0]: np.asarray(data)}
    else:
        raise SchemaError(
            "the ONNX flavor predicts on a dict of arrays, a numpy array or a pandas DataFrame, "
            f"got {type(data).__name__}"
        )
    return {i.name: cast(raw[i.name], i) for i in inputs}


def output_dict(output_names: list[str]) -> Callable[[list[Any]], dict[str, Any]]:
    """A function making ``{output name: array}`` of a session's outputs, built once.

    For one or two outputs (a classifier's label and probabilities) a dict display, about a
    third of what ``dict(zip(...))`` costs per call; the same dict either way.
    """
    names = list(output_names)
    if len(names) == 1:
        (only,) = names

        def one(outputs: list[Any]) -> dict[str, Any]:
            return {only: outputs[0]}

        return one
    if len(names) == 2:
        first, second = names

        def two(outputs: list[Any]) -> dict[str, Any]:
            return {first: outputs[0], second: outputs[1]}

        return two

    def many(outputs: list[Any]) -> dict[str, Any]:
        return dict(zip(names, outputs))

    return many


def format_output(data: Any, output_names: list[str], outputs: list[Any]) -> Any:
    """A dict of named arrays; a DataFrame for a DataFrame input with one value per row.

    MLflow's ONNX flavor turns every output of a DataFrame input into a column by flattening
    it; for outputs with several values per row that gives columns of another length than the
    input (or fails), so those come back as the dict instead.
    """
    import numpy as np

    if type(data) is np.ndarray or type(data) is dict:
        return dict(zip(output_names, outputs))
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        arrays = [np.asarray(o) for o in outputs]
        rows = len(data)
        if all(a.size == rows and a.ndim >= 1 and len(a) == rows for a in arrays):
            return pd.DataFrame({n: a.reshape(-1) for n, a in zip(output_names, arrays)})
    return dict(zip(output_names, outputs))


def _tensor_spec(value_info: Any, name: str | None) -> Any:
    from onnx.helper import tensor_dtype_to_np_dtype

    from saveur.types import TensorSpec

    tensor = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return TensorSpec(tensor_dtype_to_np_dtype(tensor.elem_type), tuple(dims), name)


def _is_plain_tensor(value_info: Any) -> bool:
    """A tensor with a known shape rank and a dtype numpy has (not bfloat16, float8...)."""
    from onnx import TensorProto

    if value_info.type.WhichOneof("value") != "tensor_type":
        return False
    tensor = value_info.type.tensor_type
    plain = {
        getattr(TensorProto, t)
        for t in (
            "FLOAT",
            "DOUBLE",
            "FLOAT16",
            "INT8",
            "INT16",
            "INT32",
            "INT64",
            "UINT8",
            "UINT16",
            "UINT32",
            "UINT64",
            "BOOL",
            "STRING",
        )
    }
    return tensor.HasField("shape") and tensor.elem_type in plain


def derive_signature(model: onnx.ModelProto) -> Any:
    """A tensor signature from the graph's declared inputs and outputs, or None.

    Symbolic and unknown dimensions become -1. The input of a single-input graph is unnamed,
    so that an array or a DataFrame of feature columns fits it (in saveur and in MLflow, whose
    enforcement refuses arrays for named tensors); several inputs are named. Outputs are named.
    Graphs with inputs that are not plain tensors (sequences, maps) get no signature; outputs
    that are not plain tensors (skl2onnx's ZipMap) leave the outputs out.
    """
    from saveur.signature import ModelSignature
    from saveur.types import Schema

    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    if not graph_inputs or not all(_is_plain_tensor(i) for i in graph_inputs):
        return None
    if len(graph_inputs) == 1:
        inputs = Schema([_tensor_spec(graph_inputs[0], None)])
    else:
        inputs = Schema([_tensor_spec(i, i.name) for i in graph_inputs])
    outs = list(model.graph.output)
    outputs = (
        Schema([_tensor_spec(o, o.name) for o in outs])
        if outs and all(_is_plain_tensor(o) for o in outs)
        else None
    )
    return ModelSignature(inputs=inputs, outputs=outputs)
