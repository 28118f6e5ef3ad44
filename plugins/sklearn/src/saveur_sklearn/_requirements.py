"""The pinned pip requirements of a saved scikit-learn model, from installed metadata."""

from __future__ import annotations

import inspect
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from typing import Any

from saveur_sklearn._formats import CLOUDPICKLE, SKOPS

DISTRIBUTION = "saveur-sklearn"


@lru_cache(maxsize=64)
def _pinned(dist: str) -> str | None:
    try:
        installed = version(dist)
    except PackageNotFoundError:
        return None
    # A local label (1.9.1+cpu) names a build pip cannot fetch from an index: drop it.
    return f"{dist}=={installed.split('+', 1)[0]}"


@lru_cache(maxsize=1)
def _owners() -> dict[str, list[str]]:
    # importlib.metadata reads every installed distribution's metadata for this (~0.4 s in a
    # large env): once per process, not once per save.
    return packages_distributions()


#: How deep the walk through nested estimators goes; a real pipeline is a few levels deep, and
#: the bound keeps a self-referencing object from walking forever.
_MAX_DEPTH = 12


def infer_requirements(serialization_format: str, model: object = None) -> list[str]:
    """Pin scikit-learn, numpy, scipy, the format's library and the distributions of the
    classes ``model`` holds, as installed.

    saveur-sklearn is not pinned: its models name MLflow's loader and install from a package
    index alone; MLmodel's ``saveur`` block records the plugin that wrote them.
    """
    dists = ["scikit-learn", "numpy", "scipy"]
    if serialization_format == SKOPS:
        dists.append("skops")
    elif serialization_format == CLOUDPICKLE:
        dists.append("cloudpickle")
    dists.extend(d for d in held_distributions(model) if d not in dists)
    return [pin for pin in map(_pinned, dists) if pin is not None]


def held_distributions(model: object) -> list[str]:
    """The distributions that provide the classes (and functions) ``model`` holds.

    Walks the estimator's attributes: a Pipeline's steps, a ColumnTransformer's transformers,
    a meta-estimator's estimators, fitted or not, and the functions a FunctionTransformer
    calls. Each class's top-level module is mapped to its installed distribution; modules no
    distribution installs (the standard library, ``__main__``, a local file) add nothing.
    """
    if model is None:
        return []
    modules: set[str] = set()
    _walk(model, modules, set(), 0)
    owners = _owners()
    found: list[str] = []
    for module in sorted(modules):
        if module in sys.stdlib_module_names:
            continue
        for dist in owners.get(module, ()):
            if dist not in found:
                found.append(dist)
    return found


def _walk(obj: object, modules: set[str], seen: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _walk(item, modules, seen, depth + 1)
    elif isinstance(obj, dict):
        for item in obj.values():
            _walk(item, modules, seen, depth + 1)
    elif isinstance(obj, type) or inspect.isroutine(obj):
        # A class or a function held as a value (FunctionTransformer(func=...)).
        _add_module(getattr(obj, "__module__", None), modules)
    elif callable(getattr(obj, "get_params", None)):  # an estimator: its class and its parts
        modules.update(_class_modules(type(obj)))
        skip = _plain_types()
        for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
            if type(value) not in skip:  # a fitted forest holds thousands of arrays
                _walk(value, modules, seen, depth + 1)


@lru_cache(maxsize=1024)
def _class_modules(cls: type) -> frozenset[str]:
    """The top-level modules of ``cls`` and its bases (once per class, not per estimator)."""
    modules: set[str] = set()
    for base in cls.__mro__:
        _add_module(base.__module__, modules)
    return frozenset(modules)


def _plain_types() -> frozenset[type]:
    """Exact types of attribute values that hold no class: numbers, strings, arrays."""
    np = sys.modules.get("numpy")
    if np is None:
        return _PLAIN
    return _plain_with_numpy(np)


_PLAIN = frozenset({str, bytes, int, float, bool, complex, type(None)})


@lru_cache(maxsize=1)
def _plain_with_numpy(np: Any) -> frozenset[type]:
    scalars = {
        t
        for t in set(np.sctypeDict.values())
        if issubclass(t, (np.number, np.bool_, np.str_, np.bytes_))
    }
    return _PLAIN | scalars | {np.ndarray}


def _add_module(module: object, modules: set[str]) -> None:
    if isinstance(module, str) and module:
        modules.add(module.partition(".")[0])
