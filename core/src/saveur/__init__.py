"""saveur: package, load and deploy machine-learning models in the MLmodel format.

Everything here is imported lazily, so ``import saveur`` costs milliseconds; the names below
resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from saveur._version import __version__

if TYPE_CHECKING:
    from saveur.hookspecs import FlavorClaim as FlavorClaim
    from saveur.hookspecs import hookimpl as hookimpl
    from saveur.loading import load_model_native as load_model  # noqa: F401
    from saveur.saving import save_model as save_model
    from saveur.store import *  # noqa: F403

#: public name -> module that defines it
_LAZY = {
    "save_model": "saveur.saving",
    "load_model": "saveur.loading",
    "Model": "saveur.mlmodel",
    "SaveurError": "saveur.errors",
    "hookimpl": "saveur.hookspecs",
    "FlavorClaim": "saveur.hookspecs",
}
_STORE_NAMES = (
    "set_store_uri", "get_store_uri", "start_run", "end_run", "active_run", "log_artifact",
    "log_artifacts", "list_artifacts", "download_artifacts", "log_param", "log_params",
    "log_metric", "log_metrics", "set_tag", "set_tags", "get_run", "search_runs", "delete_run",
    "log_model", "register_model", "set_model_alias", "delete_model_alias", "get_model_version",
    "get_model_version_by_alias", "search_model_versions", "search_registered_models",
    "set_model_version_tag", "delete_model_version", "delete_registered_model",
    "rename_registered_model", "get_latest_version", "get_registered_model",
    "create_registered_model", "update_model_version", "update_registered_model",
    "set_registered_model_tag", "delete_registered_model_tag", "delete_model_version_tag",
    "get_metric_history",
)
_LAZY.update({name: "saveur.store" for name in _STORE_NAMES})
_SUBMODULES = {"pyfunc", "models", "types", "errors", "signature", "store", "serving", "testing"}

__all__ = ["__version__", *_LAZY, *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"saveur.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'saveur' has no attribute {name!r}")
    attr = "load_model_native" if name == "load_model" else name
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
