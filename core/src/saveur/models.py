"""Public model-level names, mirroring ``mlflow.models``.

``Model`` (the parsed MLmodel), ``ModelSignature``, ``infer_signature`` and ``set_model``
(for models-from-code files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur.mlmodel import Model
from saveur.pyfunc_flavor import set_model

if TYPE_CHECKING:
    from saveur.signature import ModelSignature, infer_signature

__all__ = ["Model", "ModelSignature", "infer_signature", "set_model"]


def __getattr__(name: str) -> Any:
    if name in ("ModelSignature", "infer_signature"):
        from saveur import signature

        return getattr(signature, name)
    raise AttributeError(f"module 'saveur.models' has no attribute {name!r}")
