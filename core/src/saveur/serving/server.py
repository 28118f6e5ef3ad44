"""Run the scoring app under uvicorn (uvloop + httptools), with per-request logging.

uvicorn handles SIGTERM and SIGINT: it stops accepting connections, lets in-flight requests
finish, then runs the app's lifespan shutdown (which drains the batcher and worker thread).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

_log = logging.getLogger("saveur.serving")

#: environment variable carrying the options to worker processes (``--workers`` > 1)
_CONFIG_ENV = "SAVEUR_SERVE_CONFIG"
_HTTP_PROTOCOL = "saveur.serving._limited_http:HeaderLimitedProtocol"


@dataclass(frozen=True)
class ServeOptions:
    """What ``saveur serve`` was asked for."""

    model_uri: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    trust_code: bool = False
    name: str | None = None
    max_batch_size: int | None = None
    max_batch_delay_ms: float = 0.0
    max_body_mb: float = 100.0
    max_header_kb: int = 64
    debug: bool = False
    log_level: str = "info"
    #: port of the Open Inference v2 gRPC endpoint (None: off)
    grpc_port: int | None = None

    def app_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`saveur.serving.build_app`."""
        return {
            "trust_code": self.trust_code,
            "name": self.name,
            "max_batch_size": self.max_batch_size,
            "max_batch_delay_ms": self.max_batch_delay_ms,
            "max_body_mb": self.max_body_mb,
            "debug": self.debug,
            "grpc_address": None if self.grpc_port is None
            else f"{_grpc_host(self.host)}:{self.grpc_port}",
        }


def configure_logging(level: str = "info") -> None:
    """Send saveur's request log (one line per request) to stderr at ``level``."""
    logger = logging.getLogger("saveur")
    if not any(getattr(h, "_saveur_serve", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._saveur_serve = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def serve(options: ServeOptions) -> None:
    """Serve ``options.model_uri`` until SIGTERM/SIGINT; print the Swagger URL when ready."""
    import uvicorn

    configure_logging(options.log_level)
    _limit_headers(options)
    common: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "loop": "uvloop",
        # httptools, with a limit on request heads (431); see _limited_http.py
        "http": _HTTP_PROTOCOL,
        "log_level": options.log_level,
        "access_log": False,  # saveur logs one line per request itself, with latency
        "lifespan": "on",
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }
    if options.workers > 1:
        os.environ[_CONFIG_ENV] = _encode(options)
        print(
            f"saveur: starting {options.workers} workers; Swagger UI will be at "
            f"{_base_url(options.host, options.port)}/docs",
            flush=True,
        )
        uvicorn.run(
            "saveur.serving.server:app_from_env", factory=True, workers=options.workers, **common
        )
        return
    from saveur.serving.app import build_app

    app = build_app(options.model_uri, **options.app_kwargs())
    server = _AnnouncingServer(uvicorn.Config(app, **common))
    server.run()


def app_from_env() -> Any:
    """uvicorn factory of worker processes: build the app from the options in the env."""
    import orjson

    from saveur.serving.app import build_app

    options = ServeOptions(**orjson.loads(os.environ[_CONFIG_ENV]))
    configure_logging(options.log_level)
    _limit_headers(options)
    return build_app(options.model_uri, **options.app_kwargs())


def _limit_headers(options: ServeOptions) -> None:
    from saveur.serving._limited_http import set_max_header_kb

    set_max_header_kb(options.max_header_kb)


def _encode(options: ServeOptions) -> str:
    import orjson

    return orjson.dumps(asdict(options)).decode()


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _server_class() -> type:
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        """A uvicorn server that prints its Swagger URL once it listens."""

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.started:
                return
            host, port = self.config.host, self.config.port
            for server in getattr(self, "servers", []):
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    break
            print(f"saveur: serving on {_base_url(host, port)}; Swagger UI at "
                  f"{_base_url(host, port)}/docs", flush=True)

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            # A graceful stop on SIGTERM/SIGINT is the expected end: exit 0 rather than
            # re-raising the signal after shutdown as uvicorn does.
            self._captured_signals.clear()

    return AnnouncingServer


def _AnnouncingServer(config: Any) -> Any:
    return _server_class()(config)
