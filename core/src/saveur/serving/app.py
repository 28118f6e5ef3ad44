"""The scoring server as a raw ASGI application: MLflow's protocol, Open Inference v2, OpenAPI.

A hand-written ASGI app rather than a framework: the server answers a dozen fixed routes, and
skipping a router, middleware stack and request objects is what makes 1-row requests cheap.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from saveur.errors import ProtocolError, SchemaError, UnsupportedContentTypeError
from saveur.serving import _http
from saveur.serving._http import Response
from saveur.serving.scorer import ModelFailure, Scorer

_log = logging.getLogger("saveur.serving")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_GET_ONLY = (b"GET", b"HEAD")


class _BodyTooLarge(Exception):
    pass


class ScoringApp:
    """ASGI app serving one loaded model; build it with :func:`saveur.serving.build_app`."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        max_body_bytes: int,
        debug: bool = False,
        grpc_address: str | None = None,
    ) -> None:
        self.scorer = scorer
        #: ``host:port`` of the v2 gRPC endpoint started with the app, or None
        self.grpc_address = grpc_address
        self._grpc_server: Any = None
        self.max_body_bytes = max_body_bytes
        self.debug = debug
        self._openapi: bytes | None = None
        self._v2_prefix = f"/v2/models/{scorer.name}"
        self._get_routes: dict[str, Callable[[], Response]] = {
            "/ping": self._ping,
            "/health": self._ping,
            "/version": self._version,
            "/openapi.json": self._openapi_json,
            "/v2/health/live": self._v2_live,
            "/v2/health/ready": self._v2_ready,
            "/v2": self._v2_server,
            self._v2_prefix: self._v2_model,
            self._v2_prefix + "/ready": self._v2_model_ready,
        }

    # --- ASGI entry point ---------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start_grpc()
                except Exception as exc:  # a taken port, grpcio missing: the server stops
                    await send({"type": "lifespan.startup.failed",
                                "message": _http.one_line(str(exc))})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._grpc_server is not None:
                    await self._grpc_server.stop(grace=5)
                await self.scorer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start_grpc(self) -> None:
        if self.grpc_address is None:
            return
        from saveur.serving.grpc_server import start_grpc_server

        self._grpc_server, port = await start_grpc_server(
            self.scorer, self.grpc_address, self.max_body_bytes
        )
        host = self.grpc_address.rsplit(":", 1)[0]
        print(f"saveur: Open Inference v2 gRPC on {host}:{port}", flush=True)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method = scope["method"].encode()
        path: str = scope["path"]
        try:
            status, headers, body = await self._route(method, path, scope, receive)
        except Exception as exc:  # a fault of the server itself: the one place for a 5xx
            _log.error("internal error on %s %s: %s", scope["method"], path, exc, exc_info=True)
            status, headers, body = self._error(500, exc, "INTERNAL_ERROR", server_fault=True)
        if method == b"HEAD":
            body = b""
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                "%s %s %d %.2fms",
                scope["method"],
                path,
                status,
                (time.perf_counter() - started) * 1000.0,
            )

    async def _route(self, method: bytes, path: str, scope: Scope, receive: Receive) -> Response:
        if path == "/invocations":
            if method != b"POST":
                return self._not_allowed(path, b"POST")
            return await self._invocations(scope, receive)
        if path == self._v2_prefix + "/infer":
            if method != b"POST":
                return self._not_allowed(path, b"POST")
            return await self._v2_infer(scope, receive)
        handler = self._get_routes.get(path)
        if handler is not None:
            if method not in _GET_ONLY:
                return self._not_allowed(path, b"GET")
            return handler()
        if path == "/docs" or path.startswith("/docs/"):
            if method not in _GET_ONLY:
                return self._not_allowed(path, b"GET")
            from saveur.serving import swagger

            return swagger.serve(path, scope.get("root_path", ""))
        if path.startswith("/v2/models/"):
            return _http.v2_error(404, f"model '{_model_name(path)}' is not served here; "
                                  f"this server serves '{self.scorer.name}'")
        return _http.mlflow_error(
            404,
            f"no endpoint at {path}: see /openapi.json for the endpoints this server answers",
            "ENDPOINT_NOT_FOUND",
        )

    # --- MLflow's scoring protocol -------------------------------------------------------

    def _ping(self) -> Response:
        return _http.response(200, b"\n", _http.TEXT)

    def _version(self) -> Response:
        return _http.response(200, self.scorer.server_version.encode(), _http.TEXT)

    async def _invocations(self, scope: Scope, receive: Receive) -> Response:
        try:
            body = await self._read_body(scope, receive)
        except _BodyTooLarge:
            return self._too_large()
        content_type = _header(scope, b"content-type")
        try:
            payload = await self.scorer.invocations(body, content_type)
        except UnsupportedContentTypeError as exc:
            return self._error(415, exc)
        except (ProtocolError, SchemaError) as exc:
            return self._error(400, exc)
        except ModelFailure as exc:
            return self._error(400, exc.__cause__ or exc, model_failure=True)
        return _http.response(200, payload)

    # --- Open Inference Protocol v2 ------------------------------------------------------

    def _v2_live(self) -> Response:
        return _http.response(200, b'{"live":true}')

    def _v2_ready(self) -> Response:
        return _http.response(200, b'{"ready":true}')

    def _v2_server(self) -> Response:
        return _http.response(200, _http.dumps(self.scorer.v2_server_metadata()))

    def _v2_model(self) -> Response:
        return _http.response(200, _http.dumps(self.scorer.v2_model_metadata()))

    def _v2_model_ready(self) -> Response:
        return _http.response(200, _http.dumps({"name": self.scorer.name, "ready": True}))

    async def _v2_infer(self, scope: Scope, receive: Receive) -> Response:
        try:
            body = await self._read_body(scope, receive)
        except _BodyTooLarge:
            return _http.v2_error(413, self._too_large_message())
        header_length = _header(scope, b"inference-header-content-length")
        try:
            payload, json_length = await self.scorer.v2_infer(body, header_length)
        except (ProtocolError, SchemaError) as exc:
            return _http.v2_error(400, str(exc))
        except ModelFailure as exc:
            return _http.v2_error(400, _http.exception_message(exc.__cause__ or exc))
        if json_length is None:
            return _http.response(200, payload)
        # binary tensor data extension: the JSON part's length, then the outputs' bytes
        status, headers, body = _http.response(200, payload, b"application/octet-stream")
        headers.append((b"inference-header-content-length", str(json_length).encode()))
        return status, headers, body

    # --- OpenAPI ---------------------------------------------------------------------------

    def _openapi_json(self) -> Response:
        if self._openapi is None:
            self._openapi = _http.dumps(self.scorer.openapi())
        return _http.response(200, self._openapi)

    # --- plumbing --------------------------------------------------------------------------

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large_message(self) -> str:
        return (
            f"request body is larger than the limit of {self.max_body_bytes} bytes; "
            "send fewer rows per request or start the server with a larger --max-body-mb"
        )

    def _too_large(self) -> Response:
        return _http.mlflow_error(413, self._too_large_message())

    def _not_allowed(self, path: str, allowed: bytes) -> Response:
        status, headers, body = _http.mlflow_error(
            405, f"{path} answers {allowed.decode()} only", "BAD_REQUEST"
        )
        headers.append((b"allow", allowed))
        return status, headers, body

    def _error(
        self,
        status: int,
        exc: BaseException,
        error_code: str = "BAD_REQUEST",
        *,
        model_failure: bool = False,
        server_fault: bool = False,
    ) -> Response:
        if model_failure or server_fault:
            message = _http.exception_message(exc)
        else:
            message = str(exc)
        if server_fault:
            message = f"internal server error: {message}"
        error: dict[str, Any] = {"error_code": error_code, "message": _http.one_line(message)}
        if self.debug and (model_failure or server_fault):
            error["stack_trace"] = "".join(traceback.format_exception(exc))
        return _http.response(status, _http.dumps(error))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _model_name(path: str) -> str:
    return path[len("/v2/models/") :].split("/", 1)[0]


