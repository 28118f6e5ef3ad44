"""The real-time scoring server: MLflow's protocol, Open Inference v2, OpenAPI and Swagger UI.

Nothing here is imported by ``import saveur``; the web stack loads only when serving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saveur.serving.app import ScoringApp


def build_app(
    model_uri: str,
    *,
    trust_code: bool = False,
    name: str | None = None,
    max_batch_size: int | None = None,
    max_batch_delay_ms: float = 0.0,
    max_body_mb: float = 100.0,
    debug: bool = False,
) -> ScoringApp:
    """Load the model at ``model_uri`` and return the ASGI app that serves it.

    See :func:`saveur.serving.app.build_app` for the options.
    """
    from saveur.serving.app import build_app as _build_app

    return _build_app(
        model_uri,
        trust_code=trust_code,
        name=name,
        max_batch_size=max_batch_size,
        max_batch_delay_ms=max_batch_delay_ms,
        max_body_mb=max_body_mb,
        debug=debug,
    )


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


__all__ = ["build_app", "openapi_document"]
