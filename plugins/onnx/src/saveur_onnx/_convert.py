"""Optional converters to ONNX: scikit-learn through skl2onnx, torch through torch.onnx.

Each is usable only when its libraries are installed; otherwise it raises
:class:`MissingDependencyError` saying what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur.errors import MissingDependencyError, SaveError

if TYPE_CHECKING:
    import onnx


def from_sklearn(estimator: Any, sample: Any, **kwargs: Any) -> onnx.ModelProto:
    """Convert a fitted scikit-learn estimator with skl2onnx; ``sample`` gives the input type.

    Classifiers output their probabilities as a plain tensor (``zipmap=False``), which
    onnxruntime returns as an array and a signature can describe; pass ``options=`` to
    override. Other keywords go to ``skl2onnx.to_onnx``.
    """
    try:
        import skl2onnx
        from sklearn.base import is_classifier
    except ImportError as e:
        raise MissingDependencyError(
            f"from_sklearn needs skl2onnx and scikit-learn ({e}): pip install skl2onnx"
        ) from e
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if "options" not in kwargs and is_classifier(final):
        kwargs["options"] = {id(final): {"zipmap": False}}
    try:
        return skl2onnx.to_onnx(estimator, sample, **kwargs)
    except Exception as e:  # skl2onnx's MissingShapeCalculator, RuntimeError...
        raise SaveError(
            f"skl2onnx cannot convert {type(estimator).__name__} ({type(e).__name__}: {e})"
        ) from e


def from_torch(
    module: Any,
    sample: Any,
    *,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
    **kwargs: Any,
) -> onnx.ModelProto:
    """Export a torch module with ``torch.onnx.export`` (dynamo), the batch dimension dynamic.

    ``sample`` is one tensor or a tuple of tensors the module is called with. Needs torch and
    onnxscript. Other keywords go to ``torch.onnx.export``.
    """
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it; fail here, clearly)
        import torch
    except ImportError as e:
        raise MissingDependencyError(
            f"from_torch needs torch and onnxscript ({e}): pip install torch onnxscript"
        ) from e
    args = sample if isinstance(sample, tuple) else (sample,)
    if dynamic_batch and "dynamic_shapes" not in kwargs:
        batch = torch.export.Dim("batch")
        kwargs["dynamic_shapes"] = tuple({0: batch} for _ in args)
    try:
        program = torch.onnx.export(
            module.eval(), args, dynamo=True, input_names=input_names,
            output_names=output_names, verbose=False, **kwargs,
        )
    except Exception as e:  # torch.onnx.errors.*, torch._dynamo errors
        raise SaveError(
            f"torch.onnx.export cannot export {type(module).__name__} ({type(e).__name__}: {e})"
        ) from e
    return program.model_proto
