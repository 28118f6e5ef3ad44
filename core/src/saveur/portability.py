"""Whether a saved model loads in stock MLflow with no saveur distribution installed.

A model is *portable* when its ``python_function`` block names one of MLflow's own loader
modules (``mlflow.sklearn``) and its requirements name no saveur distribution: MLflow's
``mlflow.pyfunc.load_model``, ``mlflow models serve`` and the platforms built on them (Azure
ML's no-code deployment, Databricks) then load it unchanged, from a package index alone. A
plugin opts in with :attr:`saveur.hookspecs.FlavorInfo.mlflow_loader_module`; other flavors
name the plugin's own module and need the plugin (and saveur) installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saveur.mlmodel import Model

__all__ = ["MLFLOW_REQUIREMENT", "Portability", "check_portability", "names_mlflow",
           "names_saveur_distribution"]

#: What a portable model's requirements say about MLflow. MLflow's own env managers
#: (``mlflow models serve --env-manager virtualenv|uv|conda``) rebuild the model's environment
#: from requirements.txt and run MLflow's scoring server inside it, installing MLflow there
#: only when the model lists it (or with ``--install-mlflow``): MLflow itself writes
#: ``mlflow==<its version>`` first for that reason. The lower bound is the MLflow the
#: ``compat-stock`` check proves reads these files (skops models need a recent MLflow 3);
#: the upper bound keeps a future format change out.
MLFLOW_REQUIREMENT = "mlflow>=3.17.2,<4"

_MLFLOW_NAMES = ("mlflow", "mlflow-skinny")


@dataclass(frozen=True)
class Portability:
    """``portable`` and, in words, why (or why not)."""

    portable: bool
    reason: str


def _requirement_name(line: str) -> str | None:
    import re

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return re.sub(r"[-_.]+", "-", Requirement(line).name).lower()
    except InvalidRequirement:
        return None


def names_saveur_distribution(line: str) -> bool:
    """Whether a requirement line names ``saveur`` or a ``saveur-*`` plugin."""
    name = _requirement_name(line)
    return name is not None and (name == "saveur" or name.startswith("saveur-"))


def names_mlflow(line: str) -> bool:
    """Whether a requirement line names ``mlflow`` or ``mlflow-skinny``."""
    return _requirement_name(line) in _MLFLOW_NAMES


#: MLflow loader modules that MLflow 2 wrote and MLflow 3 no longer has.
_GONE_FROM_MLFLOW_3 = {
    "mlflow.fastai": "MLflow 3 has no fastai flavor (MLflow 2.x wrote it)",
}


def check_portability(model_dir: str | Path, mlmodel: Model | None = None) -> Portability:
    """Say whether the model at ``model_dir`` loads in stock MLflow without saveur, and why.

    Judged from the model's files only (MLmodel and requirements.txt), not from the plugins
    installed here: what matters is what a machine with only MLflow would do.
    """
    from saveur.environment import read_requirements
    from saveur.errors import EnvironmentBuildError
    from saveur.mlmodel import Model

    model_dir = Path(model_dir)
    if mlmodel is None:
        mlmodel = Model.load(model_dir)
    conf = mlmodel.pyfunc_conf
    if conf is None:
        return Portability(False, "it has no python_function flavor, so MLflow cannot load it "
                                  "as pyfunc")
    loader = conf.get("loader_module")
    if not isinstance(loader, str) or not loader:
        return Portability(False, "its python_function flavor names no loader_module")
    if loader in _GONE_FROM_MLFLOW_3:
        return Portability(
            False,
            f"python_function.loader_module is {loader!r}: {_GONE_FROM_MLFLOW_3[loader]}, so "
            "stock MLflow 3 cannot load it",
        )
    if loader != "mlflow" and not loader.startswith("mlflow."):
        return Portability(
            False,
            f"python_function.loader_module is {loader!r}, not one of MLflow's modules: stock "
            "MLflow needs the package that provides it installed (the saveur plugin of a "
            "flavor MLflow does not have)",
        )
    try:
        requirements = read_requirements(model_dir)
    except EnvironmentBuildError as exc:
        return Portability(False, f"its requirements cannot be read: {exc}")
    ours = [line for line in requirements if names_saveur_distribution(line)]
    if ours:
        return Portability(
            False,
            f"its requirements name {', '.join(map(repr, ours))}, which a platform cannot install from a "
            "package index; save it again without them in pip_requirements",
        )
    return Portability(
        True,
        f"python_function.loader_module is MLflow's {loader!r} and its requirements name no "
        "saveur distribution",
    )
