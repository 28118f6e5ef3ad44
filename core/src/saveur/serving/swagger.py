"""``/docs``: Swagger UI served from the installed ``swagger-ui-bundle-v2`` assets (no CDN)."""

from __future__ import annotations

import functools
from pathlib import Path

from saveur.serving import _http
from saveur.serving._http import Response

#: asset file name -> content type
ASSETS: dict[str, bytes] = {
    "swagger-ui.css": b"text/css; charset=utf-8",
    "index.css": b"text/css; charset=utf-8",
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": b"text/javascript; charset=utf-8",
    "favicon-32x32.png": b"image/png",
    "favicon-16x16.png": b"image/png",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>{title}</title>
    <link rel="stylesheet" type="text/css" href="{root}/docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="{root}/docs/index.css" />
    <link rel="icon" type="image/png" href="{root}/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{root}/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="{root}/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {{
        window.ui = SwaggerUIBundle({{
          url: "{root}/openapi.json",
          dom_id: "#swagger-ui",
          deepLinking: true,
          tryItOutEnabled: true,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          layout: "BaseLayout"
        }});
      }};
    </script>
  </body>
</html>
"""


def assets_dir() -> Path:
    """The directory of the installed Swagger UI distribution files."""
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]
    except ImportError as exc:
        from saveur.errors import MissingDependencyError

        raise MissingDependencyError(
            "the Swagger UI assets are not installed: pip install 'saveur[serve]' "
            "(package swagger-ui-bundle-v2)"
        ) from exc
    return Path(swagger_ui_path)


def page(root_path: str = "", title: str = "saveur scoring server") -> bytes:
    """The ``/docs`` HTML page; asset and document URLs start at ``root_path``."""
    return _PAGE.format(root=root_path.rstrip("/"), title=title).encode()


@functools.lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    return (assets_dir() / name).read_bytes()


def serve(path: str, root_path: str = "") -> Response:
    """Answer ``GET /docs`` or ``GET /docs/<asset>``."""
    if path in ("/docs", "/docs/"):
        return _http.response(200, page(root_path), b"text/html; charset=utf-8")
    name = path[len("/docs/") :]
    content_type = ASSETS.get(name)
    if content_type is None:
        return _http.mlflow_error(404, f"no Swagger UI file named {name!r}", "ENDPOINT_NOT_FOUND")
    return _http.response(200, _asset(name), content_type)
