"""The load path: URI -> local directory -> MLmodel -> integrity and trust -> plugin load.

Both :func:`saveur.load_model` (the framework's object) and :func:`saveur.pyfunc.load_model`
(the generic wrapper) start from :func:`prepare_load`: the caller's trust, :func:`open_model`
(which checks the registry's MLmodel digest for ``models:/`` URIs and every file digest saveur
recorded), the plugins, and the :class:`~saveur.hookspecs.LoadContext` the hooks receive.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import FlavorNotFoundError, IntegrityError, MLmodelError, PluginError
from saveur.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model

if TYPE_CHECKING:
    from saveur.hookspecs import LoadContext, ResolvedURI
    from saveur.plugins import Plugins

_log = logging.getLogger(__name__)
_sys_path_lock = threading.Lock()
_code_dirs: set[str] = set()
_MODULE_NAME_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

#: MLflow's custom PythonModel loader: its pickles and code files need MLflow's own classes.
MLFLOW_PYTHON_MODEL_LOADER = "mlflow.pyfunc.model"


@dataclass(frozen=True)
class OpenedModel:
    """A verified model directory and its parsed MLmodel."""

    path: Path
    mlmodel: Model
    resolved: ResolvedURI


def open_model(uri: str | os.PathLike[str], *, verify: bool = True) -> OpenedModel:
    """Resolve ``uri``, parse MLmodel and check its integrity (unless ``verify=False``).

    The registry's MLmodel digest (a ``models:/`` trust anchor) is always checked; the
    per-file digests are checked when ``verify`` is true.
    """
    from saveur.security import refuse_special_files, sha256_file, verify_digests
    from saveur.uris import resolve_model_uri

    resolved = resolve_model_uri(uri)
    path = resolved.local_path
    mlmodel_file = path / MLMODEL_FILE_NAME
    if not path.is_dir():
        raise MLmodelError(f"model URI {os.fspath(uri)!r} does not point at a model directory")
    if mlmodel_file.is_symlink() or not mlmodel_file.is_file():
        raise MLmodelError(f"no MLmodel file at {str(mlmodel_file)!r}")
    if resolved.mlmodel_sha256 is not None:
        actual = sha256_file(mlmodel_file)
        if actual != resolved.mlmodel_sha256:
            raise IntegrityError(
                f"the MLmodel of {os.fspath(uri)!r} does not match the digest recorded at "
                "registration: the model was modified in the artifact store after it was "
                "registered, and is refused"
            )
    mlmodel = Model.load(path)
    refuse_special_files(path)
    if verify:
        digests = mlmodel.digests
        if digests is None:
            _log.debug("model at %s records no digests (saved by MLflow?); not verified", path)
        else:
            verify_digests(path, digests)
            _check_unrecorded(path, digests)
    return OpenedModel(path=path, mlmodel=mlmodel, resolved=resolved)


@dataclass(frozen=True)
class LoadSetup:
    """What both load paths start from: the opened model, the plugins, the hooks' context."""

    opened: OpenedModel
    plugins: Plugins
    context: LoadContext

    @property
    def mlmodel(self) -> Model:
        return self.opened.mlmodel

    @property
    def path(self) -> Path:
        return self.opened.path


def prepare_load(
    model_uri: str | os.PathLike[str],
    *,
    trust_code: bool | None,
    verify: bool,
    options: dict[str, Any],
) -> LoadSetup:
    """Take the caller's trust (or ``SAVEUR_TRUST_CODE``), open and verify the model, and
    build the :class:`~saveur.hookspecs.LoadContext` with the caller's plugin options."""
    from saveur.hookspecs import LoadContext
    from saveur.plugins import get_plugins
    from saveur.security import trust_from_env

    trust = trust_from_env(trust_code)
    opened = open_model(model_uri, verify=verify)
    context = LoadContext(model_dir=opened.path, mlmodel=opened.mlmodel, trust_code=trust,
                          options=dict(options))
    return LoadSetup(opened=opened, plugins=get_plugins(), context=context)


