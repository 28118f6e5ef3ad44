"""saveur-onnx: the ``onnx`` flavor plugin for saveur.

Saves ONNX graphs (an ``onnx.ModelProto`` or a ``.onnx`` file, with its external-data sidecar)
in MLflow 3's layout, checked by ``onnx.checker`` and with a tensor signature derived from the
graph; predicts through pyfunc with an ``onnxruntime.InferenceSession`` on explicit providers.
The saved ``python_function`` block names ``mlflow.onnx``, so stock MLflow loads these models,
and models saved by ``mlflow.onnx`` load here. Optional converters: :func:`from_sklearn`
(skl2onnx) and :func:`from_torch` (torch.onnx with onnxscript).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur_onnx._convert import from_sklearn, from_torch
from saveur_onnx._hooks import (
    FLAVOR,
    saveur_detect_flavor,
    saveur_flavors,
    saveur_infer_requirements,
    saveur_load_model,
    saveur_predict_function,
    saveur_save_model,
)

if TYPE_CHECKING:
    import os

    import onnx

    from saveur.models import Model

__version__ = "0.1.0"

__all__ = [
    "FLAVOR",
    "from_sklearn",
    "from_torch",
    "load_model",
    "log_model",
    "save_model",
    "saveur_detect_flavor",
    "saveur_flavors",
    "saveur_infer_requirements",
    "saveur_load_model",
    "saveur_predict_function",
    "saveur_save_model",
]


def save_model(
    onnx_model: onnx.ModelProto | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
    **kwargs: Any,
) -> Model:
    """Save an ONNX model (a ``ModelProto`` or a ``.onnx`` path) at ``path``.

    ``onnx_execution_providers`` defaults to ``["CPUExecutionProvider"]``;
    ``onnx_session_options`` takes MLflow's keys (threads, execution mode, optimization level).
    Tensors of 1 KiB or more go to ``model.onnx.data`` unless ``save_as_external_data=False``.
    Other keywords as :func:`saveur.save_model`.
    """
    from saveur import save_model as _save_model

    if onnx_execution_providers is not None:
        kwargs["onnx_execution_providers"] = onnx_execution_providers
    return _save_model(onnx_model, path, flavor=FLAVOR,
                       onnx_session_options=onnx_session_options,
                       save_as_external_data=save_as_external_data, **kwargs)


def log_model(onnx_model: onnx.ModelProto | str | os.PathLike[str], name: str,
              **kwargs: Any) -> Any:
    """Log an ONNX model to the active run; keywords as :func:`save_model`."""
    from saveur import log_model as _log_model

    return _log_model(onnx_model, name, flavor=FLAVOR, **kwargs)


def load_model(model_uri: str | os.PathLike[str]) -> onnx.ModelProto:
    """Load the ``onnx.ModelProto`` of a model (saved by saveur or by MLflow 3).

    External data is loaded after every location in the graph is checked to stay inside the
    model directory.
    """
    from saveur import load_model as _load_model

    return _load_model(model_uri, flavor=FLAVOR)  # type: ignore[no-any-return]


def _load_pyfunc(path: str) -> Any:
    """MLflow's loader entry for models naming ``saveur_onnx``: loads through saveur."""
    from saveur_onnx._pyfunc import load_pyfunc

    return load_pyfunc(path)
