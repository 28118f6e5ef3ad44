"""The pyfunc predict function of a module: input conversion, device, outputs as numpy.

Everything that can be decided once (device, the forward's argument order, the float dtype of
the weights) is decided when the function is built, so a predict call is: convert the
input, one forward under ``torch.inference_mode()``, convert the output.

An exported program's module (``ExportedProgram.module()``) is not called as such: each of its
calls runs two forward hooks, flattens the arguments with pytree, re-derives torch's input
checks from the graph's symbols and unflattens the outputs, which costs more than the forward
of a small model. :func:`exported_runner` compiles the same input checks once and runs a copy
of the graph on the positional tensors (see there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from saveur.errors import PluginError, SchemaError

_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def resolve_device(device: object) -> str:
    """Check a ``device`` option (``cpu``, ``cuda``, ``cuda:N``) against what is available."""
    from saveur_torch._formats import import_torch

    if device is None:
        return "cpu"
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise PluginError(
            f"device {device!r} is not supported by the 'pytorch' flavor; use 'cpu', 'cuda' "
            "or 'cuda:N'"
        )
    if device.startswith("cuda"):
        torch = import_torch()
        if not torch.cuda.is_available():
            raise PluginError(
                f"device {device!r} was requested but torch.cuda.is_available() is False (no "
                "GPU, or a CPU-only torch build); load with device='cpu'"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise PluginError(
                f"device {device!r} was requested but only {torch.cuda.device_count()} CUDA "
                "device(s) are visible"
            )
    return device


def move_to(module: Any, device: str) -> Any:
    if device != "cpu":
        try:
            module = module.to(device)
        except Exception as e:
            raise PluginError(
                f"cannot move the model to {device!r}: {type(e).__name__}: {e}"
            ) from e
    return module


def set_eval(module: Any) -> None:
    """Put ``module`` in eval mode; an exported program's module already is (and refuses)."""
    try:
        module.eval()
    except (NotImplementedError, RuntimeError):
        pass


def _float_dtype(module: Any) -> Any:
    for tensor in module.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    for tensor in module.buffers():
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def _output_names(signature: Any) -> list[str] | None:
    outputs = getattr(signature, "outputs", None)
    if outputs is None:
        return None
    try:
        names = [spec.name for spec in outputs.inputs]
    except AttributeError:
        return None
    return names if names and all(names) else None


class _DimChecks:
    """torch.export's input checks of a program (``_check_input_constraints_for_graph``),
    compiled once: per input its rank, its static sizes, and its dynamic sizes as symbols
    that must agree across inputs and stay in the program's range for them (torch checks a
    minimum only above 2: sizes 0 and 1 are allowed at run time; so is it here)."""

    def __init__(self, names: list[str], specs: list[tuple[tuple[Any, ...], list[Any], list[Any]]]):
        self.names = names
        self.specs = specs

    def __call__(self, args: tuple[Any, ...]) -> None:
        if len(args) != len(self.specs):
            raise SchemaError(
                f"the exported program takes {len(self.specs)} input tensor(s) "
                f"({', '.join(self.names)}), got {len(args)}"
            )
        seen: dict[str, tuple[int, str, int]] = {}
        for name, t, (expected, static, dynamic) in zip(self.names, args, self.specs, strict=True):
            shape = t.shape
            if len(shape) != len(expected):
                raise SchemaError(
                    f"input {name!r} has shape {tuple(shape)}; the exported program expects "
                    f"{len(expected)} dimension(s) {_shape_text(expected)}"
                )
            for j, size in static:
                if shape[j] != size:
                    raise SchemaError(
                        f"input {name!r} has size {shape[j]} in dimension {j}; the exported "
                        f"program expects {size} {_shape_text(expected)}"
                    )
            for j, symbol, low, high in dynamic:
                size = shape[j]
                first = seen.setdefault(symbol, (size, name, j))
                if first[0] != size:
                    raise SchemaError(
                        f"input {name!r} has size {size} in dimension {j}, but the exported "
                        f"program requires it to equal dimension {first[2]} of input "
                        f"{first[1]!r} ({first[0]})"
                    )
                if (low is not None and size < low) or (high is not None and size > high):
                    raise SchemaError(
                        f"input {name!r} has size {size} in dimension {j}; the exported "
                        f"program accepts {low if low is not None else 0} to "
                        f"{high if high is not None else 'any size'} there"
                    )


def _shape_text(expected: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) for d in expected) + ")"


