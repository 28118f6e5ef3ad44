"""saveur-echo: a test-only flavor plugin implementing every hook, with no ML framework."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from saveur.errors import SaveError
from saveur.hookspecs import FlavorClaim, FlavorInfo, LoadContext, SavedFlavor, hookimpl

FLAVOR = "echo"
MODEL_FILE = "echo.json"


class EchoModel:
    """Multiplies its numeric input by ``factor`` (plus ``params['offset']`` if given)."""

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        offset = (params or {}).get("offset", 0)
        return data * self.factor + offset


@hookimpl
def saveur_flavors() -> list[FlavorInfo]:
    return [FlavorInfo(key=FLAVOR, distribution="saveur-echo",
                       loader_modules=("saveur_echo",), description="test-only echo flavor")]


@hookimpl
def saveur_detect_flavor(model: object) -> FlavorClaim | None:
    return FlavorClaim(FLAVOR, EchoModel) if isinstance(model, EchoModel) else None


@hookimpl
def saveur_save_model(flavor: str, model: Any, path: Path, options: dict[str, Any]) -> SavedFlavor:
    if options:
        raise SaveError(f"unknown options for the echo flavor: {sorted(options)}")
    (path / MODEL_FILE).write_text(json.dumps({"factor": model.factor}))
    return SavedFlavor(
        flavor_conf={"data": MODEL_FILE, "echo_version": "1"},
        pyfunc_conf={"loader_module": "saveur_echo", "data": MODEL_FILE},
        files=(MODEL_FILE,),
    )


@hookimpl
def saveur_load_model(flavor: str, flavor_conf: dict[str, Any], context: LoadContext) -> object:
    from saveur.security import contained_path

    file = contained_path(context.model_dir, flavor_conf["data"], "echo data")
    return EchoModel(json.loads(file.read_text())["factor"])


@hookimpl
def saveur_predict_function(
    flavor: str, model: Any, pyfunc_conf: dict[str, Any], context: LoadContext
) -> Any:
    return model.predict


@hookimpl
def saveur_infer_requirements(
    flavor: str, model: Any, model_dir: Path, flavor_conf: dict[str, Any]
) -> list[str]:
    return ["saveur-echo==0.1.0"]


@hookimpl
def saveur_resolve_uri(uri: str) -> Any:
    """Adds the ``echo://<path>`` scheme, to show that a plugin can add URI schemes."""
    if not uri.startswith("echo://"):
        return None
    from saveur.hookspecs import ResolvedURI

    return ResolvedURI(local_path=Path(uri[len("echo://"):]).resolve())


def _load_pyfunc(data_path: str) -> EchoModel:
    """MLflow's loader entry point: ``data_path`` is the echo.json file."""
    return EchoModel(json.loads(Path(data_path).read_text())["factor"])
