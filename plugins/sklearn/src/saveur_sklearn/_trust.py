"""Which types and functions a skops file may name without the caller's trust: an allowlist.

skops builds a tree of the objects in a file without creating them and reports every type
outside its own safe defaults (primitives, containers, numpy arrays and dtypes, numpy/scipy
ufuncs, random generators, scikit-learn's public estimators). This module decides which of
those reported names the plugin vouches for; everything else needs the caller's
``trusted_types=`` or ``trust_code=True``.

**The allowlist.** A name is vouched for only when it is in one of these sets, all computed
once from installed code (never from the file) and cached:

- scikit-learn's estimators and transformers, as ``sklearn.utils.all_estimators()`` lists
  them (skops computes that list when it is imported; it is reused, not recomputed);
- the helper objects fitted estimators hold, listed by hand in :data:`_SKLEARN_HELPERS`
  (trees, tree predictors, KD/ball trees, distance metrics, loss and link objects, kernels,
  cross-validation splitters, calibrators) and checked by :mod:`saveur_sklearn._indices`
  after construction where they hold indices that compiled code follows;
- numpy arrays, dtypes and scalar types, and scipy's sparse matrix and array containers;
- ``functools.partial``, whose construction calls nothing (its function is audited on its
  own).

Their reconstruction is data-only: skops creates them with ``cls.__new__`` and their own
``__setstate__`` copies arrays and numbers. A type is not vouched for because of where it
lives: ``scipy.stats`` distributions (whose ``__setstate__`` can ``exec()`` a string from the
file), ``sklearn.utils._testing``, ``sklearn.datasets``, ``numpy.memmap`` or ``scipy.io`` are
all refused, as is any type not named here.

**Functions.** A function reference chooses code that runs at predict time, so only the
numpy/scipy ufuncs skops trusts itself and the few scikit-learn functions that fitted
estimators store as parameter values (:data:`_FUNCTIONS`) are vouched for. Bound methods
(``MethodNode``), ``operator.attrgetter``/``itemgetter``/``methodcaller`` and every other
function need the caller's trust.
"""

from __future__ import annotations

import sys
from functools import cache

from saveur.errors import TrustError

#: Non-estimator scikit-learn classes that fitted estimators hold; each one's reconstruction
#: is a ``__setstate__`` (or ``__dict__`` update) of arrays and numbers.
_SKLEARN_HELPERS = (
    # decision trees (every tree model): node arrays, checked by _indices
    "sklearn.tree._tree.Tree",
    # HistGradientBoosting: predictor node arrays (checked by _indices) and the binner
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # nearest neighbours: the search trees (checked by _indices)
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._kd_tree.KDTree64",
    "sklearn.neighbors._kd_tree.KDTree32",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._ball_tree.BallTree64",
    "sklearn.neighbors._ball_tree.BallTree32",
    # Voting/Stacking keep their estimators in a Bunch (a dict)
    "sklearn.utils._bunch.Bunch",
    # ColumnTransformer's column selector: a regex and dtype lists
    "sklearn.compose._column_transformer.make_column_selector",
    # CalibratedClassifierCV
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # OneVsRest/OneVsOne for a class seen alone at fit
    "sklearn.multiclass._ConstantPredictor",
    # MLP keeps its optimizer after fit
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
)

#: (module, base class name): every class of the module derived from the base and defined
#: there. Families whose members are all plain data holders.
_SKLEARN_FAMILIES = (
    ("sklearn._loss.loss", "BaseLoss"),
    ("sklearn._loss.link", "BaseLink"),
    ("sklearn.gaussian_process.kernels", "Kernel"),
    ("sklearn.model_selection._split", "BaseCrossValidator"),
    ("sklearn.model_selection._split", "BaseShuffleSplit"),
)

#: Distance metrics: all but PyFuncDistance, which exists to call a function.
_DIST_METRICS_MODULE = "sklearn.metrics._dist_metrics"

#: Functions that scikit-learn stores in fitted estimators as parameter values: the default
#: ``score_func`` of the univariate feature selectors and HistGradientBoosting's categorical
#: preprocessing (``functools.partial(check_array, ...)``). All are numeric.
_FUNCTIONS = (
    "sklearn.utils.validation.check_array",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
    "sklearn.feature_selection._univariate_selection.f_oneway",
    "sklearn.feature_selection._univariate_selection.r_regression",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
)