def _bound(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.inf


def _dim_checks(
    module: Any, placeholders: list[Any], names: list[str], torch: Any
) -> _DimChecks | None:
    """Compile the input checks, or ``None`` for an input torch would check otherwise (not a
    tensor, or a size given by an expression rather than one symbol)."""
    ranges = getattr(module, "range_constraints", None) or {}
    specs = []
    for node in placeholders:
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            return None
        expected: list[Any] = []
        static: list[tuple[int, int]] = []
        dynamic: list[tuple[int, str, int | None, int | None]] = []
        for j, dim in enumerate(val.shape):
            if isinstance(dim, int):
                static.append((j, dim))
                expected.append(dim)
                continue
            expr = getattr(getattr(dim, "node", None), "expr", None)
            if not getattr(expr, "is_Symbol", False):
                return None
            low = high = None
            if expr in ranges:
                lower, upper = _bound(ranges[expr].lower), _bound(ranges[expr].upper)
                low = int(lower) if math.isfinite(lower) and lower > 2 else None
                high = int(upper) if math.isfinite(upper) else None
            dynamic.append((j, str(expr), low, high))
            expected.append(str(expr))
        specs.append((tuple(expected), static, dynamic))
    return _DimChecks(names, specs)


def exported_runner(module: Any) -> Callable[[tuple[Any, ...]], Any] | None:
    """``run(tensors)`` for an exported program's module, or ``None`` when not applicable.

    ``run`` checks the tensors as torch's own pre-hook does (number, rank, static sizes,
    dynamic sizes unified across inputs and within their ranges; torch checks no dtype: the
    pyfunc signature does) with the checks compiled once (:class:`_DimChecks`), then calls a
    copy of the program's graph that takes the tensors positionally and returns them flat
    (no pytree, no hooks), and rebuilds the program's output structure. The copy reads the
    module's weights as plain tensors (``detach()``: the same storage, not ``Parameter``
    objects, whose every use in an op costs a subclass check). Programs whose inputs are not
    positional tensors (keyword or nested inputs, scalars), whose sizes are expressions, or
    that call submodules are left to the module itself (``None``).
    """
    from saveur_torch._formats import forward_names, import_torch

    torch = import_torch()
    try:
        import torch.fx
        from torch.utils import _pytree as pytree

        in_spec, out_spec = module._in_spec, module._out_spec
        graph = module.graph
        if not (
            in_spec.type is tuple
            and in_spec.num_children == 2
            and in_spec.child(0).type is tuple
            and in_spec.child(1).type is dict
            and in_spec.child(1).num_children == 0
            and all(
                in_spec.child(0).child(i).is_leaf() for i in range(in_spec.child(0).num_children)
            )
        ):
            return None
        placeholders = list(graph.find_nodes(op="placeholder"))
        if len(placeholders) != in_spec.child(0).num_children or graph.find_nodes(op="call_module"):
            return None
        names = forward_names(module) or [p.name for p in placeholders]
        if len(names) != len(placeholders):
            return None
        checks = _dim_checks(module, placeholders, names, torch)
        if checks is None:
            return None
        flat_graph = torch.fx.Graph()  # a copy with the default codegen: flat in, flat out
        flat_graph.output(flat_graph.graph_copy(graph, {}))
        attrs: dict[str, Any] = {}
        for node in flat_graph.find_nodes(op="get_attr"):
            value = _get_attr(module, node.target)
            flat_name = f"_c{len(attrs)}"
            attrs[flat_name] = value.detach() if isinstance(value, torch.Tensor) else value
            node.target = flat_name
        flat = torch.fx.GraphModule(attrs, flat_graph)
        (out_node,) = flat_graph.find_nodes(op="output")
        n_out = len(out_node.args[0]) if isinstance(out_node.args[0], (tuple, list)) else -1
        if n_out != out_spec.num_leaves:
            return None
    except Exception:  # a torch whose exported modules look otherwise: call them as they are
        return None
    forward = flat.forward
    if out_spec.is_leaf():

        def run(args: tuple[Any, ...]) -> Any:
            checks(args)
            return forward(*args)[0]
    else:
        unflatten = pytree.tree_unflatten

        def run(args: tuple[Any, ...]) -> Any:
            checks(args)
            return unflatten(list(forward(*args)), out_spec)

    return run


def _get_attr(module: Any, target: str) -> Any:
    owner, _, attr = target.rpartition(".")
    return getattr(module.get_submodule(owner) if owner else module, attr)


def build_predict(module: Any, device: str, signature: Any, *, set_eval_mode: bool = True) -> Any:
    """Return ``predict(model_input, params)`` for a loaded module."""
    import numpy as np
    import pandas as pd

    from saveur_torch._formats import forward_names, import_torch

    torch = import_torch()
    if set_eval_mode:
        set_eval(module)
    # An exported program's module: run its graph directly, with torch's checks compiled once.
    run = exported_runner(module) if hasattr(module, "validate_inputs") else None
    inputs = getattr(signature, "inputs", None)
    if (
        run is None
        and hasattr(module, "validate_inputs")  # an exported program's module
        and inputs is not None
        and inputs.is_tensor_spec()
        and len(inputs.inputs) == 1
    ):
        # The signature already checked the one tensor's shape and dtype; torch's own check
        # of the same costs about twice the forward of a small model.
        module.validate_inputs = False
    names = forward_names(module)
    float_dtype = _float_dtype(module)
    out_names = _output_names(signature)
    # torch.inference_mode() is a Python wrapper that enters this C++ guard; entering the guard
    # itself costs about a third as much (1 µs against 3: a tenth of a small MLP's forward).
    guard = getattr(torch._C, "_InferenceMode", None)
    inference_mode = (lambda: guard(True)) if guard is not None else torch.inference_mode
    from_numpy = torch.from_numpy
    on_cpu = device == "cpu"

    def tensor(arr: Any, what: str) -> Any:
        if isinstance(arr, torch.Tensor):
            t = arr
        else:
            if not isinstance(arr, np.ndarray):
                arr = np.asarray(arr)
            if arr.dtype.kind not in "biuf":
                raise SchemaError(f"{what} has dtype {arr.dtype}; a tensor needs numbers")
            if not arr.flags.writeable or not arr.flags.c_contiguous:
                arr = np.ascontiguousarray(arr).copy()
            t = from_numpy(arr)
        # float64 data (numpy's default) into float32 weights, as MLflow does for DataFrames
        if float_dtype is not None and t.is_floating_point() and t.dtype != float_dtype:
            t = t.to(float_dtype)
        return t if on_cpu else t.to(device)

    def frame(df: Any) -> Any:
        for col, dtype in df.dtypes.items():
            if dtype.kind not in "biuf":
                raise SchemaError(
                    f"column {col!r} has dtype {dtype}: a DataFrame feeds the model as one float "
                    "tensor, so every column must be numeric"
                )
        return tensor(df.to_numpy(dtype=np.float32), "the DataFrame")

    def args_of(data: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if isinstance(data, np.ndarray):
            return (tensor(data, "the input"),), {}
        if isinstance(data, pd.DataFrame):
            return (frame(data),), {}
        if isinstance(data, dict):
            if names is not None and set(data) <= set(names):
                ordered = [n for n in names if n in data]
            elif names is not None:
                unknown = sorted(set(data) - set(names))
                raise SchemaError(
                    f"input {unknown[0]!r} is not an argument of the model's forward "
                    f"({', '.join(names)})"
                )
            else:
                ordered = list(data)
            return tuple(tensor(data[n], f"input {n!r}") for n in ordered), {}
        if isinstance(data, pd.Series):
            return (frame(data.to_frame()),), {}
        if isinstance(data, (list, tuple)):
            return (tensor(np.asarray(data), "the input"),), {}
        if isinstance(data, torch.Tensor):
            return (tensor(data, "the input"),), {}
        raise SchemaError(
            f"the 'pytorch' flavor predicts on a numpy array, a DataFrame or a dict of named "
            f"arrays, got {type(data).__name__}"
        )

    def to_numpy(value: Any, what: str) -> Any:
        if isinstance(value, torch.Tensor):
            return value.numpy() if on_cpu else value.cpu().numpy()
        raise PluginError(
            f"the model returned {what} of type {type(value).__name__}; "
            "the pytorch flavor turns only tensors into numpy arrays"
        )

    def outputs(result: Any) -> Any:
        if isinstance(result, torch.Tensor):
            return result.numpy() if on_cpu else result.cpu().numpy()
        if isinstance(result, dict):
            return {str(k): to_numpy(v, f"output {k!r}") for k, v in result.items()}
        if isinstance(result, (tuple, list)):
            keys = (
                out_names
                if out_names and len(out_names) == len(result)
                else [f"output_{i}" for i in range(len(result))]
            )
            return {k: to_numpy(v, f"output {k!r}") for k, v in zip(keys, result, strict=True)}
        return to_numpy(result, "an output")

    def predict(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        args, kwargs = args_of(model_input)
        if params:
            kwargs.update(params)
        with inference_mode():
            result = run(args) if run is not None and not kwargs else module(*args, **kwargs)
            return outputs(result)

    return predict