def _check_unrecorded(path: Path, digests: dict[str, str]) -> None:
    from saveur.security import iter_model_files

    for rel in iter_model_files(path):
        # No exception for bytecode: a planted .pyc (PEP 552 unchecked-hash, or sourceless)
        # would run instead of the recorded source.
        if rel not in digests:
            raise IntegrityError(
                f"model file {rel!r} is not recorded in MLmodel: it was added after saving. "
                "If the edit was deliberate, run `saveur models reseal`"
            )


def native_flavor(mlmodel: Model, plugins: Plugins, flavor: str | None = None) -> str | None:
    """Choose the flavor whose plugin loads the framework object of a model.

    ``None`` means a custom loader module no plugin declares (see :func:`pyfunc_owner`).
    """
    if flavor is not None:
        if flavor not in mlmodel.flavors:
            raise MLmodelError(
                f"the model has no flavor {flavor!r}; it has {sorted(mlmodel.flavors)}"
            )
        return flavor
    candidates = [k for k in mlmodel.flavors if k != PYFUNC_FLAVOR]
    for key in candidates:
        if key in plugins.flavors:
            return key
    if candidates:
        from saveur.plugins import missing_flavor_message

        raise FlavorNotFoundError(missing_flavor_message(candidates[0], plugins.failed))
    if PYFUNC_FLAVOR in mlmodel.flavors:
        return pyfunc_owner(mlmodel, plugins)
    raise MLmodelError("the MLmodel lists no flavors")


def pyfunc_owner(mlmodel: Model, plugins: Plugins) -> str | None:
    """Choose the flavor whose plugin serves a model through pyfunc, from its ``loader_module``.

    Returns a flavor key; raises for MLflow PythonModel pickles and for flavors with no
    plugin. A loader module no plugin declares is a *custom* loader, returned as ``None``:
    the caller loads it through :func:`load_custom_loader` (it needs ``trust_code``).
    """
    conf = mlmodel.pyfunc_conf
    if conf is None:
        raise MLmodelError(
            "the model has no python_function flavor, so it cannot be loaded as pyfunc; load "
            f"it with its flavor's load_model (flavors: {sorted(mlmodel.flavors)})"
        )
    loader = conf.get("loader_module")
    if not loader:
        raise MLmodelError("MLmodel flavors.python_function has no loader_module")
    owned = plugins.flavor_for_loader_module(loader)
    if owned is not None:
        return owned
    if loader == MLFLOW_PYTHON_MODEL_LOADER:
        raise PluginError(
            "this is an MLflow custom PythonModel (loader_module mlflow.pyfunc.model): its "
            "pickle or model code needs MLflow's own classes, so saveur cannot load it; load "
            "it with mlflow.pyfunc.load_model, or re-save the model with saveur.pyfunc"
        )
    if loader.startswith("mlflow."):
        key = loader.split(".")[1]
        if key in plugins.flavors and key in mlmodel.flavors:
            return key
        if key in plugins.flavors:
            raise MLmodelError(
                f"MLmodel names loader_module {loader!r} but has no {key!r} flavor entry to "
                f"load it from (flavors: {sorted(mlmodel.flavors)})"
            )
        from saveur.plugins import missing_flavor_message

        raise FlavorNotFoundError(missing_flavor_message(key, plugins.failed))
    return None


