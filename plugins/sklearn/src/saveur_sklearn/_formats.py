"""Writing and reading the model file in the three formats MLflow 3 uses for scikit-learn.

``skops`` (the default) is a zip of JSON and arrays that is audited before any object is
created; ``pickle`` and ``cloudpickle`` run code on load and need the caller's trust.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

from saveur.errors import IntegrityError, MissingDependencyError, SaveError, TrustError
from saveur.security import require_trust
from saveur_sklearn._indices import check_indices
from saveur_sklearn._skops_import import import_skops_io
from saveur_sklearn._trust import is_vouched_function, unvouched

SKOPS = "skops"
PICKLE = "pickle"
CLOUDPICKLE = "cloudpickle"
FORMATS = (SKOPS, PICKLE, CLOUDPICKLE)

#: File names as MLflow 3 writes them.
MODEL_FILE = {SKOPS: "model.skops", PICKLE: "model.pkl", CLOUDPICKLE: "model.pkl"}

#: import name -> pip name, for "pip install ..." messages.
_PIP_NAMES = {"sklearn": "scikit-learn", "skops": "skops", "cloudpickle": "cloudpickle"}


def needed_modules(serialization_format: str) -> tuple[str, ...]:
    """The modules a model file in ``serialization_format`` needs, in import-name form."""
    if serialization_format == SKOPS:
        return ("sklearn", "skops")
    if serialization_format == CLOUDPICKLE:
        return ("sklearn", "cloudpickle")
    return ("sklearn",)


def require_modules(serialization_format: str, action: str) -> None:
    """Import what ``serialization_format`` needs, or raise naming what to pip install."""
    missing = []
    for name in needed_modules(serialization_format):
        try:
            __import__(name)
        except ImportError:
            missing.append(_PIP_NAMES[name])
    if missing:
        raise MissingDependencyError(
            f"{action} a scikit-learn model in the {serialization_format!r} format needs "
            f"{' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed: pip install {' '.join(missing)}"
        )


def check_format(serialization_format: object) -> str:
    """Return ``serialization_format`` if it is one of :data:`FORMATS`, else raise."""
    if serialization_format not in FORMATS:
        raise SaveError(
            f"unknown serialization_format {serialization_format!r} for flavor 'sklearn'; "
            f"use one of {', '.join(FORMATS)}"
        )
    return str(serialization_format)


def dump(model: object, path: Path, serialization_format: str) -> list[str] | None:
    """Write ``model`` to ``path``; for skops, return the types the file needs trusted."""
    require_modules(serialization_format, "saving")
    if serialization_format == SKOPS:
        skops_io = import_skops_io()
        try:
            data = skops_io.dumps(model)
        except Exception as e:  # skops refuses lambdas, local functions and the like
            raise SaveError(
                f"{type(model).__name__} cannot be saved in the skops format ({e}); skops cannot "
                "store functions or classes that are not importable from an installed module. "
                "Make them importable, or save with serialization_format='cloudpickle' "
                "(loading it then needs trust_code=True)"
            ) from e
        untrusted = _untrusted_types(data)
        _check_importable(model, untrusted)
        path.write_bytes(data)
        # Written for MLflow's own loader, which reads its trust list from MLmodel; saveur
        # never reads it back as trust.
        return untrusted
    lib: Any = pickle
    if serialization_format == CLOUDPICKLE:
        import cloudpickle

        lib = cloudpickle
    try:
        with open(path, "wb") as f:
            # The default protocol, as MLflow, so older Pythons can read the file.
            lib.dump(model, f, protocol=pickle.DEFAULT_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise SaveError(
            f"{type(model).__name__} cannot be saved with {serialization_format} ({e}); "
            + (
                "try serialization_format='cloudpickle', which stores local functions"
                if serialization_format == PICKLE
                else "check that every attribute of the model can be pickled"
            )
        ) from e
    return None


def _untrusted_types(data: bytes) -> list[str]:
    """``skops.io.get_untrusted_types`` of a dump, with the faster audit walk when available."""
    skops_io = import_skops_io()
    try:
        from skops.io._audit import get_tree
        from skops.io._utils import read_schema
    except ImportError:
        return skops_io.get_untrusted_types(data=data)
    with zipfile.ZipFile(io.BytesIO(data), "r") as zf:
        schema, load_context = read_schema(zf)
        try:
            # Our own dump, audited for names only: its array members are not read.
            return sorted(unsafe_types(get_tree(schema, _names_only(load_context), trusted=None)))
        except Exception:  # a skops whose nodes read their content when built: read it
            schema, load_context = read_schema(zf)
            return sorted(unsafe_types(get_tree(schema, load_context, trusted=None)))


def _check_importable(model: object, type_names: list[str]) -> None:
    """Refuse at save what skops would write but no other process could load.

    skops stores classes and functions by module and name, so a lambda, a nested function
    or anything defined in ``__main__`` saves fine and then fails at every load.
    """
    import importlib

    for name in type_names:
        module, _, attr = name.rpartition(".")
        ok = module != "__main__" and bool(module)
        if ok:
            try:
                ok = hasattr(importlib.import_module(module), attr)
            except ImportError:
                ok = False
        if not ok:
            raise SaveError(
                f"{type(model).__name__} cannot be saved in the skops format: it refers to "
                f"{name!r}, which skops stores by name and which cannot be imported by name "
                "at load (a lambda, a nested function, or something defined in __main__). "
                "Move it into an importable module, or save with "
                "serialization_format='cloudpickle' (loading it then needs trust_code=True)"
            )


def load(
    path: Path,
    serialization_format: str,
    *,
    rel_name: str,
    trust_code: bool,
    trusted_types: tuple[str, ...] = (),
) -> object:
    """Read a model file; skops types are checked against the loader's trust list first."""
    require_modules(serialization_format, "loading")
    if serialization_format == SKOPS:
        return _load_skops(
            path, rel_name=rel_name, trust_code=trust_code, trusted_types=trusted_types
        )
    require_trust(trust_code, f"loading model file {rel_name!r} ({serialization_format})")
    with open(path, "rb") as f:
        if serialization_format == CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)


