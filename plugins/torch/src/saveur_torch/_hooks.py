"""The pluggy hook implementations of the ``pytorch`` flavor.

Nothing here imports torch at module level: the host imports every plugin to list its
flavors, and that must stay cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saveur.errors import MLmodelError, PluginError, SaveError
from saveur.flavor_options import check_options
from saveur.hookspecs import (
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)
from saveur_torch import _formats
from saveur_torch._requirements import DISTRIBUTION, infer_requirements

FLAVOR = "pytorch"
#: MLflow's loader module: ``export`` models name it, so stock MLflow loads them.
MLFLOW_LOADER = "mlflow.pytorch"
OWN_LOADER = "saveur_torch"

_SAVE_OPTIONS = ("serialization_format", "example_inputs", "init_kwargs")
_LOAD_OPTIONS = ("device",)
#: The classes a saved object may have (checked by name: torch is not imported to detect).
_MODULE_CLASS = "torch.nn.modules.module.Module"
_EXPORTED_CLASS = "torch.export.exported_program.ExportedProgram"


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    """The ``pytorch`` flavor: ``torch.nn.Module`` models and exported programs."""
    return [
        FlavorInfo(
            key=FLAVOR,
            distribution=DISTRIBUTION,
            framework_requirements=("torch", "safetensors"),
            loader_modules=(MLFLOW_LOADER, OWN_LOADER),
            description="PyTorch modules (torch.export pt2, safetensors state_dict, pickle)",
            # export models are MLflow 3's own pt2 layout: portable; the others pin the plugin
            mlflow_loader_module=MLFLOW_LOADER,
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    """Claim ``torch.nn.Module`` instances and ``torch.export.ExportedProgram`` objects."""
    for cls in type(model).__mro__:
        name = f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', '')}"
        if name in (_MODULE_CLASS, _EXPORTED_CLASS):
            return FlavorClaim(FLAVOR, cls)
    return None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any], input_example: object
) -> SavedFlavor:
    """Write ``data/model.pt2`` (export), ``data/model.safetensors`` or ``data/model.pth``."""
    check_options(FLAVOR, options, _SAVE_OPTIONS, what="save", error=SaveError)
    fmt = _formats.check_format(options.get("serialization_format", _formats.EXPORT))
    if fmt != _formats.STATE_DICT and options.get("init_kwargs") is not None:
        raise SaveError("init_kwargs is used only with serialization_format='state_dict'")
    torch = _formats.import_torch()
    if not (isinstance(model, torch.nn.Module) or _formats.is_exported_program(model)):
        raise SaveError(
            f"the 'pytorch' flavor saves torch.nn.Module models, got {type(model).__name__}"
        )
    data_dir = Path(path) / _formats.DATA_DIR
    data_dir.mkdir()
    flavor_conf: dict[str, Any] = {
        "model_data": _formats.DATA_DIR,
        "pytorch_version": str(torch.__version__),
        "code": None,
    }
    if fmt == _formats.EXPORT:
        example = options.get("example_inputs")
        if example is None:
            example = input_example
        _formats.save_export(model, data_dir, example)
        files = (f"{_formats.DATA_DIR}/{_formats.PT2_FILE}",)
        # MLflow 3's exact pt2 keys, so stock mlflow.pytorch loads the model.
        pyfunc_conf: dict[str, Any] = {
            "loader_module": MLFLOW_LOADER,
            "data": _formats.DATA_DIR,
            "pickle_module_name": _formats.MLFLOW_PICKLE_MODULE,
            "config": {"device": None},
        }
        return SavedFlavor(flavor_conf=flavor_conf, pyfunc_conf=pyfunc_conf, files=files)
    if fmt == _formats.STATE_DICT:
        init_kwargs = _formats.check_init_kwargs(options.get("init_kwargs"))
        ref = _formats.save_state_dict(model, data_dir, init_kwargs)
        flavor_conf.update(serialization_format=fmt, module_class=ref, init_kwargs=init_kwargs)
        files = (f"{_formats.DATA_DIR}/{_formats.SAFETENSORS_FILE}",)
    else:
        _formats.save_pickle(model, data_dir)
        flavor_conf["serialization_format"] = fmt
        files = (f"{_formats.DATA_DIR}/{_formats.PTH_FILE}",
                 f"{_formats.DATA_DIR}/{_formats.PICKLE_INFO_FILE}")
    pyfunc_conf = {"loader_module": OWN_LOADER, "data": _formats.DATA_DIR}
    return SavedFlavor(flavor_conf=flavor_conf, pyfunc_conf=pyfunc_conf, files=files)


def _stored_format(flavor_conf: dict[str, Any], data_dir: Path) -> str:
    """The format of a model: recorded by saveur, told by the file for MLflow's models."""
    fmt = flavor_conf.get("serialization_format")
    if fmt is not None:
        if fmt not in _formats.FORMATS:
            raise PluginError(
                f"MLmodel names serialization_format {fmt!r} for flavor 'pytorch'; this version "
                f"of saveur-torch reads {', '.join(_formats.FORMATS)}"
            )
        return str(fmt)
    # MLflow 3 records no format: it writes model.pth (pickle) or model.pt2 (export).
    if (data_dir / _formats.PTH_FILE).exists() or (data_dir / _formats.PICKLE_INFO_FILE).exists():
        return _formats.PICKLE
    return _formats.EXPORT


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    """Load the module: pt2 audited unless trusted, state_dict rebuilt, pickle only if trusted."""
    from saveur.security import contained_path
    from saveur_torch._predict import move_to, resolve_device, set_eval

    check_options(FLAVOR, context.options, _LOAD_OPTIONS, what="load", error=PluginError)
    data_rel = flavor_conf.get("model_data", flavor_conf.get("data", _formats.DATA_DIR))
    if not isinstance(data_rel, str):
        raise MLmodelError("the 'pytorch' flavor in MLmodel has no 'model_data' folder name")
    _formats.import_torch()
    device = resolve_device(context.options.get("device"))
    data_dir = contained_path(context.model_dir, data_rel, "pytorch model_data")
    fmt = _stored_format(flavor_conf, data_dir)
    if fmt == _formats.EXPORT:
        rel = f"{data_rel}/{_formats.PT2_FILE}"
        path = contained_path(context.model_dir, rel, "pytorch model file")
        module = _formats.load_export(path, rel, trust_code=context.trust_code)
    elif fmt == _formats.STATE_DICT:
        rel = f"{data_rel}/{_formats.SAFETENSORS_FILE}"
        path = contained_path(context.model_dir, rel, "pytorch model file")
        module = _formats.load_state_dict(
            path, rel, flavor_conf.get("module_class"), flavor_conf.get("init_kwargs") or {},
            context.model_dir, trust_code=context.trust_code,
        )
    else:
        rel = f"{data_rel}/{_formats.PTH_FILE}"
        path = contained_path(context.model_dir, rel, "pytorch model file")
        info = contained_path(context.model_dir, f"{data_rel}/{_formats.PICKLE_INFO_FILE}",
                              "pytorch pickle module info")
        module = _formats.load_pickle(path, rel, info, trust_code=context.trust_code)
    set_eval(module)
    return move_to(module, device)


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Build the predict function once: device, argument order and dtypes decided here."""
    from saveur_torch._predict import build_predict, resolve_device

    # While saving, the host runs the caller's own module on the input example to infer the
    # output schema: leave its train/eval mode alone and stay on the CPU.
    saving = context.saving
    device = "cpu" if saving else resolve_device(context.options.get("device"))
    signature = getattr(context.mlmodel, "signature", None)
    return build_predict(model, device, signature, set_eval_mode=not saving)


@hookimpl
def saveur_infer_requirements(
    flavor: str, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Pin torch and numpy, safetensors (state_dict) and saveur-torch (not for export)."""
    return infer_requirements(flavor_conf.get("serialization_format", _formats.EXPORT))
