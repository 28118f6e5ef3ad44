"""The pluggy hook implementations of the ``sklearn`` flavor.

Nothing here imports scikit-learn at module level: the host imports every plugin to list its
flavors, and that must stay cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saveur.errors import PluginError, SaveError
from saveur.flavor_options import check_options
from saveur.hookspecs import (
    ArrayInput,
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)
from saveur_sklearn import _formats
from saveur_sklearn._requirements import DISTRIBUTION, infer_requirements
from saveur_sklearn._trust import normalize_trusted_types

FLAVOR = "sklearn"
#: MLflow's own loader for the flavor: saved models name it, so stock MLflow serves them.
MLFLOW_LOADER_MODULE = "mlflow.sklearn"

#: The estimator methods a pyfunc model may call, as ``pyfunc_predict_fn``.
PREDICT_FNS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "predict_joint_log_proba",
    "decision_function",
    "transform",
)

_SAVE_OPTIONS = ("serialization_format", "pyfunc_predict_fn")
_LOAD_OPTIONS = ("trusted_types",)


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    """The ``sklearn`` flavor: scikit-learn estimators and pipelines."""
    return [
        FlavorInfo(
            key=FLAVOR,
            distribution=DISTRIBUTION,
            framework_requirements=("scikit-learn", "skops"),
            loader_modules=("saveur_sklearn", MLFLOW_LOADER_MODULE),
            description="scikit-learn estimators and pipelines (skops, pickle, cloudpickle)",
            mlflow_loader_module=MLFLOW_LOADER_MODULE,
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    """Claim any object whose class or a base class comes from scikit-learn and has get_params.

    The claim names the nearest scikit-learn class in the MRO, so a plugin for a class built on
    scikit-learn's (XGBoost's ``XGBClassifier``, say) is nearer and wins.
    """
    # Looking at module names only: scikit-learn is not imported to answer.
    if not callable(getattr(model, "get_params", None)):
        return None
    for cls in type(model).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module == "sklearn" or module.startswith("sklearn."):
            return FlavorClaim(FLAVOR, cls)
    return None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    """Write the estimator as ``model.skops`` (or ``model.pkl``) with MLflow 3's flavor keys."""
    check_options(FLAVOR, options, _SAVE_OPTIONS, what="save", error=SaveError)
    fmt = _formats.check_format(options.get("serialization_format", _formats.SKOPS))
    predict_fn = options.get("pyfunc_predict_fn", "predict")
    if predict_fn not in PREDICT_FNS:
        raise SaveError(
            f"pyfunc_predict_fn {predict_fn!r} is not supported; use one of "
            f"{', '.join(PREDICT_FNS)}"
        )
    if not callable(getattr(model, predict_fn, None)):
        raise SaveError(
            f"{type(model).__name__} has no method {predict_fn!r}, so it cannot be used as "
            "pyfunc_predict_fn; pick a method the estimator has (e.g. 'transform' for a transformer)"
        )
    rel = _formats.MODEL_FILE[fmt]
    trusted = _formats.dump(model, Path(path) / rel, fmt)
    import sklearn  # imported by dump already; only its version is read here

    flavor_conf = {
        "pickled_model": rel,
        "sklearn_version": sklearn.__version__,
        "serialization_format": fmt,
        "code": None,
        "skops_trusted_types": trusted,
    }
    # Exactly MLflow 3's python_function keys for sklearn (the host adds env and
    # python_version), so stock MLflow loads the model without saveur installed.
    pyfunc_conf = {"loader_module": MLFLOW_LOADER_MODULE, "model_path": rel,
                   "predict_fn": predict_fn}
    return SavedFlavor(flavor_conf=flavor_conf, pyfunc_conf=pyfunc_conf, files=(rel,))


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    """Load the estimator; skops types are checked against the plugin's and caller's trust."""
    from saveur.security import contained_path

    check_options(FLAVOR, context.options, _LOAD_OPTIONS, what="load", error=PluginError)
    trusted_types = normalize_trusted_types(context.options.get("trusted_types"))
    # MLflow writes no serialization_format for old models: those were pickles.
    fmt = flavor_conf.get("serialization_format", _formats.PICKLE)
    if fmt not in _formats.FORMATS:
        raise PluginError(
            f"MLmodel names serialization_format {fmt!r} for flavor 'sklearn'; this version of "
            f"saveur-sklearn reads {', '.join(_formats.FORMATS)}"
        )
    rel = flavor_conf.get("pickled_model")
    if not isinstance(rel, str):
        raise PluginError("the 'sklearn' flavor in MLmodel has no 'pickled_model' file name")
    path = contained_path(context.model_dir, rel, "sklearn pickled_model")
    return _formats.load(path, fmt, rel_name=rel, trust_code=context.trust_code,
                         trusted_types=trusted_types)


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Resolve the ``predict_fn`` method once; the returned function calls it directly."""
    name = pyfunc_conf.get("predict_fn") or "predict"
    method = getattr(model, name, None) if name in PREDICT_FNS else None
    if method is None:
        raise PluginError(
            f"the model's predict_fn is {name!r}, which "
            + (f"{type(model).__name__} does not have" if name in PREDICT_FNS
               else f"saveur-sklearn does not call (it calls {', '.join(PREDICT_FNS)})")
        )

    from saveur_sklearn._fastpath import array_columns, array_predict, values_predict

    # A frame that already matches the fitted columns goes to the estimator as an ndarray:
    # scikit-learn's frame validation costs more than a small prediction (see _fastpath.py).
    columns = array_columns(model, name)
    call = method if columns is None else array_predict(method, columns)

    def predict(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return call(model_input)

    if columns is not None:
        # and a host holding such a table's values need not build the frame at all
        predict.array_input = ArrayInput(  # type: ignore[attr-defined]
            tuple(columns), values_predict(method, columns)
        )
    return predict


@hookimpl
def saveur_infer_requirements(
    flavor: str, model: object, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Pin scikit-learn, numpy, scipy, skops or cloudpickle and the distributions of the classes
    the estimator holds (a pipeline's third-party step), as installed (no saveur distribution)."""
    return infer_requirements(flavor_conf.get("serialization_format", _formats.SKOPS), model)