def _check_types(
    unsafe: set[str],
    *,
    rel_name: str,
    trust_code: bool,
    trusted_types: tuple[str, ...],
    functions: set[str] | None = None,
) -> None:
    # trust_code=True consents to code the model carries, pickles included; a skops file is
    # never more dangerous than a pickle, so the same consent admits its types.
    if trust_code:
        return
    refused = unvouched(unsafe, trusted_types, functions or set())
    if refused:
        listed = ", ".join(refused)
        raise TrustError(
            f"model file {rel_name!r} contains types or functions that saveur-sklearn does "
            f"not vouch for: {listed}. If you trust them, pass trusted_types={refused!r} to "
            "load_model (or trust_code=True to trust everything the model carries)"
        )


def _load_skops(
    path: Path, *, rel_name: str, trust_code: bool, trusted_types: tuple[str, ...]
) -> object:
    data = path.read_bytes()
    import_skops_io()
    try:
        # One pass: build skops' tree of nodes (no object created), audit, then construct.
        from skops.io._audit import get_tree
        from skops.io._utils import read_schema
    except ImportError:  # a skops without these internals: the public two-pass route
        if not trust_code:
            _check_expansion(data, rel_name)
        return _load_skops_public(
            data, rel_name=rel_name, trust_code=trust_code, trusted_types=trusted_types
        )
    try:
        # The zip's directory is read once, for the size check and for skops.
        with zipfile.ZipFile(io.BytesIO(data), "r") as zf:
            if not trust_code:
                _check_expanded_size(zf, len(data), rel_name)
            schema, load_context = read_schema(zf)
            tree = get_tree(schema, load_context, trusted=None)
            types, functions = audit(tree)
            _check_types(
                types,
                rel_name=rel_name,
                trust_code=trust_code,
                trusted_types=trusted_types,
                functions=functions,
            )
            model = tree.construct()
    except zipfile.BadZipFile as e:
        raise IntegrityError(f"model file {rel_name!r} is not a valid skops file: {e}") from e
    if not trust_code:
        check_indices(model, rel_name)
    return model


#: A skops file may expand to at most this many times its size (or this floor) when read.
_MAX_EXPANSION = 100
_EXPANSION_FLOOR = 64 << 20


