"""saveur-polynomial: an example flavor plugin, small enough to read in one sitting.

It saves numpy's polynomial series (``numpy.polynomial.Polynomial``, ``Chebyshev``...) as a
JSON file of coefficients: no pickle, so loading runs no code the model carries. Copy this
package to start your own plugin; every hook below is one a flavor plugin implements.

Rule of thumb: import the framework only inside functions, so that listing plugins stays
fast, and turn a missing framework into :class:`saveur.errors.MissingDependencyError`.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from saveur.errors import IntegrityError, MissingDependencyError, PluginError, SaveError
from saveur.flavor_options import check_options
from saveur.hookspecs import (
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)

FLAVOR = "polynomial"
DISTRIBUTION = "saveur-polynomial"
MODEL_FILE = "polynomial.json"

#: The series classes this flavor saves; loading looks the class up here, never by a name
#: taken from the file, so a model file cannot make the loader import anything else.
SERIES = ("Polynomial", "Chebyshev", "Legendre", "Laguerre", "Hermite", "HermiteE")


def _polynomial_module() -> Any:
    try:
        import numpy.polynomial as polynomial
    except ImportError as e:
        raise MissingDependencyError(
            f"the {FLAVOR!r} flavor needs numpy (numpy.polynomial), which cannot be imported "
            f"({e}): pip install numpy"
        ) from e
    return polynomial


# --- broadcast hooks -------------------------------------------------------------------


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    """Say which flavor this plugin provides, and what it needs."""
    return [
        FlavorInfo(
            key=FLAVOR,
            distribution=DISTRIBUTION,
            framework_requirements=("numpy",),
            loader_modules=("saveur_polynomial",),
            description="numpy polynomial series, saved as JSON coefficients",
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    """Claim numpy polynomial series, by looking at the type's module only (no import).

    The claim names the class matched on: when two plugins claim one object, the one that
    matched a class nearer to the object's own (in its ``__mro__``) wins.
    """
    for cls in type(model).__mro__:
        if cls.__module__.startswith("numpy.polynomial.") and cls.__name__ in SERIES:
            return FlavorClaim(FLAVOR, cls)
    return None


# --- flavor-keyed hooks ----------------------------------------------------------------


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    """Write the coefficients, domain and window as JSON; no options are accepted."""
    # The host removes its own options (signature, input_example...) before this hook; what is
    # left is the caller's, and an option we do not know must be refused by name, never ignored.
    check_options(FLAVOR, options, (), what="save", error=SaveError)
    kind = type(model).__name__
    state = {
        "kind": kind,
        "coef": [float(c) for c in model.coef],  # type: ignore[attr-defined]
        "domain": [float(d) for d in model.domain],  # type: ignore[attr-defined]
        "window": [float(w) for w in model.window],  # type: ignore[attr-defined]
    }
    (Path(path) / MODEL_FILE).write_text(json.dumps(state), encoding="utf-8")
    return SavedFlavor(
        flavor_conf={"model_file": MODEL_FILE, "kind": kind},
        pyfunc_conf={"loader_module": "saveur_polynomial", "data": MODEL_FILE},
        files=(MODEL_FILE,),
    )


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    """Rebuild the series from its JSON file (opened through contained_path)."""
    from saveur.security import contained_path

    check_options(FLAVOR, context.options, (), what="load", error=PluginError)
    polynomial = _polynomial_module()
    path = contained_path(context.model_dir, flavor_conf.get("model_file", MODEL_FILE))
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        kind = state["kind"]
        coef, domain, window = state["coef"], state["domain"], state["window"]
    except (ValueError, KeyError, TypeError) as e:
        raise IntegrityError(f"{path.name} is not a valid {FLAVOR} model file: {e}") from e
    if kind not in SERIES:
        raise PluginError(f"{path.name} names series {kind!r}; this plugin loads {SERIES}")
    return getattr(polynomial, kind)(coef, domain=domain, window=window)


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Evaluate the series at each input value (resolved once; called on every predict)."""
    import numpy as np

    evaluate = model.__call__  # type: ignore[operator]

    def predict(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return evaluate(np.asarray(model_input, dtype=np.float64))

    return predict


@hookimpl
def saveur_infer_requirements(
    flavor: str, model: object, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Pin numpy and this plugin as installed (the host adds saveur itself).

    ``model`` is the object just saved: a plugin whose objects can hold other packages'
    classes pins those distributions too. A series holds only numpy floats.
    """
    pins = []
    for dist in ("numpy", DISTRIBUTION):
        try:
            pins.append(f"{dist}=={version(dist).split('+', 1)[0]}")
        except PackageNotFoundError:
            continue
    return pins


# --- MLflow's loader -------------------------------------------------------------------


class _PyfuncWrapper:
    """What ``mlflow.pyfunc.load_model`` gets: an object with ``predict(data)``."""

    def __init__(self, series: Any) -> None:
        self._series = series

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        return self._series(np.asarray(data, dtype=np.float64))


def _load_pyfunc(path: str) -> _PyfuncWrapper:
    """Called by ``mlflow.pyfunc.load_model`` with ``python_function.data``: load via saveur."""
    import saveur

    p = Path(path)
    model_dir = p.parent if p.is_file() else p
    return _PyfuncWrapper(saveur.load_model(model_dir, flavor=FLAVOR))