def add_code_paths(model_dir: Path, conf: dict[str, Any], trust_code: bool) -> None:
    """Put the model's ``code/`` directory on ``sys.path`` (needs trust: it is the model's code)."""
    from saveur.security import contained_path, require_trust

    code = conf.get("code")
    if not code:
        return
    code_dir = contained_path(model_dir, str(code), "code path")
    require_trust(trust_code, f"the model's code directory {code!r} ({model_dir / str(code)})")
    if not code_dir.is_dir():
        raise MLmodelError(f"the model's code directory {code!r} is missing")
    entry = str(code_dir)
    with _sys_path_lock:
        # Imports from a model's code read its source only: a cached or sourceless .pyc in
        # the model (checked by digest or not) never runs, and no __pycache__ is written
        # into the model directory (which would then fail its own digest check).
        _code_dirs.add(entry)
        if _source_only_path_hook not in sys.path_hooks:
            sys.path_hooks.insert(0, _source_only_path_hook)
        sys.path_importer_cache.pop(entry, None)
        if entry not in sys.path:
            sys.path.insert(0, entry)


def model_code_dirs() -> list[Path]:
    """The code directories of every model loaded in this process (on ``sys.path``)."""
    with _sys_path_lock:
        return [Path(d) for d in sorted(_code_dirs)]


def _source_only_path_hook(path: str) -> Any:
    """A ``sys.path`` hook: inside a model's code directory, find source files only."""
    if not any(path == d or path.startswith(d + os.sep) for d in _code_dirs):
        raise ImportError("not a model code directory")  # the next hook handles it
    from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, FileFinder

    return FileFinder(
        path, (ExtensionFileLoader, EXTENSION_SUFFIXES), (_SourceOnlyLoader, [".py"])
    )


class _SourceOnlyLoader(SourceFileLoader):
    """Compiles the source every time; never reads nor writes bytecode."""

    def get_code(self, fullname: str) -> Any:
        return self.source_to_code(self.get_data(self.path), self.path)

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        return None


def load_custom_loader(
    model_dir: Path, conf: dict[str, Any], context: LoadContext
) -> object:
    """Load a model through a custom ``loader_module``'s ``_load_pyfunc`` (needs trust)."""
    from saveur.security import contained_path, require_trust

    loader = str(conf["loader_module"])
    require_trust(
        context.trust_code,
        f"the model's loader module {loader!r} (named by the model, not a registered plugin)",
    )
    if not _MODULE_NAME_RE.fullmatch(loader):
        raise MLmodelError(
            f"MLmodel flavors.python_function.loader_module {loader!r} is not a dotted module "
            "name such as 'package.module'"
        )
    # Contained before any of the model's code runs.
    data = conf.get("data")
    data_path = contained_path(model_dir, str(data), "python_function.data") if data else model_dir
    try:
        module = importlib.import_module(loader)
    except ImportError as e:
        raise PluginError(f"the model's loader module {loader!r} cannot be imported: {e}") from e
    except (Exception, SystemExit) as e:  # trusted code, but a failing import is still an error
        raise PluginError(
            f"the model's loader module {loader!r} failed at import: {type(e).__name__}: {e}"
        ) from e
    load = getattr(module, "_load_pyfunc", None)
    if load is None:
        raise PluginError(f"the model's loader module {loader!r} has no _load_pyfunc function")
    return load(str(data_path))


def load_model_native(
    model_uri: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    trust_code: bool | None = None,
    verify: bool = True,
    **options: Any,
) -> object:
    """Load the framework's own object (an estimator, a module...) through its flavor plugin.

    ``flavor`` picks one of the model's flavors; by default the first one with an installed
    plugin. Options go to the plugin's load hook (``trusted_types=`` for sklearn, say).
    """
    setup = prepare_load(model_uri, trust_code=trust_code, verify=verify, options=options)
    mlmodel, path, trust = setup.mlmodel, setup.path, setup.context.trust_code
    key = native_flavor(mlmodel, setup.plugins, flavor)
    if key is None:
        conf = mlmodel.pyfunc_conf or {}
        add_code_paths(path, conf, trust)
        return load_custom_loader(path, conf, setup.context)
    conf = mlmodel.flavors.get(key) or mlmodel.pyfunc_conf or {}
    add_code_paths(path, conf, trust)
    return setup.plugins.load_model(key, conf, setup.context)
