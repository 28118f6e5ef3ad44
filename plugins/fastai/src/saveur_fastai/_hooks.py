"""The pluggy hook implementations of the ``fastai`` flavor.

Nothing here imports fastai or torch at module level: the host imports every plugin to list
its flavors, and that must stay cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saveur.errors import MissingDependencyError, PluginError, SaveError
from saveur.flavor_options import check_options
from saveur.hookspecs import (
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)

FLAVOR = "fastai"
DISTRIBUTION = "saveur-fastai"
#: The file MLflow 2's ``mlflow.fastai`` wrote, and saveur-fastai writes: ``Learner.export``.
MODEL_FILE = "model.fastai"
#: ``python_function.loader_module`` of models MLflow 2 wrote; their pyfunc output keeps
#: MLflow 2's shape so clients moved to saveur see no change.
MLFLOW2_LOADER = "mlflow.fastai"
LOADER = "saveur_fastai"

_LOAD_OPTIONS = ("device", "batch_size")


def import_learner_module() -> Any:
    """Import ``fastai.learner``, or say what to install."""
    try:
        import fastai.learner as learner_module
    except ImportError as e:
        raise MissingDependencyError(
            f"the {FLAVOR!r} flavor needs fastai (and torch), which cannot be imported ({e}): "
            "pip install fastai"
        ) from e
    return learner_module


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    """The ``fastai`` flavor: fastai Learners (tabular and vision)."""
    return [
        FlavorInfo(
            key=FLAVOR,
            distribution=DISTRIBUTION,
            framework_requirements=("fastai", "torch"),
            loader_modules=(LOADER, MLFLOW2_LOADER),
            description="fastai Learners (Learner.export pickle); reads MLflow 2's fastai models",
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    """Claim objects whose class is, or derives from, ``fastai.learner.Learner``."""
    # Module and qualified names only: fastai is not imported to answer.
    for cls in type(model).__mro__:
        if getattr(cls, "__module__", "") == "fastai.learner" and cls.__qualname__ == "Learner":
            return FlavorClaim(FLAVOR, cls)
    return None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    """Export the Learner to ``model.fastai`` with MLflow 2's flavor keys (``data``, ``fastai_version``)."""
    check_options(FLAVOR, options, (), what="save", error=SaveError)
    learner_module = import_learner_module()
    if not isinstance(model, learner_module.Learner):
        raise SaveError(
            f"the {FLAVOR!r} flavor saves fastai.learner.Learner objects, got "
            f"{type(model).__module__}.{type(model).__qualname__}"
        )
    import fastai

    from saveur_fastai._predict import export_learner

    export_learner(model, Path(path) / MODEL_FILE)
    flavor_conf = {"data": MODEL_FILE, "fastai_version": fastai.__version__}
    pyfunc_conf = {"loader_module": LOADER, "data": MODEL_FILE}
    return SavedFlavor(flavor_conf=flavor_conf, pyfunc_conf=pyfunc_conf, files=(MODEL_FILE,))


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    """Load the exported Learner (a pickle: needs ``trust_code``), on CPU or ``device``."""
    from saveur.security import contained_path, require_trust

    check_options(FLAVOR, context.options, _LOAD_OPTIONS, what="load", error=PluginError)
    rel = flavor_conf.get("data")
    if not isinstance(rel, str):
        raise PluginError(f"the {FLAVOR!r} flavor in MLmodel has no 'data' file name")
    path = contained_path(context.model_dir, rel, "fastai data")
    require_trust(context.trust_code, f"loading {rel!r} (a fastai Learner export, which is a pickle)")
    import_learner_module()
    from saveur_fastai._predict import load_learner

    return load_learner(path, context.options.get("device"))


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Build the predict function once: test DataLoader, ``get_preds`` silently, then shape."""
    from saveur_fastai._predict import make_predict

    batch_size = context.options.get("batch_size")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise PluginError(f"batch_size must be a positive integer, got {batch_size!r}")
    mlflow2 = pyfunc_conf.get("loader_module") == MLFLOW2_LOADER
    return make_predict(model, mlflow2_output=mlflow2, batch_size=batch_size)


@hookimpl
def saveur_infer_requirements(
    flavor: str, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Pin fastai, torch, fastcore and saveur-fastai as installed (local labels dropped)."""
    from saveur_fastai._requirements import infer_requirements

    return infer_requirements()
