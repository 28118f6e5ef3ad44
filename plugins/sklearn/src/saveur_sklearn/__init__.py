"""saveur-sklearn: the ``sklearn`` flavor plugin for saveur.

Saves scikit-learn estimators and pipelines in the MLmodel format (skops by default; pickle
and cloudpickle on request), loads them back safely, and serves them through pyfunc. Models
saved by MLflow 3's ``mlflow.sklearn`` load the same way, and models saved here name
``mlflow.sklearn`` as their loader, so stock MLflow loads them with no saveur installed.
:func:`_load_pyfunc` serves models saved by earlier versions, which name ``saveur_sklearn``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur_sklearn._hooks import (
    FLAVOR,
    PREDICT_FNS,
    saveur_detect_flavor,
    saveur_flavors,
    saveur_infer_requirements,
    saveur_load_model,
    saveur_predict_function,
    saveur_save_model,
)
from saveur_sklearn._trust import is_vouched

if TYPE_CHECKING:
    import os

    from saveur.models import Model

__version__ = "0.1.0"

__all__ = [
    "FLAVOR",
    "PREDICT_FNS",
    "is_vouched",
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
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "skops",
    pyfunc_predict_fn: str = "predict",
    **kwargs: Any,
) -> Model:
    """Save a scikit-learn estimator at ``path``; other keywords as :func:`saveur.save_model`."""
    from saveur import save_model as _save_model

    return _save_model(sk_model, path, flavor=FLAVOR, serialization_format=serialization_format,
                       pyfunc_predict_fn=pyfunc_predict_fn, **kwargs)


def log_model(
    sk_model: Any,
    name: str,
    *,
    serialization_format: str = "skops",
    pyfunc_predict_fn: str = "predict",
    **kwargs: Any,
) -> Any:
    """Log a scikit-learn estimator to the active run; other keywords as :func:`saveur.log_model`."""
    from saveur import log_model as _log_model

    return _log_model(sk_model, name, flavor=FLAVOR, serialization_format=serialization_format,
                      pyfunc_predict_fn=pyfunc_predict_fn, **kwargs)


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    trust_code: bool = False,
    trusted_types: list[str | type] | None = None,
) -> Any:
    """Load the scikit-learn estimator of a model (saved by saveur or by MLflow 3).

    skops files load when every type in them is one saveur-sklearn vouches for (see
    :func:`is_vouched`) or is listed in ``trusted_types``, and, without ``trust_code``, when
    every index structure scikit-learn's compiled code follows is in range; pickle and
    cloudpickle files need ``trust_code=True``.
    """
    from saveur import load_model as _load_model

    options: dict[str, Any] = {}
    if trusted_types is not None:
        options["trusted_types"] = trusted_types
    return _load_model(model_uri, flavor=FLAVOR, trust_code=trust_code, **options)


def _load_pyfunc(path: str) -> Any:
    """MLflow's loader entry for models that name ``loader_module: saveur_sklearn``."""
    from saveur_sklearn._pyfunc import load_pyfunc

    return load_pyfunc(path)
