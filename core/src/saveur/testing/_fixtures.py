"""The fixtures a plugin's conformance test class provides (or inherits the defaults of)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from saveur.testing._helpers import call_hook, framework_modules_of


class FlavorFixtures:
    """Fixtures of the conformance kit; override them as methods of your test class.

    Required: ``flavor_key``, ``distribution``, ``model`` and ``model_input``. The rest have
    defaults that suit a model with a ``predict(data)`` method: override ``native_predict``,
    ``expected_output``, ``tolerance``, ``save_options``, ``load_options``, ``bad_input``,
    ``signature`` or ``framework_modules`` where yours differs.
    """

    # --- required -----------------------------------------------------------------------
    @pytest.fixture
    def flavor_key(self) -> str:
        """The MLmodel flavor key, which is also the entry-point name (``sklearn``)."""
        pytest.fail("override the 'flavor_key' fixture with your flavor key")

    @pytest.fixture
    def distribution(self) -> str:
        """The pip name of your plugin (``saveur-sklearn``)."""
        pytest.fail("override the 'distribution' fixture with your plugin's pip name")

    @pytest.fixture
    def model(self) -> Any:
        """A trained framework object your plugin saves."""
        pytest.fail("override the 'model' fixture with a trained model of your framework")

    @pytest.fixture
    def model_input(self) -> Any:
        """An input the model predicts on (a DataFrame, an array, a dict of arrays...)."""
        pytest.fail("override the 'model_input' fixture with an input for the model")

    # --- defaults -----------------------------------------------------------------------
    @pytest.fixture
    def native_predict(self) -> Callable[[Any, Any], Any]:
        """``(framework_object, data) -> output``: how to predict with the native object."""
        return lambda model, data: model.predict(data)

    @pytest.fixture
    def expected_output(self, model: Any, model_input: Any, native_predict: Any) -> Any:
        """What the pyfunc model must return for ``model_input``."""
        return native_predict(model, model_input)

    @pytest.fixture
    def tolerance(self) -> dict[str, float]:
        """``rtol``/``atol`` for comparing numeric predictions."""
        return {"rtol": 1e-7, "atol": 0.0}

    @pytest.fixture
    def save_options(self) -> dict[str, Any]:
        """Flavor options passed to ``saveur.save_model`` (``serialization_format=...``)."""
        return {}

    @pytest.fixture
    def load_options(self) -> dict[str, Any]:
        """Keyword options for ``saveur.load_model`` and ``saveur.pyfunc.load_model``.

        A flavor whose files need ``trust_code=True`` (pickles) says so here; the MLflow test
        then sets ``SAVEUR_TRUST_CODE=1``, since MLflow's loader cannot pass it.
        """
        return {}

    @pytest.fixture
    def signature(self, model_input: Any, expected_output: Any) -> Any:
        """The signature saved with the model; inferred from the input and output by default."""
        from saveur.signature import infer_signature

        return infer_signature(model_input, expected_output)

    @pytest.fixture
    def bad_input(self, model_input: Any) -> Any:
        """An input the signature must reject (a column dropped, a tensor of the wrong rank)."""
        import numpy as np

        if hasattr(model_input, "columns") and len(model_input.columns) > 0:
            return model_input.drop(columns=[model_input.columns[-1]])
        if isinstance(model_input, np.ndarray):
            return model_input[..., None]
        if isinstance(model_input, dict) and model_input:
            return dict(list(model_input.items())[:-1])
        pytest.skip("override the 'bad_input' fixture with an input the signature rejects")

    @pytest.fixture
    def plugin(self, flavor_key: str) -> object:
        """The plugin object, loaded through its entry point as the host does."""
        from importlib.metadata import entry_points

        found = entry_points(group="saveur").select(name=flavor_key)
        if not found:
            pytest.fail(
                f"no entry point named {flavor_key!r} in group 'saveur': declare "
                f'[project.entry-points.saveur] {flavor_key} = "your_module" and install it'
            )
        return next(iter(found)).load()

    @pytest.fixture
    def flavor_info(self, plugin: object, flavor_key: str) -> Any:
        """The :class:`~saveur.hookspecs.FlavorInfo` the plugin gives for ``flavor_key``."""
        infos = {info.key: info for res in call_hook(plugin, "saveur_flavors") for info in res}
        if flavor_key not in infos:
            pytest.fail(f"saveur_flavors() gives {sorted(infos)}, not {flavor_key!r}")
        return infos[flavor_key]

    @pytest.fixture
    def framework_modules(self, flavor_info: Any) -> tuple[str, ...]:
        """Import names of the framework, blocked to simulate a missing install.

        Derived from ``FlavorInfo.framework_requirements`` through installed metadata.
        """
        return framework_modules_of(flavor_info.framework_requirements)

    @pytest.fixture(autouse=True)
    def _fresh_host_plugins(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        """Each test discovers the installed plugins afresh, with no deployer settings."""
        from saveur import plugins

        monkeypatch.delenv("SAVEUR_DISABLE_PLUGINS", raising=False)
        monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
        plugins.reset_plugins(None)
        yield
        plugins.reset_plugins(None)

    @pytest.fixture
    def save(
        self, flavor_key: str, save_options: dict[str, Any]
    ) -> Callable[..., Any]:
        """``save(model, path, **kwargs)``: ``saveur.save_model`` with the flavor's options."""
        import saveur

        def _save(model: Any, path: Path, **kwargs: Any) -> Any:
            options = {**save_options, **kwargs}
            options.setdefault("flavor", flavor_key)
            return saveur.save_model(model, path, **options)

        return _save

    @pytest.fixture
    def saved_model(self, tmp_path: Path, model: Any, signature: Any, save: Any) -> Path:
        """The model saved with its signature; returns the model directory."""
        path = tmp_path / "model"
        save(model, path, signature=signature)
        return path
