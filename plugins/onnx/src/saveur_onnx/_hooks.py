"""The pluggy hook implementations of the ``onnx`` flavor.

Nothing here imports onnx or onnxruntime at module level: the host imports every plugin to
list its flavors, and that must stay cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saveur.errors import PluginError, SaveError
from saveur.flavor_options import check_options
from saveur.hookspecs import (
    FlavorClaim,
    FlavorInfo,
    LoadContext,
    PredictFunction,
    SavedFlavor,
    hookimpl,
)
from saveur_onnx._requirements import DISTRIBUTION, infer_requirements

FLAVOR = "onnx"
#: MLflow's loader for the flavor: the saved python_function block names it, so stock MLflow
#: (no saveur installed) loads saveur's ONNX models.
MLFLOW_LOADER = "mlflow.onnx"

_SAVE_OPTIONS = ("onnx_execution_providers", "onnx_session_options", "save_as_external_data")
_LOAD_OPTIONS = ("providers", "onnx_session_options")


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    """The ``onnx`` flavor: ONNX graphs, predicted with onnxruntime."""
    return [
        FlavorInfo(
            key=FLAVOR,
            distribution=DISTRIBUTION,
            framework_requirements=("onnx", "onnxruntime"),
            loader_modules=(MLFLOW_LOADER, "saveur_onnx"),
            mlflow_loader_module=MLFLOW_LOADER,
            description="ONNX models (onnx.ModelProto or .onnx files), run with onnxruntime",
        )
    ]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    """Claim ``onnx.ModelProto``, by its classes' module and name only (onnx is not imported)."""
    for cls in type(model).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if cls.__qualname__ == "ModelProto" and (module == "onnx" or module.startswith("onnx.")):
            return FlavorClaim(FLAVOR, cls)
    return None


@hookimpl
def saveur_save_model(
    flavor: str, model: object, path: Path, options: dict[str, Any]
) -> SavedFlavor:
    """Check the graph and write ``model.onnx`` (plus its data sidecar) in MLflow 3's layout."""
    from saveur_onnx import _files, _predict
    from saveur_onnx._session import validate_save_conf

    check_options(FLAVOR, options, _SAVE_OPTIONS, what="save", error=SaveError)
    providers, session_options = validate_save_conf(options)
    external = options.get("save_as_external_data", True)
    if not isinstance(external, bool):
        raise SaveError(f"save_as_external_data must be True or False, got {external!r}")
    onnx = _files.import_onnx()
    proto = _files.source_model(model, "the ONNX model")
    _files.check_model(proto, "the ONNX model")
    files = _files.write_model(proto, Path(path), external)
    flavor_conf = {
        "onnx_version": onnx.__version__,
        "data": _files.MODEL_FILE,
        "providers": providers,
        "onnx_session_options": session_options,
        "code": None,
    }
    pyfunc_conf = {"loader_module": MLFLOW_LOADER, "data": _files.MODEL_FILE}
    return SavedFlavor(
        flavor_conf=flavor_conf,
        pyfunc_conf=pyfunc_conf,
        files=files,
        signature=_predict.derive_signature(proto),
    )


def _model_file(model_dir: Path, conf: dict[str, Any]) -> Path:
    from saveur.security import contained_path

    rel = conf.get("data")
    if not isinstance(rel, str):
        raise PluginError("the 'onnx' flavor in MLmodel has no 'data' file name")
    return contained_path(model_dir, rel, "onnx data")


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    """Return the ``onnx.ModelProto``, external data loaded once every location is checked."""
    from saveur_onnx import _files

    check_options(FLAVOR, context.options, _LOAD_OPTIONS, what="load", error=PluginError)
    path = _model_file(context.model_dir, flavor_conf)
    return _files.load_checked(path, Path(context.model_dir), f"onnx data {path.name!r}")


@hookimpl
def saveur_predict_function(
    flavor: str, model: object, pyfunc_conf: dict[str, Any], context: LoadContext
) -> PredictFunction:
    """Build the onnxruntime session once; the returned function feeds it and runs it."""
    from saveur_onnx import _files, _predict
    from saveur_onnx._session import create_session

    check_options(FLAVOR, context.options, _LOAD_OPTIONS, what="load", error=PluginError)
    mlmodel = context.mlmodel
    flavor_conf = (getattr(mlmodel, "flavors", None) or {}).get(FLAVOR) or pyfunc_conf
    if not hasattr(model, "SerializeToString"):
        # Saved from a .onnx path (the host runs the caller's object on an input example):
        # predict with the copy just written into the model directory.
        model = saveur_load_model(flavor=flavor, flavor_conf=pyfunc_conf, context=context)
    if model.ByteSize() < 2**31 - 1:  # type: ignore[attr-defined]
        # From the bytes already in memory (external data included): onnxruntime opens no
        # file, so no location in the graph can make it read one.
        source: Any = model.SerializeToString()  # type: ignore[attr-defined]
    else:
        source = _model_file(context.model_dir, pyfunc_conf)
        _files.check_locations(
            _files.read_graph(source, "onnx data"),
            source,
            Path(context.model_dir),
            f"onnx data {source.name!r}",
        )
    session = create_session(source, flavor_conf, context.options)
    inputs = _predict.graph_inputs(session)
    output_names = [o.name for o in session.get_outputs()]
    run = session.run
    make_feeds, format_output = _predict.make_feeds, _predict.format_output
    answer = _predict.output_dict(output_names)

    def predict_any(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        outputs = run(output_names, make_feeds(model_input, inputs))
        return format_output(model_input, output_names, outputs)

    if len(inputs) != 1 or inputs[0].dtype is None:
        return predict_any
    import numpy as np

    ndarray = np.ndarray
    # One array of the one input's dtype: the serving case, with nothing to map or cast.
    only_name, only_dtype = inputs[0].name, inputs[0].dtype

    def predict(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        if type(model_input) is ndarray:
            dtype = model_input.dtype
            if dtype is only_dtype or dtype == only_dtype:
                return answer(run(output_names, {only_name: model_input}))
        return predict_any(model_input)

    return predict


@hookimpl
def saveur_infer_requirements(
    flavor: str, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    """Pin onnx, onnxruntime and numpy as installed (no saveur distribution: MLflow loads it)."""
    return infer_requirements()
