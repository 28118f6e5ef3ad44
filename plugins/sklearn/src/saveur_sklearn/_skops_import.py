"""Import ``skops.io`` without importing every array library scikit-learn has an adapter for.

When ``skops.io`` is imported it builds its trusted-type list from
``sklearn.utils.all_estimators()``, which walks scikit-learn's packages with
``pkgutil.walk_packages``. That walk imports every *package* it meets in order to descend into
it, including the array-API adapters scikit-learn vendors under
``sklearn.externals.array_api_compat`` (``torch``, ``cupy``, ``dask``...). Each adapter imports
its framework: in an environment that also has PyTorch, loading any skops model imported torch,
costing seconds and hundreds of MB in a process that never uses it.

``all_estimators()`` skips everything under ``externals`` when it collects estimators, so those
adapters never contribute a type: refusing to import them *during this one import* changes
nothing skops trusts (a test compares the lists), and ``walk_packages`` ignores the
``ImportError``. The refusal applies only to the importing thread, only while ``skops.io`` is
being imported, and never to a framework the process has already imported (its adapter is then
cheap and left alone). Afterwards scikit-learn's array-API support imports the adapters as usual.

The walk itself is skipped when saveur's per-user cache holds this installation's estimator
list (:mod:`saveur_sklearn._estimator_cache`); then no adapter is even looked at.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

#: Where scikit-learn vendors array-API-compat; its subpackages named after a framework import it.
ADAPTERS = "sklearn.externals.array_api_compat."
#: Subpackages of the vendored array-API-compat that are not framework adapters.
_NOT_ADAPTERS = frozenset({"common", "numpy", "_internal"})

_lock = threading.Lock()


class _AdapterBlocker(importlib.abc.MetaPathFinder):
    """Refuse ``sklearn.externals.array_api_compat.<framework>`` for frameworks not yet imported."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(ADAPTERS) or threading.get_ident() != self.thread:
            return None
        framework = fullname[len(ADAPTERS) :].split(".", 1)[0]
        if framework in _NOT_ADAPTERS or framework in sys.modules:
            return None
        raise ModuleNotFoundError(
            f"{fullname} is not imported while skops builds its type list "
            f"({framework} is not in use in this process)",
            name=fullname,
        )


def import_skops_io() -> ModuleType:
    """``skops.io``, imported without pulling in unused array frameworks (see module doc)."""
    if "skops.io" not in sys.modules:
        with _lock:
            if "skops.io" not in sys.modules:
                from saveur_sklearn._estimator_cache import estimators_from_cache

                blocker = _AdapterBlocker()
                sys.meta_path.insert(0, blocker)
                try:
                    with estimators_from_cache():
                        import skops.io
                finally:
                    sys.meta_path.remove(blocker)
    import skops.io

    return skops.io
