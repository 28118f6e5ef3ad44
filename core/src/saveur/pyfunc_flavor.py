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
import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from saveur.errors import MLmodelError, PluginError, SaveError, TrustError
from saveur.hookspecs import FlavorInfo, LoadContext, SavedFlavor, hookimpl
from saveur.mlmodel import PYFUNC_FLAVOR

LOADER_MODULE = "saveur.pyfunc_flavor"
PICKLE_FILE = "python_model.pkl"
CODE_FILE_DIR = "model_code"
ARTIFACTS_DIR = "artifacts"

_REFERENCE_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", re.ASCII)
_REFUSED_TOP_LEVEL = frozenset({"test", "idlelib", "turtledemo"})
_set_model_lock = threading.Lock()
_current_model: list[object] = []
# Requirements inferred from the source of a pickled model's class, handed from the save hook
# to the requirements hook of the same save (the requirements hook sees the directory, not the
# object).
_pending_requirements: dict[str, list[str]] = {}


def is_python_model(obj: object) -> bool:
    """Whether ``obj`` is a :class:`saveur.pyfunc.PythonModel` instance."""
    from saveur.pyfunc import PythonModel

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
def saveur_detect_flavor(model: object) -> str | None:
    if "saveur.pyfunc" not in sys.modules:
        return None  # nobody defined a PythonModel subclass yet: cheap early out
    return PYFUNC_FLAVOR if is_python_model(model) else None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    options = dict(options)
    artifacts = options.pop("artifacts", None)
    model_config = options.pop("model_config", None)
    # Keys with a leading underscore are the host's notes (_code_dir, _input_example).
    options = {k: v for k, v in options.items() if not k.startswith("_")}
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
        (path / CODE_FILE_DIR).mkdir()
        shutil.copy2(src, path / CODE_FILE_DIR / src.name)
        conf["model_code"] = f"{CODE_FILE_DIR}/{src.name}"
    elif is_python_model(model):
        import cloudpickle

        with open(path / PICKLE_FILE, "wb") as f:
            cloudpickle.dump(model, f)
        from saveur.environment import infer_object_requirements

        _pending_requirements[str(path)] = infer_object_requirements(model)
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
) -> Any:
    ctx = _context(context.model_dir, pyfunc_conf)
    if context.options.get("saving") and is_python_model(model):
        model.load_context(ctx)  # type: ignore[attr-defined]
    if isinstance(model, (str, Path)):  # at save, a reference or a code file: build it
        model = _instantiate_for_save(model, ctx)
    predict = model.predict  # type: ignore[attr-defined]
    if is_python_model(model):
        return lambda data, params: predict(ctx, data, params=params)
    return lambda data, params: predict(data, params=params)


@hookimpl
def saveur_infer_requirements(
    flavor: str, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    from saveur.environment import infer_code_requirements, pin_requirement

    reqs = _infer_requirements(model_dir, infer_code_requirements, pin_requirement)
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
    from saveur.security import check_relative

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
            shutil.copytree(source, dest, symlinks=False)
        else:
            dest.mkdir()
            dest = dest / source.name
            shutil.copy2(source, dest)
        recorded[str(name)] = {"path": dest.relative_to(path).as_posix()}
    return recorded


def _context(model_dir: Path, conf: dict[str, Any]) -> Any:
    from saveur.pyfunc import PythonModelContext
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


def _import_reference(reference: str) -> type:
    from saveur.pyfunc import PythonModel

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
        return _import_reference(str(conf["python_model_class"]))()
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


def _instantiate_for_save(model: str | Path, ctx: Any) -> object:
    if isinstance(model, str) and _REFERENCE_RE.fullmatch(model) and not model.endswith(".py"):
        instance = _import_reference(model)()
    else:
        instance = _run_model_code(Path(model))
    if is_python_model(instance):
        instance.load_context(ctx)  # type: ignore[attr-defined]
    return instance


def _run_model_code(path: Path) -> object:
    import runpy

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


def _infer_requirements(model_dir: Path, scan: Any, pin: Any) -> list[str]:
    reqs: list[str] = []
    reqs.extend(_pending_requirements.pop(str(model_dir), []))
    paths: list[Path] = []
    code_dir = model_dir / "code"
    if code_dir.is_dir():
        paths.append(code_dir)
    if (model_dir / CODE_FILE_DIR).is_dir():
        paths.append(model_dir / CODE_FILE_DIR)
    if (model_dir / PICKLE_FILE).is_file():
        reqs.append(pin("cloudpickle") or "cloudpickle")
    reqs.extend(scan(paths) if paths else [])
    return reqs
