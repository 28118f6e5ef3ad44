"""What ``mlflow.pyfunc.load_model`` gets from ``saveur_onnx._load_pyfunc``.

saveur's ONNX models name MLflow's own loader (``mlflow.onnx``); this entry exists for models
that name ``saveur_onnx`` (hand-edited, or a deployer's choice) and for completeness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class OnnxPyfuncWrapper:
    """A saveur pyfunc ONNX model as MLflow's pyfunc expects it: ``predict(data, params)``."""

    def __init__(self, pyfunc_model: Any) -> None:
        self._model = pyfunc_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict through saveur (MLflow has enforced the signature already)."""
        return self._model.predict_checked(data, params)

    def get_raw_model(self) -> Any:
        """Return the ``onnx.ModelProto``."""
        return self._model.get_raw_model()


def load_pyfunc(path: str) -> OnnxPyfuncWrapper:
    """Load a saveur ONNX model for MLflow's pyfunc loader, digests checked."""
    import saveur.pyfunc

    p = Path(path)
    # MLflow passes python_function.data (model.onnx); older callers pass the directory.
    model_dir = p.parent if p.is_file() else p
    return OnnxPyfuncWrapper(saveur.pyfunc.load_model(model_dir))
