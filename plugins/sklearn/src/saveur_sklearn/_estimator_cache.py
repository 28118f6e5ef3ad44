"""scikit-learn's estimator list for skops, computed once per installation instead of per process.

When ``skops.io`` is imported it builds its default trusted list from
``sklearn.utils.all_estimators()``, which imports every public scikit-learn module to find the
estimator classes: about 0.3 s and 12 MB in each process that loads a skops model (a server, a
batch run, every Spark executor). The list depends only on the installed scikit-learn, so it is
kept in saveur's per-user cache (:mod:`saveur.usercache`, honoured only when private to the user)
under a key that changes whenever scikit-learn's files do: its version, its location, and the
name, size and modification time of every file in its package. While ``skops.io`` is being
imported (:func:`saveur_sklearn._skops_import.import_skops_io`), ``all_estimators()`` called from
the importing thread answers from that entry with stand-in classes that carry only the module
and name skops reads (``get_type_name``): skops' list of names is identical to the one the walk
gives (a test compares them), and nothing else sees the stand-ins. The first process after an
install (or any change) computes the list the usual way and writes the entry.

The walk is used, and nothing is written, when a scikit-learn experimental feature has been
enabled in the process (``sklearn.experimental.enable_*``): those add estimators to the list.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: Bump when what is stored changes.
_FORMAT = 1
_MODULE = re.compile(r"sklearn(\.[A-Za-z_]\w*)+")
_log = logging.getLogger(__name__)


def installation_key(package_dir: str) -> dict[str, Any]:
    """What the estimator list of the scikit-learn in ``package_dir`` depends on."""
    import sklearn

    files = hashlib.sha256()
    for folder, dirs, names in os.walk(package_dir):
        dirs.sort()
        if "__pycache__" in dirs:
            dirs.remove("__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            rel = os.path.relpath(path, package_dir)
            files.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "replace"))
    return {
        "format": _FORMAT,
        "sklearn": str(getattr(sklearn, "__version__", "")),
        "location": os.path.realpath(package_dir),
        "files": files.hexdigest(),
        "python": sys.implementation.cache_tag,
    }


def _entry_name(key: dict[str, Any]) -> str:
    blob = json.dumps(key, sort_keys=True).encode()
    return f"sklearn-estimators-{hashlib.sha256(blob).hexdigest()[:32]}.json"


def _decode(data: bytes, key: dict[str, Any]) -> list[tuple[str, str, str]] | None:
    """The stored ``(name, module, class name)`` rows, or ``None`` unless well formed for
    ``key``: every module a ``sklearn.`` dotted name and every name an identifier."""
    try:
        stored = json.loads(data)
    except ValueError:
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    rows = stored.get("estimators")
    if not isinstance(rows, list):
        return None
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(v, str) for v in row)):
            return None
        name, module, cls_name = row
        if not (name.isidentifier() and cls_name.isidentifier() and _MODULE.fullmatch(module)):
            return None
        out.append((name, module, cls_name))
    return out


def _stand_in(module: str, cls_name: str) -> type:
    """A class whose ``__module__`` and ``__name__`` are what skops reads of an estimator."""
    return type(cls_name, (), {"__module__": module, "__qualname__": cls_name})


def cached_all_estimators(real: Callable[[], list[tuple[str, type]]]) -> list[tuple[str, Any]]:
    """``real()`` (``sklearn.utils.all_estimators``), answered from the per-user cache when it
    holds this installation's list; computed with ``real`` and stored otherwise."""
    from saveur.usercache import read_private, write_private

    if any(name.startswith("sklearn.experimental.enable_") for name in list(sys.modules)):
        return real()  # enabled experimental estimators join the list: not this installation's
    import sklearn

    try:
        key = installation_key(os.path.dirname(os.path.abspath(sklearn.__file__)))
        entry = _entry_name(key)
        data = read_private(entry)
    except (OSError, ValueError) as exc:  # the cache is an optimisation: never a failure
        _log.debug("scikit-learn's estimator list not cached: %s", exc)
        return real()
    rows = None if data is None else _decode(data, key)
    if rows is not None:
        return [(name, _stand_in(module, cls_name)) for name, module, cls_name in rows]
    found = real()
    rows = [(name, cls.__module__, cls.__name__) for name, cls in found]
    if all(_MODULE.fullmatch(module) and cls_name.isidentifier() for _, module, cls_name in rows):
        payload = {"key": key, "estimators": [list(row) for row in rows]}
        write_private(entry, json.dumps(payload).encode())
    return found


@contextlib.contextmanager
def estimators_from_cache() -> Iterator[None]:
    """While active, ``sklearn.utils.all_estimators()`` called with no filter from this thread
    answers through :func:`cached_all_estimators`; any other call, and every call afterwards,
    goes to scikit-learn's own function."""
    import sklearn.utils

    real = sklearn.utils.all_estimators
    thread = threading.get_ident()
    active = True

    def all_estimators(type_filter: Any = None) -> list[tuple[str, Any]]:
        if not active or type_filter is not None or threading.get_ident() != thread:
            return real(type_filter=type_filter)  # type: ignore[no-any-return]
        return cached_all_estimators(real)

    sklearn.utils.all_estimators = all_estimators
    try:
        yield
    finally:
        active = False
        sklearn.utils.all_estimators = real
        trusted = sys.modules.get("skops.io._trusted_types")
        if trusted is not None and getattr(trusted, "all_estimators", None) is all_estimators:
            trusted.all_estimators = real  # its `from sklearn.utils import all_estimators`
