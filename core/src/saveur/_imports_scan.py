"""Static scan of Python source for the top-level modules it imports.

Used to infer the requirements of custom Python models without importing or running their
code: ``ast`` only, no subprocess. Kept apart from :mod:`saveur.environment` because it is the
only part that walks source trees.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

_logger = logging.getLogger("saveur.environment")

# Directory names never worth scanning: caches, VCS metadata, virtual environments.
_SKIPPED_DIRS = frozenset({"__pycache__", "site-packages", "node_modules"})

# (resolved path, mtime_ns, size) -> modules imported by that file; a second save of the same
# model then costs one stat() per file instead of a parse.
_FILE_CACHE: dict[tuple[str, int, int], frozenset[str]] = {}
_FILE_CACHE_MAX = 4096


def collect_sources(paths: Iterable[Path]) -> tuple[list[Path], set[str]]:
    """Return the ``.py`` files under ``paths`` and the module names the paths themselves provide.

    A file ``utils.py`` provides ``utils``; a directory ``pkg`` provides ``pkg`` and every module
    or package directly inside it (code paths are put on ``sys.path`` by their parent, and a
    directory scanned as a source root makes its children importable).
    """
    files: list[Path] = []
    local: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            local.add(path.name)
            for child in _safe_scandir(path):
                if child.is_dir():
                    local.add(child.name)
                elif child.name.endswith(".py"):
                    local.add(child.name[:-3])
            files.extend(_walk_py_files(path))
        elif path.is_file():
            if path.suffix == ".py":
                local.add(path.stem)
                files.append(path)
        else:
            from saveur.errors import SaveError

            raise SaveError(
                f"code path '{path}' does not exist; pass existing files or directories"
            )
    return files, local


def _safe_scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError as exc:
        _logger.warning("could not list '%s' while scanning imports: %s", path, exc)
        return []


def _walk_py_files(root: Path) -> Iterator[Path]:
    stack = [root]
    while stack:
        directory = stack.pop()
        entries = sorted(_safe_scandir(directory), key=lambda e: e.name)
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                if name.startswith(".") or name in _SKIPPED_DIRS:
                    continue
                # A virtual environment inside a code directory holds installed packages,
                # not model code.
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                stack.append(Path(entry.path))
            elif name.endswith(".py") and entry.is_file():
                yield Path(entry.path)


def imported_modules(path: Path) -> frozenset[str]:
    """Return the top-level modules that the file at ``path`` imports (absolute imports only).

    Counts ``import x.y``, ``from x import y``, and ``importlib.import_module("x")`` /
    ``__import__("x")`` with a literal name; skips relative imports and imports under
    ``if TYPE_CHECKING:``. A file that cannot be read or parsed is logged as a warning and
    contributes nothing.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        _logger.warning("could not read '%s' to infer its requirements: %s", path, exc)
        return frozenset()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _FILE_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        _logger.warning(
            "could not parse '%s' to infer its requirements (line %s: %s); "
            "its imports are not included: fix the file or pass pip_requirements",
            path,
            exc.lineno,
            exc.msg,
        )
        return frozenset()
    except (RecursionError, MemoryError):
        _logger.warning(
            "could not parse '%s' to infer its requirements (too deeply nested for the parser); "
            "its imports are not included: pass pip_requirements",
            path,
        )
        return frozenset()
    except (OSError, ValueError) as exc:
        _logger.warning(
            "could not read '%s' to infer its requirements (%s); its imports are not included",
            path,
            exc,
        )
        return frozenset()
    modules = frozenset(_modules_in_tree(tree))
    if len(_FILE_CACHE) >= _FILE_CACHE_MAX:
        _FILE_CACHE.clear()
    _FILE_CACHE[key] = modules
    return modules


def _modules_in_tree(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    # An explicit stack rather than recursion: deeply nested expressions must not hit the
    # recursion limit.
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                found.add(alias.name.partition(".")[0])
            continue
        if kind is ast.ImportFrom:
            if node.level == 0 and node.module:  # type: ignore[attr-defined]
                found.add(node.module.partition(".")[0])  # type: ignore[attr-defined]
            continue
        if kind is ast.If and _is_type_checking(node.test):  # type: ignore[attr-defined]
            stack.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if kind is ast.Call:
            name = _literal_import_call(node)  # type: ignore[arg-type]
            if name:
                found.add(name)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


def _literal_import_call(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        fname = func.attr
    elif isinstance(func, ast.Name):
        fname = func.id
    else:
        return None
    if fname not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        name = first.value.strip()
        if name and not name.startswith("."):
            return name.partition(".")[0]
    return None


def clear_cache() -> None:
    """Forget the parsed-file cache (tests; files edited within the same mtime tick)."""
    _FILE_CACHE.clear()
