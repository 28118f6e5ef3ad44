"""Conformance: MLflow's own pyfunc loader reads the plugin's models (skipped without MLflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from saveur.testing._helpers import assert_predictions_equal


class MlflowInteropTests:
    """``mlflow.pyfunc.load_model`` on a saveur model predicts what saveur predicts."""

    def test_mlflow_pyfunc_loads_the_model(
        self, saved_model: Path, model_input: Any, load_options: dict[str, Any],
        tolerance: dict[str, float], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc", reason="MLflow is not installed")
        import saveur.pyfunc

        if load_options.get("trust_code"):
            # MLflow's loader cannot pass trust: the deployer's setting is the only way.
            monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
        expected = saveur.pyfunc.load_model(saved_model, **load_options).predict(model_input)
        loaded = mlflow_pyfunc.load_model(str(saved_model))
        assert_predictions_equal(loaded.predict(model_input), expected, **tolerance,
                                 what="mlflow.pyfunc")
