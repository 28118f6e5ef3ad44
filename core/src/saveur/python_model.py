"""The base class of custom Python models and the context they receive: a leaf module.

Kept apart from :mod:`saveur.pyfunc` so that the built-in ``python_function`` plugin
(:mod:`saveur.pyfunc_flavor`) and ``saveur.pyfunc`` both import it without importing each
other. Both classes are public as ``saveur.pyfunc.PythonModel`` and
``saveur.pyfunc.PythonModelContext``; ``__module__`` says so, so that pickles of custom
models (which name their base classes) and reprs never name this file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PythonModel", "PythonModelContext"]


class PythonModelContext:
    """What a custom model's ``load_context`` and ``predict`` receive.

    ``artifacts`` maps each artifact name to its absolute path inside the loaded model;
    ``model_config`` is the JSON-serializable config given at save.
    """

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None) -> None:
        self.artifacts = artifacts
        self.model_config = model_config or {}

    def __repr__(self) -> str:
        return f"PythonModelContext(artifacts={self.artifacts!r}, model_config={self.model_config!r})"


class PythonModel:
    """Base class of custom Python models: override ``predict`` (and ``load_context``)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts or set up state; called once when the model is loaded."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """Return predictions for ``model_input`` (already checked against the signature)."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")


for _cls in (PythonModel, PythonModelContext):
    _cls.__module__ = "saveur.pyfunc"
