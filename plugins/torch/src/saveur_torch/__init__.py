"""saveur-torch: the ``pytorch`` flavor plugin for saveur.

Saves ``torch.nn.Module`` models in the MLmodel format: ``export`` (default; ``torch.export``
to MLflow 3's own pt2 layout, loadable by stock MLflow, no pickle), ``state_dict``
(safetensors weights rebuilt from the module's installed class) or ``pickle``. Models saved by
MLflow 3's ``mlflow.pytorch`` load the same way. torch is imported only when a model is saved
or loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur_torch._hooks import (
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

    from saveur.models import Model

__version__ = "0.1.0"

__all__ = [
    "FLAVOR",
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


def _options(
    serialization_format: str, input_example: Any, example_inputs: Any, init_kwargs: Any
) -> dict[str, Any]:
    options: dict[str, Any] = {"serialization_format": serialization_format}
    if example_inputs is not None:
        options["example_inputs"] = example_inputs
    elif input_example is not None and serialization_format == "export":
        # the data part of an (input, params) example traces the module
        is_pair = isinstance(input_example, tuple) and len(input_example) == 2 and isinstance(
            input_example[1], dict)
        options["example_inputs"] = input_example[0] if is_pair else input_example
    if init_kwargs is not None:
        options["init_kwargs"] = init_kwargs
    return options


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "export",
    input_example: Any = None,
    example_inputs: Any = None,
    init_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Model:
    """Save a module at ``path``; other keywords as :func:`saveur.save_model`.

    ``export`` traces the module on ``input_example`` (or ``example_inputs``, when the
    example to record differs) with a dynamic batch dimension. ``state_dict`` rebuilds the
    module at load as ``ItsClass(**init_kwargs)``.
    """
    from saveur import save_model as _save_model

    return _save_model(
        pytorch_model, path, flavor=FLAVOR, input_example=input_example,
        **_options(serialization_format, input_example, example_inputs, init_kwargs), **kwargs,
    )


def log_model(
    pytorch_model: Any,
    name: str,
    *,
    serialization_format: str = "export",
    input_example: Any = None,
    example_inputs: Any = None,
    init_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Log a module to the active run; keywords as :func:`save_model`."""
    from saveur import log_model as _log_model

    return _log_model(
        pytorch_model, name, flavor=FLAVOR, input_example=input_example,
        **_options(serialization_format, input_example, example_inputs, init_kwargs), **kwargs,
    )


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    device: str | None = None,
    trust_code: bool = False,
) -> Any:
    """Load the module of a model saved by saveur or by MLflow 3 (eval mode, on ``device``).

    An exported model gives the program's module; its archive is checked to hold no code
    before torch reads it. Pickled models need ``trust_code=True``.
    """
    from saveur import load_model as _load_model

    options: dict[str, Any] = {} if device is None else {"device": device}
    return _load_model(model_uri, flavor=FLAVOR, trust_code=trust_code, **options)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> Any:
    """MLflow's loader entry: ``mlflow.pyfunc.load_model`` calls this for saveur's models."""
    from saveur_torch._mlflow_entry import load_pyfunc

    return load_pyfunc(path, model_config)
