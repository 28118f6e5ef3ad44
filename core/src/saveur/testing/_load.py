"""Conformance: load back natively and through pyfunc, signatures, digests, missing framework."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from saveur.testing._helpers import assert_predictions_equal, block_modules

_ENV_FILES = {"requirements.txt", "python_env.yaml", "conda.yaml", "input_example.json",
              "serving_input_example.json"}


def _model_file(model_dir: Path) -> str:
    """The largest file of a model that is not an environment or example file."""
    from saveur.models import Model

    digests = Model.load(model_dir).digests or {}
    candidates = [rel for rel in digests if rel not in _ENV_FILES]
    assert candidates, "the plugin wrote no model file"
    return max(candidates, key=lambda rel: (model_dir / rel).stat().st_size)


class LoadTests:
    """Round trips, signature enforcement, integrity and a missing framework."""

    def test_native_load_predicts_like_the_original(
        self, saved_model: Path, model: Any, model_input: Any, native_predict: Any,
        load_options: dict[str, Any], tolerance: dict[str, float],
    ) -> None:
        import saveur

        loaded = saveur.load_model(saved_model, **load_options)
        assert_predictions_equal(native_predict(loaded, model_input),
                                 native_predict(model, model_input), **tolerance,
                                 what="native load")

    def test_pyfunc_predicts_like_the_original(
        self, saved_model: Path, model_input: Any, expected_output: Any,
        load_options: dict[str, Any], tolerance: dict[str, float],
    ) -> None:
        import saveur.pyfunc

        pyfunc_model = saveur.pyfunc.load_model(saved_model, **load_options)
        assert_predictions_equal(pyfunc_model.predict(model_input), expected_output,
                                 **tolerance, what="pyfunc")

    def test_pyfunc_without_signature_predicts(
        self, tmp_path: Path, model: Any, model_input: Any, expected_output: Any, save: Any,
        load_options: dict[str, Any], tolerance: dict[str, float],
    ) -> None:
        import saveur.pyfunc

        save(model, tmp_path / "model")
        pyfunc_model = saveur.pyfunc.load_model(tmp_path / "model", **load_options)
        assert pyfunc_model.metadata.signature is None
        assert_predictions_equal(pyfunc_model.predict(model_input), expected_output,
                                 **tolerance, what="pyfunc without signature")

    def test_pyfunc_enforces_the_signature(
        self, saved_model: Path, bad_input: Any, load_options: dict[str, Any]
    ) -> None:
        import saveur.pyfunc
        from saveur.errors import SchemaError

        pyfunc_model = saveur.pyfunc.load_model(saved_model, **load_options)
        with pytest.raises(SchemaError):
            pyfunc_model.predict(bad_input)

    def test_tampered_model_file_is_refused(
        self, saved_model: Path, load_options: dict[str, Any]
    ) -> None:
        import saveur
        import saveur.pyfunc
        from saveur.errors import IntegrityError

        rel = _model_file(saved_model)
        with open(saved_model / rel, "ab") as f:
            f.write(b"\0")
        with pytest.raises(IntegrityError, match=rel):
            saveur.load_model(saved_model, **load_options)
        with pytest.raises(IntegrityError, match=rel):
            saveur.pyfunc.load_model(saved_model, **load_options)

    def test_missing_model_file_is_refused(
        self, saved_model: Path, load_options: dict[str, Any]
    ) -> None:
        import saveur
        from saveur.errors import IntegrityError

        rel = _model_file(saved_model)
        (saved_model / rel).unlink()
        with pytest.raises(IntegrityError, match=rel):
            saveur.load_model(saved_model, **load_options)

    def test_missing_framework_names_what_to_install(
        self, saved_model: Path, framework_modules: tuple[str, ...], flavor_info: Any,
        load_options: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        import saveur
        import saveur.pyfunc
        from saveur.errors import MissingDependencyError

        if not framework_modules:
            pytest.skip("no framework modules to block: override the 'framework_modules' fixture")
        block_modules(monkeypatch, framework_modules)
        for load in (saveur.load_model, saveur.pyfunc.load_model):
            with pytest.raises(MissingDependencyError) as info:
                load(saved_model, **load_options)
            message = str(info.value)
            assert "pip install" in message, f"the error does not say what to install: {message}"
            assert any(r in message for r in flavor_info.framework_requirements), (
                f"the error names none of {flavor_info.framework_requirements}: {message}"
            )

    def test_loader_module_load_pyfunc_predicts(
        self, saved_model: Path, model_input: Any, expected_output: Any, flavor_info: Any,
        load_options: dict[str, Any], tolerance: dict[str, float],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """MLflow's entry point, without MLflow: ``<loader_module>._load_pyfunc(path)``.

        The path is the one ``mlflow.pyfunc.load_model`` passes: the ``python_function.data``
        file when MLmodel sets it, else the model directory. A model naming MLflow's own loader
        (``mlflow.sklearn``) is checked through the plugin's own loader module here, and
        against stock MLflow in the MLflow check.
        """
        import importlib

        from saveur.models import Model

        conf = Model.load(saved_model).flavors.get("python_function") or {}
        loader = str(conf.get("loader_module") or "")
        if loader.startswith("mlflow."):
            own = [m for m in flavor_info.loader_modules if not m.startswith("mlflow.")]
            if not own:
                pytest.skip(f"the model names MLflow's loader {loader!r} and the plugin none")
            loader = own[0]
        assert loader, "MLmodel flavors.python_function has no loader_module"
        assert loader in flavor_info.loader_modules, (
            f"loader_module {loader!r} is not one of FlavorInfo.loader_modules"
        )
        if load_options.get("trust_code"):
            # MLflow's loader cannot pass trust: the deployer's setting is the only way.
            monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
        module = importlib.import_module(loader)
        load_pyfunc = getattr(module, "_load_pyfunc", None)
        assert callable(load_pyfunc), f"loader module {loader!r} has no _load_pyfunc(path)"
        data = conf.get("data")
        path = saved_model / str(data) if data else saved_model
        loaded = load_pyfunc(str(path))
        # MLflow calls the method named by python_function.predict_fn (default: predict).
        method = str(conf.get("predict_fn") or "predict")
        predict = getattr(loaded, method, None)
        assert callable(predict), (
            f"{loader}._load_pyfunc returned {type(loaded).__name__}, which has no method "
            f"{method!r} (python_function.predict_fn)"
        )
        assert_predictions_equal(predict(model_input), expected_output, **tolerance,
                                 what=f"{loader}._load_pyfunc")
