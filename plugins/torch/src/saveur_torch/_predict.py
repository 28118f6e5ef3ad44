"""The pyfunc predict function of a module: input conversion, device, outputs as numpy.

Everything that can be decided once (device, the forward's argument order, the float dtype of
the weights) is decided when the function is built, so a predict call is: convert the
input, one forward under ``torch.inference_mode()``, convert the output.
"""

from __future__ import annotations

import re
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
            raise PluginError(f"cannot move the model to {device!r}: {type(e).__name__}: {e}"
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


def build_predict(module: Any, device: str, signature: Any, *, set_eval_mode: bool = True) -> Any:
    """Return ``predict(model_input, params)`` for a loaded module."""
    import numpy as np
    import pandas as pd

    from saveur_torch._formats import forward_names, import_torch

    torch = import_torch()
    if set_eval_mode:
        set_eval(module)
    inputs = getattr(signature, "inputs", None)
    if (
        hasattr(module, "validate_inputs")  # an exported program's module
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
    inference_mode = torch.inference_mode
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
        raise PluginError(f"the model returned {what} of type {type(value).__name__}; "
                          "the pytorch flavor turns only tensors into numpy arrays")

    def outputs(result: Any) -> Any:
        if isinstance(result, torch.Tensor):
            return result.numpy() if on_cpu else result.cpu().numpy()
        if isinstance(result, dict):
            return {str(k): to_numpy(v, f"output {k!r}") for k, v in result.items()}
        if isinstance(result, (tuple, list)):
            keys = out_names if out_names and len(out_names) == len(result) else [
                f"output_{i}" for i in range(len(result))
            ]
            return {k: to_numpy(v, f"output {k!r}") for k, v in zip(keys, result, strict=True)}
        return to_numpy(result, "an output")

    def predict(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        args, kwargs = args_of(model_input)
        if params:
            kwargs.update(params)
        with inference_mode():
            result = module(*args, **kwargs)
            return outputs(result)

    return predict
