"""Helpers the conformance kit uses, exported for plugin authors' own tests too."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest


def normalize_dist(name: str) -> str:
    """Normalize a distribution name as pip does (PEP 503): ``Saveur_SKLearn`` -> ``saveur-sklearn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def to_comparable(value: Any) -> Any:
    """Turn a prediction into numpy arrays (or a dict of them) so two can be compared.

    Handles pandas objects, numpy arrays, lists, dicts of outputs, and tensors that offer
    ``.detach()``/``.numpy()`` (torch, TensorFlow) without importing their frameworks.
    """
    import numpy as np

    if isinstance(value, dict):
        return {k: to_comparable(v) for k, v in value.items()}
    if hasattr(value, "to_numpy"):  # pandas DataFrame, Series, Index
        return value.to_numpy()
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu") and callable(value.cpu):
        value = value.cpu()
    if hasattr(value, "numpy") and callable(value.numpy):
        return value.numpy()
    return np.asarray(value)


def assert_predictions_equal(
    actual: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 0.0, what: str = ""
) -> None:
    """Assert two predictions hold the same values (numbers within ``rtol``/``atol``)."""
    import numpy as np

    a, e = to_comparable(actual), to_comparable(expected)
    label = f"{what}: " if what else ""
    if isinstance(e, dict) or isinstance(a, dict):
        assert isinstance(a, dict) and isinstance(e, dict), f"{label}one output is a dict"
        assert sorted(a) == sorted(e), f"{label}output keys differ: {sorted(a)} != {sorted(e)}"
        for key in e:
            assert_predictions_equal(a[key], e[key], rtol=rtol, atol=atol, what=f"{what}[{key}]")
        return
    assert a.shape == e.shape, f"{label}shapes differ: {a.shape} != {e.shape}"
    if np.issubdtype(a.dtype, np.number) and np.issubdtype(e.dtype, np.number):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=label)
    else:
        np.testing.assert_array_equal(a, e, err_msg=label)


def block_modules(monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> None:
    """Make ``import name`` (and every submodule) fail with ImportError until the test ends.

    ``sys.modules[name] = None`` is how Python marks a module as unimportable; already
    imported submodules are blocked too, since ``from pkg.sub import x`` would find them.
    """
    for name in names:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.setitem(sys.modules, loaded, None)
        monkeypatch.setitem(sys.modules, name, None)


def framework_modules_of(requirements: Iterable[str]) -> tuple[str, ...]:
    """Map pip names (``scikit-learn``) to the top-level modules they install (``sklearn``)."""
    from importlib.metadata import packages_distributions

    wanted = {normalize_dist(r) for r in requirements}
    modules = sorted(
        module
        for module, dists in packages_distributions().items()
        if any(normalize_dist(d) in wanted for d in dists) and not module.startswith("_")
    )
    return tuple(modules)


def read_requirements(model_dir: Any) -> list[str]:
    """Return the requirement lines of a model's ``requirements.txt`` (no comments or blanks)."""
    from pathlib import Path

    text = (Path(model_dir) / "requirements.txt").read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [line for line in lines if line]


def requirement_name(line: str) -> str:
    """The normalized distribution name of a requirement line."""
    return normalize_dist(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0])


def call_hook(plugin: object, hook: str, **kwargs: Any) -> list[Any]:
    """Call ``plugin``'s implementation of ``hook`` through pluggy, as the host does.

    Going through pluggy (not ``plugin.hook(...)``) honours ``specname=`` and hookimpls that
    take a subset of the spec's arguments. Returns pluggy's list of non-``None`` results.
    """
    import pluggy

    from saveur import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    return list(getattr(pm.hook, hook)(**kwargs))
