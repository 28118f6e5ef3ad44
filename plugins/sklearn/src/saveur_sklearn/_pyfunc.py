"""What MLflow gets when ``mlflow.pyfunc.load_model`` loads a model saved by saveur.

Only for models that name ``loader_module: saveur_sklearn`` (saved before saveur-sklearn's
models became portable; those name ``mlflow.sklearn``). MLflow imports the module and calls
``_load_pyfunc(path)``; no trust can be passed that way, so pickle-based models load only
where the deployer set ``SAVEUR_TRUST_CODE=1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SklearnModelWrapper:
    """The estimator as MLflow's pyfunc expects it: one attribute per prediction method."""

    def __init__(self, sklearn_model: Any) -> None:
        from saveur_sklearn._hooks import PREDICT_FNS

        self.sklearn_model = sklearn_model
        # Bound methods set once, so MLflow's getattr(model_impl, predict_fn) finds them.
        for name in PREDICT_FNS:
            fn = getattr(sklearn_model, name, None)
            if callable(fn):
                setattr(self, name, fn)

    def get_raw_model(self) -> Any:
        """Return the scikit-learn estimator."""
        return self.sklearn_model


def load_pyfunc(path: str) -> SklearnModelWrapper:
    """Load a saveur sklearn model for MLflow's pyfunc loader, digests checked."""
    import saveur
    from saveur.security import trust_from_env

    p = Path(path)
    # MLflow passes the model directory (our MLmodel has no 'data' key), but older callers
    # pass the model file itself.
    model_dir = p.parent if p.is_file() else p
    model = saveur.load_model(model_dir, flavor="sklearn", trust_code=trust_from_env(None))
    return SklearnModelWrapper(model)
