"""The real-time scoring server: MLflow's protocol, Open Inference v2, OpenAPI and Swagger UI.

Nothing here is imported by ``import saveur``; the web stack loads only when serving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saveur.serving.app import app_for_model, build_app


def __getattr__(name: str) -> Any:
    # build_app and app_for_model live with the app; import it (and the web stack) on use.
    if name in ("build_app", "app_for_model"):
        from saveur.serving import app

        return getattr(app, name)
    raise AttributeError(f"module 'saveur.serving' has no attribute {name!r}")


def openapi_document(model_uri: str, *, name: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document a server for ``model_uri`` would serve, without serving it.

    Only the MLmodel file and the serving example are read: no model code runs.
    """
    from saveur.loading import open_model
    from saveur.serving.openapi import build_openapi
    from saveur.serving.scorer import default_name, saveur_version, serving_example

    opened = open_model(model_uri)
    return build_openapi(
        opened.mlmodel.signature,
        model_name=name or default_name(opened.resolved, opened.path),
        serving_example=serving_example(opened.path),
        version=saveur_version(),
    )


__all__ = ["app_for_model", "build_app", "openapi_document"]
