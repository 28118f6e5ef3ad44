"""saveur-fastai: the ``fastai`` flavor plugin for saveur.

Saves fastai Learners (tabular and vision) in the MLmodel format as ``Learner.export``
files, loads them back (a pickle: only with ``trust_code=True``), and serves them through
pyfunc. Models saved by MLflow 2's ``mlflow.fastai`` load the same way and answer in MLflow
2's output shape. MLflow 3 has no fastai flavor, so these models name this module as their
``loader_module`` and are not portable to stock MLflow 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saveur_fastai._hooks import (
    FLAVOR,
    MODEL_FILE,
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
    "MODEL_FILE",
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


def save_model(learner: Any, path: str | os.PathLike[str], **kwargs: Any) -> Model:
    """Save a fastai Learner at ``path``; keywords as :func:`saveur.save_model`."""
    from saveur import save_model as _save_model

    return _save_model(learner, path, flavor=FLAVOR, **kwargs)


def log_model(learner: Any, name: str, **kwargs: Any) -> Any:
    """Log a fastai Learner to the active run; keywords as :func:`saveur.log_model`."""
    from saveur import log_model as _log_model

    return _log_model(learner, name, flavor=FLAVOR, **kwargs)


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    trust_code: bool = False,
    device: str | None = None,
) -> Any:
    """Load the fastai Learner of a model (saved by saveur or by MLflow 2).

    A Learner export is a pickle, so loading runs code from the model file: it needs
    ``trust_code=True`` (or ``SAVEUR_TRUST_CODE=1``), else :class:`saveur.errors.TrustError`.
    The Learner is loaded on CPU, then moved to ``device`` (``"cuda"``) if given.
    """
    from saveur import load_model as _load_model

    options: dict[str, Any] = {}
    if device is not None:
        options["device"] = device
    return _load_model(model_uri, flavor=FLAVOR, trust_code=trust_code, **options)


def _load_pyfunc(path: str) -> Any:
    """MLflow's loader entry: ``mlflow.pyfunc.load_model`` calls this for saveur's models.

    No trust can be passed through MLflow, so the pickle loads only where the deployer set
    ``SAVEUR_TRUST_CODE=1``; digests are checked as in saveur.
    """
    from pathlib import Path

    import saveur.pyfunc
    from saveur.security import trust_from_env

    p = Path(path)
    # MLflow passes the 'data' file (model.fastai); the model directory holds it.
    model_dir = p.parent if p.is_file() else p
    # saveur's PyFuncModel has the predict(data, params) MLflow calls.
    return saveur.pyfunc.load_model(model_dir, trust_code=trust_from_env(None))
