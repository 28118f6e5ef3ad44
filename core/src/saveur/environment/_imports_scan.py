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


def _modules_in_tree(tree: ast.AST, *, skip_defs: bool = False) -> set[str]:
    # skip_defs: do not look inside functions and classes below ``tree``.
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
        if skip_defs and kind in _DEF_KINDS:
            continue
        if kind is ast.Call:
            name = _literal_import_call(node)  # type: ignore[arg-type]
            if name:
                found.add(name)
        stack.extend(ast.iter_child_nodes(node))
    return found


_DEF_KINDS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})


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
    """Forget the parsed-file caches (tests; files edited within the same mtime tick)."""
    _FILE_CACHE.clear()
    _CLASS_CACHE.clear()


# --- the imports one class needs ---------------------------------------------------------------
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BLOCKS = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)
# (resolved path, mtime_ns, size, class specs) -> modules those classes need.
_CLASS_CACHE: dict[tuple[str, int, int, tuple[tuple[str, int | None], ...]], frozenset[str]] = {}


def class_imported_modules(
    path: Path, classes: Iterable[tuple[str, int | None]]
) -> frozenset[str]:
    """Return the top-level modules that the given classes defined in ``path`` need.

    ``classes`` holds ``(qualname, first line or None)`` pairs. Counted: the module's top-level
    imports (including those under top-level ``if``/``try``/``with`` blocks), every import
    inside the classes' bodies (methods included), and every import inside the module's
    top-level functions and classes that those bodies reference by name (followed
    transitively). Imports inside other functions and classes are not counted. A class that
    cannot be found in the file makes the whole file count, as :func:`imported_modules` does.
    """
    specs = tuple(sorted(set(classes), key=lambda s: (s[0], s[1] or 0)))
    try:
        stat = path.stat()
    except OSError as exc:
        _logger.warning("could not read '%s' to infer its requirements: %s", path, exc)
        return frozenset()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, specs)
    cached = _CLASS_CACHE.get(key)
    if cached is not None:
        return cached
    tree = _parse(path)
    if tree is None:
        return frozenset()
    modules = frozenset(_class_modules(tree, specs, path))
    if len(_CLASS_CACHE) >= _FILE_CACHE_MAX:
        _CLASS_CACHE.clear()
    _CLASS_CACHE[key] = modules
    return modules


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        _logger.warning(
            "could not parse '%s' to infer its requirements (line %s: %s); "
            "its imports are not included: fix the file or pass pip_requirements",
            path,
            exc.lineno,
            exc.msg,
        )
    except (RecursionError, MemoryError):
        _logger.warning(
            "could not parse '%s' to infer its requirements (too deeply nested for the parser); "
            "its imports are not included: pass pip_requirements",
            path,
        )
    except (OSError, ValueError) as exc:
        _logger.warning(
            "could not read '%s' to infer its requirements (%s); its imports are not included",
            path,
            exc,
        )
    return None


def _class_modules(
    tree: ast.Module, specs: tuple[tuple[str, int | None], ...], path: Path
) -> set[str]:
    # Module level: every import outside the bodies of functions and classes (those under
    # top-level if/try/with/for blocks included).
    found = _modules_in_tree(tree, skip_defs=True)
    # Top-level functions and classes by name, for the references followed below.
    top_defs: dict[str, list[ast.AST]] = {}
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _DEFS):
            top_defs.setdefault(node.name, []).append(node)
        elif isinstance(node, _BLOCKS):
            stack.extend(_statement_children(node))

    targets: list[ast.AST] = []
    for qualname, firstlineno in specs:
        match = _find_class(tree, qualname, firstlineno)
        if match is None:
            _logger.debug(
                "class '%s' not found in '%s'; counting every import of the file", qualname, path
            )
            return _modules_in_tree(tree)
        targets.extend(match)

    done: set[int] = set()
    while targets:
        node = targets.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        found |= _modules_in_tree(node)
        for sub in ast.walk(node):
            name = None
            if isinstance(sub, ast.Name):
                name = sub.id
            elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                name = sub.value.id
            if name in top_defs:
                targets.extend(top_defs[name])
    return found


def _statement_children(node: ast.AST) -> list[ast.AST]:
    # The statements nested in a top-level compound statement (the test and the items were
    # already scanned with the statement itself).
    children: list[ast.AST] = []
    for field in ("body", "orelse", "finalbody"):
        children.extend(getattr(node, field, []))
    for handler in getattr(node, "handlers", []):
        children.extend(handler.body)
    return children


def _find_class(
    tree: ast.Module, qualname: str, firstlineno: int | None
) -> list[ast.ClassDef] | None:
    name = qualname.rpartition(".")[2]
    candidates = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == name]
    if not candidates:
        return None
    if firstlineno is not None:
        exact = [
            n
            for n in candidates
            if firstlineno in (n.lineno, min([n.lineno, *(d.lineno for d in n.decorator_list)]))
        ]
        if exact:
            return exact
    # Several classes of that name and no line to tell them apart: count them all.
    return candidates