def build_app(
    model_uri: str,
    *,
    trust_code: bool | None = None,
    name: str | None = None,
    max_batch_size: int | None = None,
    max_batch_delay_ms: float = 0.0,
    max_body_mb: float = 100.0,
    debug: bool = False,
    grpc_address: str | None = None,
) -> ScoringApp:
    """Load the model at ``model_uri`` and return the ASGI app that serves it.

    ``name`` is the model name of the Open Inference v2 routes (default: the registered
    model's name, else the model directory's name). ``max_batch_size`` turns adaptive
    batching on: concurrent requests with equal params are merged into one predict call of up
    to that many rows, waiting at most ``max_batch_delay_ms``. Bodies over ``max_body_mb``
    get 413 (and gRPC messages over it are refused). ``debug`` adds stack traces to the
    answers for model and server failures. ``grpc_address`` (``host:port``) also serves the
    Open Inference v2 gRPC service there while the app runs (needs ``saveur[grpc]``).
    ``trust_code`` as in :func:`saveur.pyfunc.load_model` (``None``: ``SAVEUR_TRUST_CODE``).
    """
    from saveur.pyfunc import load_model

    model = load_model(model_uri, trust_code=trust_code)
    return app_for_model(
        model,
        name=name,
        max_batch_size=max_batch_size,
        max_batch_delay_ms=max_batch_delay_ms,
        max_body_mb=max_body_mb,
        debug=debug,
        grpc_address=grpc_address,
    )


def app_for_model(
    model: Any,
    *,
    name: str | None = None,
    max_batch_size: int | None = None,
    max_batch_delay_ms: float = 0.0,
    max_body_mb: float = 100.0,
    debug: bool = False,
    grpc_address: str | None = None,
) -> ScoringApp:
    """Return the ASGI app serving an already loaded pyfunc model (see :func:`build_app`)."""
    if max_batch_size is not None and max_batch_size < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
    if max_batch_delay_ms < 0:
        raise ValueError(f"max_batch_delay_ms must not be negative, got {max_batch_delay_ms}")
    if max_body_mb <= 0:
        raise ValueError(f"max_body_mb must be positive, got {max_body_mb}")
    scorer = Scorer(
        model,
        name=name,
        max_batch_size=max_batch_size,
        max_batch_delay_ms=max_batch_delay_ms,
    )
    return ScoringApp(scorer, max_body_bytes=int(max_body_mb * 1024 * 1024), debug=debug,
                      grpc_address=grpc_address)


__all__ = ["ScoringApp", "app_for_model", "build_app"]
