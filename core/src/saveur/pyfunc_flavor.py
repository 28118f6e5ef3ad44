"""The built-in ``python_function`` flavor: custom Python models, registered as a plugin.

Three ways to save a custom model, from safest to least safe:

- **by reference** (``"package.module:ClassName"``): the class must be a
  :class:`saveur.pyfunc.PythonModel` subclass importable from an installed package; it is
  built with no arguments. Loads without ``trust_code`` (it is the environment's code).
- **models from code** (a ``.py`` path): the file is copied into the model and run at load; it
  calls :func:`saveur.models.set_model`. Needs ``trust_code`` to load.
- **pickled instance** (cloudpickle). Needs ``trust_code`` to load.

``_load_pyfunc`` lets MLflow's ``mlflow.pyfunc.load_model`` load saveur's custom models; it
can only take trust from ``SAVEUR_TRUST_CODE=1``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import MLmodelError, PluginError, SaveError, TrustError
from saveur.hookspecs import (
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)
from saveur.mlmodel import PYFUNC_FLAVOR

if TYPE_CHECKING:
    from saveur.python_model import PythonModelContext

LOADER_MODULE = "saveur.pyfunc_flavor"
PICKLE_FILE = "python_model.pkl"
CODE_FILE_DIR = "model_code"
ARTIFACTS_DIR = "artifacts"

_REFERENCE_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", re.ASCII)
_REFUSED_TOP_LEVEL = frozenset({"test", "idlelib", "turtledemo"})
_set_model_lock = threading.Lock()
_current_model: list[object] = []


def is_python_model(obj: object) -> bool:
    """Whether ``obj`` is a :class:`saveur.pyfunc.PythonModel` instance."""
    from saveur.python_model import PythonModel

    return isinstance(obj, PythonModel)


def set_model(model: object) -> None:
    """Declare the model defined by a models-from-code file (call it at the file's end)."""
    if not is_python_model(model) and not callable(getattr(model, "predict", None)):
        raise SaveError(
            "set_model() needs a saveur.pyfunc.PythonModel instance (or an object with predict)"
        )
    _current_model.append(model)


# --- hooks -------------------------------------------------------------------------------


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    return [
        FlavorInfo(
            key=PYFUNC_FLAVOR,
            distribution="saveur",
            loader_modules=(LOADER_MODULE,),
            description="custom Python models (saveur.pyfunc.PythonModel)",
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    if "saveur.python_model" not in sys.modules:
        return None  # nobody defined a PythonModel subclass yet: cheap early out
    from saveur.python_model import PythonModel

    return FlavorClaim(PYFUNC_FLAVOR, PythonModel) if isinstance(model, PythonModel) else None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    options = dict(options)
    artifacts = options.pop("artifacts", None)
    model_config = options.pop("model_config", None)
    if options:
        raise SaveError(f"unknown options for a custom Python model: {sorted(options)}")
    conf: dict[str, Any] = {"loader_module": LOADER_MODULE}
    if model_config is not None:
        _check_json(model_config)
        conf["model_config"] = model_config

    if isinstance(model, str) and _REFERENCE_RE.fullmatch(model) and not model.endswith(".py"):
        _import_reference(model)  # fail at save, not at load, if it is not a PythonModel
        conf["python_model_class"] = model
    elif isinstance(model, (str, Path)):
        src = Path(model).expanduser()
        if src.suffix != ".py" or not src.is_file():
            raise SaveError(
                f"python_model {str(model)!r} is neither a .py file nor 'package.module:Class'"
            )
        from saveur.security import copy_regular_file

        (path / CODE_FILE_DIR).mkdir()
        copy_regular_file(src, path / CODE_FILE_DIR / src.name)
        conf["model_code"] = f"{CODE_FILE_DIR}/{src.name}"
    elif is_python_model(model):
        import cloudpickle

        with open(path / PICKLE_FILE, "wb") as f:
            cloudpickle.dump(model, f)
        conf["python_model"] = PICKLE_FILE
        conf["cloudpickle_version"] = cloudpickle.__version__
    else:
        raise SaveError(
            f"python_model must be a saveur.pyfunc.PythonModel, a .py file path or "
            f"'package.module:Class', got {type(model).__name__}"
        )
    if artifacts:
        conf["artifacts"] = _copy_artifacts(path, artifacts)
    return SavedFlavor(flavor_conf={}, pyfunc_conf=conf)


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    model = _instantiate(flavor_conf, context)
    if is_python_model(model):
        model.load_context(_context(context.model_dir, flavor_conf))  # type: ignore[attr-defined]
    return model


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    ctx = _context(context.model_dir, pyfunc_conf)
    if context.saving and is_python_model(model):
        model.load_context(ctx)  # type: ignore[attr-defined]
    if isinstance(model, (str, Path)):  # at save, a reference or a code file: build it
        model = _instantiate_for_save(model, ctx)
    predict = model.predict  # type: ignore[attr-defined]
    if is_python_model(model):
        return lambda data, params: predict(ctx, data, params=params)
    return lambda data, params: predict(data, params=params)


@hookimpl
def saveur_infer_requirements(
    flavor: str, model: object, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    from saveur.environment import (
        infer_code_requirements,
        infer_object_requirements,
        pin_requirement,
    )

    reqs: list[str] = []
    if is_python_model(model):  # pickled: what its classes import, and cloudpickle to load it
        reqs.append(pin_requirement("cloudpickle") or "cloudpickle")
        reqs.extend(infer_object_requirements(model))
    if (model_dir / CODE_FILE_DIR).is_dir():  # models from code: what the file imports
        reqs.extend(infer_code_requirements([model_dir / CODE_FILE_DIR]))
    reference = flavor_conf.get("python_model_class")
    if isinstance(reference, str):
        module = sys.modules.get(reference.partition(":")[0])
        file = getattr(module, "__file__", None)
        if file:
            reqs.extend(infer_code_requirements([Path(file)]))
    return reqs


# --- MLflow's entry point ----------------------------------------------------------------


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> object:
    """Called by ``mlflow.pyfunc.load_model``; trust only from ``SAVEUR_TRUST_CODE=1``."""
    from saveur.mlmodel import Model
    from saveur.security import trust_from_env

    model_dir = Path(data_path)
    mlmodel = Model.load(model_dir)
    conf = dict(mlmodel.pyfunc_conf or {})
    if model_config:
        saved = conf.get("model_config")
        conf["model_config"] = {**(saved if isinstance(saved, dict) else {}), **model_config}
    context = LoadContext(model_dir=model_dir, mlmodel=mlmodel, trust_code=trust_from_env(None))
    model = saveur_load_model(PYFUNC_FLAVOR, conf, context)
    predict = saveur_predict_function(PYFUNC_FLAVOR, model, conf, context)
    return _MLflowAdapter(predict, model)


class _MLflowAdapter:
    def __init__(self, predict: Any, model: object) -> None:
        self._predict = predict
        self.python_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data, params)


# --- helpers -----------------------------------------------------------------------------


def _check_json(config: Any) -> None:
    try:
        json.dumps(config)
    except (TypeError, ValueError) as e:
        raise SaveError(f"model_config must be JSON-serializable: {e}") from None
    if not isinstance(config, dict):
        raise SaveError(f"model_config must be a dict, got {type(config).__name__}")


def _copy_artifacts(path: Path, artifacts: dict[str, Any]) -> dict[str, dict[str, str]]:
    from saveur.security import check_relative, copy_regular_file, walk_files

    if not isinstance(artifacts, dict):
        raise SaveError("artifacts must be a dict of {name: local path}")
    root = path / ARTIFACTS_DIR
    root.mkdir()
    recorded: dict[str, dict[str, str]] = {}
    for name, src in artifacts.items():
        check_relative(str(name), "artifact name")
        if "/" in str(name):
            raise SaveError(f"artifact name {name!r} must not contain '/'")
        source = Path(src).expanduser()
        if not source.exists():
            raise SaveError(f"artifact {name!r}: {str(src)!r} does not exist")
        dest = root / str(name)
        if source.is_dir():
            # The same walk as every model directory: no FIFO or device (a copy would hang or
            # never end), no link out of the artifact (it would copy whatever it points at).
            dest.mkdir()
            for rel, file in walk_files(source, links="inside", what=f"artifact {name!r} file"):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                copy_regular_file(file, dest / rel)
        else:
            dest.mkdir()
            dest = dest / source.name
            copy_regular_file(source, dest)
        recorded[str(name)] = {"path": dest.relative_to(path).as_posix()}
    return recorded


def _context(model_dir: Path, conf: dict[str, Any]) -> PythonModelContext:
    from saveur.python_model import PythonModelContext
    from saveur.security import contained_path

    artifacts: dict[str, str] = {}
    raw = conf.get("artifacts") or {}
    if not isinstance(raw, dict):
        raise MLmodelError("python_function.artifacts must be a mapping")
    for name, entry in raw.items():
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(rel, str):
            raise MLmodelError(f"artifact {name!r} has no 'path' in MLmodel")
        artifacts[str(name)] = str(contained_path(model_dir, rel, f"artifact {name!r} path"))
    config = conf.get("model_config")
    return PythonModelContext(artifacts, config if isinstance(config, dict) else None)


def _import_reference(
    reference: str, model_dir: Path | None = None, trust_code: bool = False
) -> type:
    """Import a ``package.module:Class`` reference; at load, only from installed packages.

    ``model_dir`` is given at load: the module and its parents are then located without
    running them and refused unless they are files of an installed distribution outside the
    model, the code paths of loaded models and the current directory (with ``trust_code``,
    only the model and code paths are refused). At save (``model_dir`` None) the class is
    the caller's own.
    """
    from saveur.python_model import PythonModel
    from saveur.security import check_installed_module

    if not isinstance(reference, str) or not _REFERENCE_RE.fullmatch(reference):
        raise MLmodelError(f"python_model_class {reference!r} is not 'package.module:Class'")
    module_name, _, class_name = reference.partition(":")
    parts = module_name.split(".")
    if "" in parts:
        raise MLmodelError(f"python_model_class {reference!r} has an empty module name part")
    # Importing a module runs its top-level code. An installed package's modules are the
    # environment's code (importing them is what any user of the package does), but a
    # ``__main__`` module is a command-line entry point that acts at import (certifi's parses
    # sys.argv and prints), and the standard library's ``test`` package (missing from
    # sys.stdlib_module_names) runs test suites: neither is a place a model class lives.
    if (
        "__main__" in parts
        or parts[0] in sys.stdlib_module_names
        or parts[0] in _REFUSED_TOP_LEVEL
    ):
        raise TrustError(
            f"python_model_class {reference!r} is refused: only PythonModel subclasses from "
            "installed packages may be named (not the standard library or a __main__ module)"
        )
    origin = None
    if model_dir is not None:
        from saveur.loading import model_code_dirs

        try:
            origin = check_installed_module(
                module_name, [model_dir, *model_code_dirs()], installed_only=not trust_code
            )
        except TrustError as e:
            raise TrustError(f"python_model_class {reference!r} is refused: {e}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise PluginError(f"python_model_class {reference!r}: cannot import {module_name!r}: {e}"
                          ) from e
    except (Exception, SystemExit) as e:  # a module that fails (or exits) at import
        raise PluginError(
            f"python_model_class {reference!r}: importing {module_name!r} failed: "
            f"{type(e).__name__}: {e}"
        ) from e
    loaded = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin is not None and (loaded is None or os.path.realpath(loaded) != origin):
        # The import found another file than the one checked (a race, or a finder that
        # answers differently twice): refuse whatever it is before anything uses it.
        raise TrustError(
            f"python_model_class {reference!r} is refused: {module_name!r} was imported from "
            f"{loaded!r}, not from the installed file {origin!r} that was checked"
        )
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, PythonModel)):
        raise TrustError(
            f"python_model_class {reference!r} is refused: it is not a saveur.pyfunc.PythonModel "
            "subclass"
        )
    return cls


def _instantiate(conf: dict[str, Any], context: LoadContext) -> object:
    from saveur.security import contained_path, require_trust

    if "python_model_class" in conf:
        reference = conf["python_model_class"]
        if not isinstance(reference, str):
            raise MLmodelError(f"python_model_class {reference!r} is not 'package.module:Class'")
        return _import_reference(reference, context.model_dir, context.trust_code)()
    if "model_code" in conf:
        code = contained_path(context.model_dir, str(conf["model_code"]), "model_code")
        require_trust(context.trust_code, f"the model code file {conf['model_code']!r}")
        return _run_model_code(code)
    if "python_model" in conf:
        pkl = contained_path(context.model_dir, str(conf["python_model"]), "python_model")
        require_trust(context.trust_code, f"the pickled model {conf['python_model']!r}")
        import cloudpickle

        with open(pkl, "rb") as f:
            return cloudpickle.load(f)
    raise MLmodelError(
        "the python_function flavor names no model: expected python_model_class, model_code "
        "or python_model"
    )


def _instantiate_for_save(model: str | Path, ctx: PythonModelContext) -> object:
    if isinstance(model, str) and _REFERENCE_RE.fullmatch(model) and not model.endswith(".py"):
        instance = _import_reference(model)()
    else:
        instance = _run_model_code(Path(model))
    if is_python_model(instance):
        instance.load_context(ctx)  # type: ignore[attr-defined]
    return instance


def _run_model_code(path: Path) -> object:
    import runpy
    from importlib.util import MAGIC_NUMBER

    from saveur.security import open_regular

    # runpy runs a file that starts with the bytecode magic number as bytecode, whatever its
    # name: a model's code is its source, never compiled bytecode.
    with open_regular(path, "model code file") as f:
        head = f.read(len(MAGIC_NUMBER))
    if path.suffix != ".py" or head == MAGIC_NUMBER:
        raise MLmodelError(
            f"the model code file {path.name!r} is not Python source (.py); compiled "
            "bytecode is refused"
        )
    with _set_model_lock:
        _current_model.clear()
        try:
            runpy.run_path(str(path), run_name="__saveur_model_code__")
            if not _current_model:
                raise SaveError(
                    f"the model code file {path.name!r} did not call saveur.models.set_model()"
                )
            return _current_model[-1]
        finally:
            _current_model.clear()
