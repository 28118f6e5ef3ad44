"""Inferring the requirements of custom Python code from a static scan of its imports."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import sys
from pathlib import Path

from saveur.environment._pins import pin_requirement

_logger = logging.getLogger("saveur.environment")


@functools.cache
def _module_distributions() -> dict[str, tuple[str, ...]]:
    # Reading every installed distribution's file list is slow (tens of ms); once per process.
    return {k: tuple(v) for k, v in importlib.metadata.packages_distributions().items()}


@functools.cache
def _distribution_named_like(module: str) -> str | None:
    # Editable installs (a .pth or import hook) list no module files; their distribution is
    # usually named like the module (`saveur_sklearn` -> `saveur-sklearn`).
    try:
        return str(importlib.metadata.distribution(module).metadata["Name"])
    except importlib.metadata.PackageNotFoundError:
        return None


def _clear_caches() -> None:
    """Forget the module-to-distribution map and parsed files (after installing packages)."""
    from saveur.environment import _imports_scan

    _module_distributions.cache_clear()
    _distribution_named_like.cache_clear()
    _imports_scan.clear_cache()


def infer_code_requirements(paths: list[Path]) -> list[str]:
    """Infer pinned requirements from the imports in Python files and directories.

    Scans ``.py`` files (directories recursively) with ``ast``; never imports or runs them.
    Standard-library modules and modules provided by the scanned paths themselves are left
    out; the rest are mapped to their installed distributions and pinned. A file that does not
    parse is logged as a warning and skipped; an imported module that no installed
    distribution provides is logged at INFO and skipped. Returns a sorted list.
    """
    from saveur.environment import _imports_scan

    files, local = _imports_scan.collect_sources(paths)
    modules: dict[str, Path] = {}
    for file in files:
        for module in _imports_scan.imported_modules(file):
            modules.setdefault(module, file)
    return _pin_modules(modules, local)


def _pin_modules(modules: dict[str, Path], local: set[str]) -> list[str]:
    # Imported module -> the file importing it; pinned requirements of the distributions
    # providing them, less the standard library and the modules in ``local``.
    stdlib = sys.stdlib_module_names
    mapping = _module_distributions()
    dists: set[str] = set()
    for module in sorted(modules):
        if module in local or module in stdlib or module == "__main__":
            continue
        provided = mapping.get(module)
        if provided:
            dists.update(provided)
            continue
        named = _distribution_named_like(module)
        if named:
            dists.add(named)
        else:
            _logger.info(
                "module '%s' imported by '%s' is not provided by any installed distribution; "
                "no requirement is inferred for it",
                module,
                modules[module],
            )
    pins = {pin for pin in map(pin_requirement, dists) if pin is not None}
    return sorted(pins)


def infer_object_requirements(obj: object) -> list[str]:
    """Infer pinned requirements for ``obj`` (a pickled custom model) from its class's source.

    Like :func:`infer_code_requirements` over :func:`object_source_paths`, but narrower: in
    each user file defining ``obj``'s class or one of its base classes, only the module's
    top-level imports, the imports inside those classes (methods included), and the imports
    inside top-level functions and classes of that file that the classes reference by name
    count. A helper elsewhere in the same script that imports some package does not make the
    model require it. Never imports or runs the files. Returns a sorted list.
    """
    from saveur.environment import _imports_scan

    by_file: dict[str, tuple[Path, list[tuple[str, int | None]]]] = {}
    for cls in type(obj).__mro__:
        file = _user_class_file(cls)
        if file is None:
            continue
        entry = by_file.setdefault(os.path.abspath(file), (Path(file), []))
        entry[1].append((cls.__qualname__, getattr(cls, "__firstlineno__", None)))
    modules: dict[str, Path] = {}
    local: set[str] = set()
    for path, classes in by_file.values():
        local.add(path.stem)
        for module in _imports_scan.class_imported_modules(path, classes):
            modules.setdefault(module, path)
    return _pin_modules(modules, local)


def _user_class_file(cls: type) -> str | None:
    # The .py file defining ``cls`` when it is user code (not the standard library, not an
    # installed distribution, not a notebook or C extension).
    top = cls.__module__.partition(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return None
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    if top != "__main__" and (top in _module_distributions() or _distribution_named_like(top)):
        return None
    return str(file)


def object_source_paths(obj: object) -> list[Path]:
    """Return the user source files that define ``obj``'s class and its base classes.

    For a pickled custom model, these are the files whose imports the model needs: classes
    from installed distributions (saveur's own ``PythonModel`` included) and the standard
    library are left out, as are classes without a ``.py`` file (notebooks, C extensions).
    Pass the result to :func:`infer_code_requirements` to count every import in those files;
    :func:`infer_object_requirements` counts only those the classes need.
    """
    seen: dict[str, Path] = {}
    for cls in type(obj).__mro__:
        file = _user_class_file(cls)
        if file is None:
            continue
        seen.setdefault(os.path.abspath(file), Path(file))
    return list(seen.values())
