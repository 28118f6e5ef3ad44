"""Runs, artifacts, the model registry and ``runs:/``/``models:/`` URIs.

Importing this package is cheap: SQLAlchemy and Alembic load only when a store is opened
(on the first call that needs one). The default store is ``./saveur-store/`` (SQLite plus
an ``artifacts/`` folder); choose another with ``SAVEUR_STORE_URI`` or :func:`set_store_uri`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    # store selection
    "set_store_uri": "_config",
    "get_store_uri": "_config",
    # runs
    "start_run": "tracking",
    "end_run": "tracking",
    "active_run": "tracking",
    "log_artifact": "tracking",
    "log_artifacts": "tracking",
    "list_artifacts": "tracking",
    "download_artifacts": "tracking",
    "log_param": "tracking",
    "log_params": "tracking",
    "log_metric": "tracking",
    "log_metrics": "tracking",
    "get_metric_history": "tracking",
    "set_tag": "tracking",
    "set_tags": "tracking",
    "get_run": "tracking",
    "search_runs": "tracking",
    "delete_run": "tracking",
    "ActiveRun": "tracking",
    # models
    "log_model": "model_logging",
    # registry
    "register_model": "registry",
    "create_registered_model": "registry",
    "get_registered_model": "registry",
    "set_model_alias": "registry",
    "delete_model_alias": "registry",
    "get_model_version": "registry",
    "get_model_version_by_alias": "registry",
    "get_latest_version": "registry",
    "search_model_versions": "registry",
    "search_registered_models": "registry",
    "set_model_version_tag": "registry",
    "delete_model_version_tag": "registry",
    "set_registered_model_tag": "registry",
    "delete_registered_model_tag": "registry",
    "update_model_version": "registry",
    "update_registered_model": "registry",
    "delete_model_version": "registry",
    "delete_registered_model": "registry",
    "rename_registered_model": "registry",
    # records
    "Run": "entities",
    "RunInfo": "entities",
    "RunData": "entities",
    "ModelInfo": "entities",
    "RegisteredModel": "entities",
    "ModelVersion": "entities",
    "FileInfo": "entities",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'saveur.store' has no attribute {name!r}")
    value = getattr(import_module(f"saveur.store.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