def _check_expansion(data: bytes, rel_name: str) -> None:
    """Refuse a zip bomb: a small skops file whose members declare a huge uncompressed size.

    skops stores arrays uncompressed by default, so a legitimate file barely expands; the
    limit only bites on files built to exhaust memory. A trusting caller skips it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data), "r") as zf:
            _check_expanded_size(zf, len(data), rel_name)
    except zipfile.BadZipFile as e:
        raise IntegrityError(f"model file {rel_name!r} is not a valid skops file: {e}") from e


def _check_expanded_size(zf: zipfile.ZipFile, size: int, rel_name: str) -> None:
    """:func:`_check_expansion` of an open zip of ``size`` bytes, before any member is read."""
    total = sum(info.file_size for info in zf.infolist())
    limit = max(_EXPANSION_FLOOR, _MAX_EXPANSION * size)
    if total > limit:
        raise IntegrityError(
            f"model file {rel_name!r} expands to {total:,} bytes from {size:,} (more than "
            f"{limit:,}): refused as a possible zip bomb; load with trust_code=True if you "
            "trust its source"
        )


def unsafe_types(tree: Any) -> set[str]:
    """The types of a skops tree outside skops' defaults: ``tree.get_unsafe_set()``, faster."""
    types, functions = audit(tree)
    return types | functions


def audit(tree: Any) -> tuple[set[str], set[str]]:
    """The names of a skops tree outside skops' defaults, as (types, function references).

    The same walk as skops' recursive ``get_unsafe_set`` (same per-node check, same handling
    of each kind of child), done with a stack and a visited set instead of a context manager
    per node, which is most of the audit's cost on a forest. A node class with its own
    ``get_unsafe_set`` (functions, methods) is asked directly; function references are kept
    apart, as they are vouched for by a different list than types. A cached node (a second
    reference to an object) is followed to its target, so nothing is constructed unaudited.
    """
    from skops.io._audit import CachedNode, Node, check_type
    from skops.io._general import FunctionNode
    from skops.io._utils import get_module

    generic = Node.get_unsafe_set
    found: set[str] = set()
    functions: set[str] = set()
    seen: set[int] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CachedNode):
            stack.append(node.cached)
        if isinstance(node, FunctionNode):
            functions |= node.get_unsafe_set()
            continue
        if type(node).get_unsafe_set is not generic:
            found |= node.get_unsafe_set()
            continue
        if not node.is_self_safe():
            found.add(node.module_name + "." + node.class_name)
        for child in node.children.values():
            if child is None or isinstance(child, (io.BytesIO, str)):
                continue
            if isinstance(child, list):
                stack.extend(child)
            elif isinstance(child, dict):
                stack.extend(child.values())
            elif isinstance(child, Node):
                stack.append(child)
            elif type(child) is type:
                if not check_type(get_module(child), child.__name__, node.trusted):
                    found.add(get_module(child) + "." + child.__name__)
            else:
                raise IntegrityError(
                    f"cannot audit a skops node child of type {type(child).__name__}"
                )
    return found, functions


class _NoContent:
    """A skops file's zip whose members read as empty: for auditing names, not content."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf

    def read(self, name: str) -> bytes:
        return b""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._zf, name)


def _names_only(load_context: Any) -> Any:
    """``load_context`` for a skops tree built only to be audited (array and byte members,
    which the audit skips, are not read from the zip)."""
    import dataclasses

    return dataclasses.replace(load_context, src=_NoContent(load_context.src), memo={})


def _load_skops_public(
    data: bytes, *, rel_name: str, trust_code: bool, trusted_types: tuple[str, ...]
) -> object:
    skops_io = import_skops_io()

    try:
        unsafe = set(skops_io.get_untrusted_types(data=data))
    except zipfile.BadZipFile as e:
        raise IntegrityError(f"model file {rel_name!r} is not a valid skops file: {e}") from e
    # Without skops' internals types and functions cannot be told apart: a name passes if
    # either list vouches for it.
    _check_types(
        {u for u in unsafe if not is_vouched_function(u)},
        rel_name=rel_name,
        trust_code=trust_code,
        trusted_types=trusted_types,
    )
    model = skops_io.loads(data, trusted=sorted(unsafe))
    if not trust_code:
        check_indices(model, rel_name)
    return model