#: Module parts that never hold a vouched type, even if all_estimators() lists one there.
_DENIED_PARTS = frozenset({"tests", "testing", "_testing", "conftest", "externals", "_mocking"})


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _classes_in(module_name: str, base_name: str) -> set[str]:
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = __import__(module_name, fromlist=["_"])
        except ImportError:
            return set()
    base = getattr(module, base_name, None)
    if not isinstance(base, type):
        return set()
    return {
        _name(obj)
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == module_name
    }


def _estimator_names() -> set[str]:
    try:  # skops computed all_estimators() when it was imported: reuse it
        from saveur_sklearn._skops_import import import_skops_io

        import_skops_io()
        from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES

        names = set(SKLEARN_ESTIMATOR_TYPE_NAMES)
    except ImportError:
        from sklearn.utils import all_estimators

        names = {_name(cls) for _, cls in all_estimators()}
    return {
        n for n in names
        if n.startswith("sklearn.") and not _DENIED_PARTS.intersection(n.split("."))
    }


def _numpy_names() -> set[str]:
    import numpy as np

    # Random states are restored from their numeric state (skops trusts them itself).
    names = {"numpy.ndarray", "numpy.dtype", "numpy.ma.core.MaskedArray",
             "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator"}
    # Scalar types and their abstract bases (ColumnTransformer selectors store np.number).
    scalars = set(np.sctypeDict.values()) | {
        np.generic, np.number, np.integer, np.signedinteger, np.unsignedinteger,
        np.inexact, np.floating, np.complexfloating, np.flexible, np.character,
    }
    for t in scalars:
        names.add(f"numpy.{t.__name__}")
        names.add(_name(t))
    return names


def _scipy_sparse_names() -> set[str]:
    import scipy.sparse

    # The formats estimators store, whose index arrays _indices checks; dia, dok and lil
    # are not vouched for.
    formats = ("csr", "csc", "coo", "bsr")
    return {
        _name(cls)
        for f in formats
        for kind in ("matrix", "array")
        if isinstance(cls := getattr(scipy.sparse, f"{f}_{kind}", None), type)
    }


@cache
def vouched_types() -> frozenset[str]:
    """Every type name the plugin vouches for in a skops file (computed once)."""
    names = _estimator_names() | set(_SKLEARN_HELPERS)
    for module, base in _SKLEARN_FAMILIES:
        names |= _classes_in(module, base)
    for base in ("DistanceMetric64", "DistanceMetric32"):
        names |= {n for n in _classes_in(_DIST_METRICS_MODULE, base) if "PyFunc" not in n}
    names |= _numpy_names() | _scipy_sparse_names()
    names.add("functools.partial")
    return frozenset(names)


def is_vouched(type_name: str) -> bool:
    """Say whether the plugin vouches for the type ``type_name`` found in a skops file."""
    return type_name in vouched_types()


def is_vouched_function(name: str) -> bool:
    """Say whether the plugin vouches for a function reference ``name`` in a skops file."""
    return name in _FUNCTIONS


def unvouched(
    types: set[str] | list[str],
    trusted_types: tuple[str, ...] = (),
    functions: set[str] | list[str] = (),
) -> list[str]:
    """Return the types and functions of a skops file that neither the plugin nor the
    caller trusts, sorted."""
    caller = set(trusted_types)
    refused = {t for t in types if t not in caller and not is_vouched(t)}
    refused |= {f for f in functions if f not in caller and not is_vouched_function(f)}
    return sorted(refused)


def normalize_trusted_types(trusted_types: object) -> tuple[str, ...]:
    """Turn the caller's ``trusted_types`` (names or classes) into fully qualified names."""
    if trusted_types is None:
        return ()
    if isinstance(trusted_types, (str, type)):
        trusted_types = [trusted_types]
    if not isinstance(trusted_types, (list, tuple, set, frozenset)):
        raise TrustError(
            "trusted_types must be a list of fully qualified type names or classes, "
            f"got {type(trusted_types).__name__}"
        )
    names = []
    for t in trusted_types:
        if isinstance(t, type):
            names.append(f"{t.__module__}.{t.__qualname__}")
        elif isinstance(t, str) and t:
            names.append(t)
        else:
            raise TrustError(
                "trusted_types must hold fully qualified type names (str) or classes, "
                f"got {t!r}"
            )
    return tuple(names)
