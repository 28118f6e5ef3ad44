"""Custom Python models importable from an installed package (for by-reference saving)."""

from __future__ import annotations

from typing import Any

from saveur.pyfunc import PythonModel


class ScaledSum(PythonModel):
    """Sums the row's columns and multiplies by ``model_config['scale']`` (default 1)."""

    def load_context(self, context: Any) -> None:
        self.scale = context.model_config.get("scale", 1)

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input.sum(axis=1) * self.scale


class NotAModel:
    """Not a PythonModel: naming it by reference must be refused."""
