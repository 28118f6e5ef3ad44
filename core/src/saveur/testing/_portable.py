"""Conformance for portable flavors: models that stock MLflow loads with no saveur installed.

Opt-in by declaration: the checks run for a flavor whose ``FlavorInfo.mlflow_loader_module``
is set and are skipped (with the reason) for the others; the ones that load through MLflow
are skipped when MLflow is not importable.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from saveur.testing._helpers import assert_predictions_equal, block_modules


class PortableFlavorTests:
    """A flavor that declares ``mlflow_loader_module`` saves models MLflow 3 loads unchanged."""

    @pytest.fixture
    def expect_portable(self, flavor_info: Any) -> bool:
        """Whether models saved with this class's ``save_options`` are portable.

        By default, whether the flavor declares ``mlflow_loader_module``. A plugin that saves
        some formats for its own loader module (saveur-torch's ``state_dict``) overrides this
        fixture to return ``False`` in those test classes; their requirements must then pin
        the plugin and saveur.
        """
        return flavor_info.mlflow_loader_module is not None

    @pytest.fixture
    def mlflow_loader_module(self, flavor_info: Any, expect_portable: bool) -> str:
        """The MLflow module the flavor's models name; skips models that are not portable."""
        module = flavor_info.mlflow_loader_module
        if module is None:
            pytest.skip("the flavor declares no mlflow_loader_module: its models need the "
                        "plugin installed, and portability is not checked")
        if not expect_portable:
            pytest.skip("this format is saved for the plugin's own loader module, not MLflow's")
        return str(module)

    @pytest.fixture
    def plugin_modules(self, plugin: object) -> tuple[str, ...]:
        """Top-level modules of saveur and the plugin, made unimportable during MLflow loads."""
        top = (getattr(plugin, "__name__", "") or type(plugin).__module__).split(".")[0]
        return tuple(sorted({"saveur", top}))

    def test_portable_model_names_the_mlflow_loader_module(
        self, saved_model: Path, mlflow_loader_module: str, flavor_info: Any
    ) -> None:
        from saveur.models import Model

        assert mlflow_loader_module.startswith("mlflow."), (
            f"mlflow_loader_module {mlflow_loader_module!r} is not one of MLflow's modules"
        )
        assert mlflow_loader_module in flavor_info.loader_modules, (
            f"mlflow_loader_module {mlflow_loader_module!r} must be in FlavorInfo.loader_modules "
            "too, so that saveur loads these models through the plugin"
        )
        pyfunc = Model.load(saved_model).flavors.get("python_function") or {}
        assert pyfunc.get("loader_module") == mlflow_loader_module, (
            f"python_function.loader_module is {pyfunc.get('loader_module')!r}; a flavor that "
            f"declares mlflow_loader_module saves {mlflow_loader_module!r}"
        )

    def test_portable_model_is_reported_portable(
        self, saved_model: Path, mlflow_loader_module: str
    ) -> None:
        from saveur.portability import check_portability

        verdict = check_portability(saved_model)
        assert verdict.portable, verdict.reason

    def test_mlflow_loads_the_portable_model_without_saveur(
        self, saved_model: Path, mlflow_loader_module: str, model: Any, model_input: Any,
        expected_output: Any, native_predict: Any, tolerance: dict[str, float],
        plugin_modules: tuple[str, ...],
    ) -> None:
        mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc", reason="MLflow is not installed")
        flavor_module = importlib.import_module(mlflow_loader_module)
        # With saveur and the plugin unimportable, a load that reaches for them fails here.
        with pytest.MonkeyPatch.context() as blocked:
            block_modules(blocked, plugin_modules)
            got = mlflow_pyfunc.load_model(str(saved_model)).predict(model_input)
            native = flavor_module.load_model(str(saved_model))
        assert_predictions_equal(got, expected_output, **tolerance,
                                 what="mlflow.pyfunc without saveur")
        assert_predictions_equal(native_predict(native, model_input),
                                 native_predict(model, model_input), **tolerance,
                                 what=f"{mlflow_loader_module}.load_model")
