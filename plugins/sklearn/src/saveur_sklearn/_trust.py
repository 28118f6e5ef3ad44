"""Which types a skops file may contain: the trust list comes from the loader, never the file.

skops builds a tree of the objects in a file without creating them and reports every type
that is not in its own safe defaults. This module decides which of those the plugin vouches
for, and refuses the rest unless the caller names them.

**The rule.** A type named ``pkg.module.Name`` in a skops file is vouched for when all hold:

1. ``pkg`` is ``sklearn``, ``numpy`` or ``scipy``;
2. no part of ``pkg.module`` is a testing, I/O, build or foreign-function module
   (:data:`_DENIED_MODULES`, or a part named ``tests``/``testing``/``_testing``/``conftest``);
3. importing ``pkg.module`` (installed code, the environment's) and looking up ``Name`` gives a
   *class*, not a function or any other object;
4. the class is itself defined in ``sklearn``, ``numpy`` or ``scipy``, outside the denied
   modules, and is not one of :data:`_DENIED_NAMES` (classes that touch files or memory maps).

skops creates such objects with ``cls.__new__`` and restores their state; it never calls
``__init__`` or a ``__reduce__`` the file chooses. Functions are never vouched for beyond the
numpy and scipy ufuncs skops trusts itself: a function reference picks code to run later, so
the caller has to name it in ``trusted_types``.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from saveur.errors import TrustError

VOUCHED_PACKAGES = ("sklearn", "numpy", "scipy")

_DENIED_MODULES = (
    "numpy.ctypeslib",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.lib._datasource",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.lib.format",
    "numpy.lib._format_impl",
    "numpy._core.memmap",
    "numpy.core.memmap",
    "scipy.io",
    "scipy.datasets",
    "scipy._lib._testutils",
    "sklearn.datasets",
    "sklearn.externals",
    "sklearn.utils._show_versions",
)
_DENIED_PARTS = frozenset({"tests", "testing", "_testing", "conftest"})
_DENIED_NAMES = frozenset({"numpy.memmap", "numpy.DataSource", "numpy.lib.npyio.DataSource"})


def _module_allowed(module: str) -> bool:
    parts = module.split(".")
    if parts[0] not in VOUCHED_PACKAGES:
        return False
    if any(part in _DENIED_PARTS for part in parts):
        return False
    return not any(module == d or module.startswith(d + ".") for d in _DENIED_MODULES)


@lru_cache(maxsize=4096)
def is_vouched(type_name: str) -> bool:
    """Say whether the plugin vouches for the type ``type_name`` found in a skops file."""
    module, _, name = type_name.rpartition(".")
    if not module or not name or not _module_allowed(module) or type_name in _DENIED_NAMES:
        return False
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    if not isinstance(obj, type):
        return False
    real = f"{obj.__module__}.{obj.__qualname__}"
    return _module_allowed(obj.__module__) and real not in _DENIED_NAMES


def unvouched(types: set[str] | list[str], trusted_types: tuple[str, ...] = ()) -> list[str]:
    """Return the types of a skops file that neither the plugin nor the caller trusts, sorted."""
    caller = set(trusted_types)
    return sorted(t for t in types if t not in caller and not is_vouched(t))


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
