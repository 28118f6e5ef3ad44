"""``saveur serve`` and ``saveur openapi``: the scoring server and its OpenAPI document."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn


def register(subparsers: Any) -> None:
    """Add the ``serve`` and ``openapi`` commands to the ``saveur`` command's subparsers."""
    serve = subparsers.add_parser(
        "serve",
        help="serve a model over HTTP (MLflow scoring protocol, Open Inference v2, Swagger UI)",
        description=(
            "Serve a model with MLflow's REST scoring protocol (/invocations), the Open "
            "Inference Protocol v2 and an OpenAPI document with a Swagger page at /docs."
        ),
    )
    serve.add_argument("-m", "--model-uri", required=True, help="model path or URI")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("-p", "--port", type=int, default=5000, help="port (default 5000; 0: any)")
    serve.add_argument("-w", "--workers", type=_positive_int, default=1,
                       help="worker processes (default 1)")
    serve.add_argument("--env-manager", choices=("local", "uv"), default="local",
                       help="local: this environment (default); uv: a cached virtualenv built "
                            "from the model's requirements")
    serve.add_argument("--allow-build", action="store_true",
                       help="with --env-manager uv: allow building requirements that have no "
                            "wheel (runs their build backend); default: wheels only")
    serve.add_argument("--trust-code", action="store_true", default=None,
                       help="allow loading code the model carries (pickles, code files)")
    serve.add_argument("--name", default=None,
                       help="model name of the Open Inference v2 routes")
    serve.add_argument("--max-batch-size", type=_positive_int, default=None,
                       help="merge concurrent requests into predict calls of up to N rows")
    serve.add_argument("--max-batch-delay-ms", type=_non_negative_float, default=0.0,
                       help="longest wait for more requests to fill a batch, in milliseconds "
                            "(default 0: merge what queued while the previous batch ran)")
    serve.add_argument("--max-body-mb", type=_positive_float, default=100.0,
                       help="largest request body, in MiB (default 100)")
    serve.add_argument("--max-header-kb", type=_positive_int, default=64,
                       help="largest request line plus headers, in KiB (default 64); "
                            "larger ones get 431")
    serve.add_argument("--grpc-port", type=_port, default=None,
                       help="also serve the Open Inference v2 gRPC service on this port "
                            "(0: any; default: off; needs saveur[grpc])")
    serve.add_argument("--debug", action="store_true",
                       help="add stack traces to answers for model and server failures")
    serve.add_argument("--log-level", default="info",
                       choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(handler=_serve)

    openapi = subparsers.add_parser(
        "openapi",
        help="write the OpenAPI document of a model's scoring server",
        description="Write the OpenAPI 3.1 document `saveur serve` would serve, without "
                    "starting a server or running model code.",
    )
    openapi.add_argument("-m", "--model-uri", required=True, help="model path or URI")
    openapi.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    openapi.add_argument("--name", default=None, help="model name of the v2 routes")
    openapi.set_defaults(handler=_openapi)


def _serve(args: argparse.Namespace) -> int:
    from saveur.security import trust_from_env

    trust = trust_from_env(args.trust_code)
    if args.allow_build and args.env_manager != "uv":
        from saveur.errors import EnvironmentBuildError

        raise EnvironmentBuildError(
            "--allow-build only applies to --env-manager uv (it lets uv build requirements "
            "that have no wheel); drop it, or add --env-manager uv"
        )
    if args.env_manager == "uv":
        return _serve_in_uv_env(args, trust)
    from saveur.environment.envmanager import warn_on_local_mismatch
    from saveur.loading import open_model
    from saveur.serving.server import ServeOptions, serve

    warn_on_local_mismatch(open_model(args.model_uri, verify=False).path)
    serve(
        ServeOptions(
            model_uri=args.model_uri,
            host=args.host,
            port=args.port,
            workers=args.workers,
            trust_code=trust,
            name=args.name,
            max_batch_size=args.max_batch_size,
            max_batch_delay_ms=args.max_batch_delay_ms,
            max_body_mb=args.max_body_mb,
            max_header_kb=args.max_header_kb,
            debug=args.debug,
            log_level=args.log_level,
            grpc_port=args.grpc_port,
        )
    )
    return 0


def _serve_in_uv_env(args: argparse.Namespace, trust: bool) -> NoReturn:
    import os

    from saveur.environment.envmanager import build_env
    from saveur.loading import open_model

    model_dir = open_model(args.model_uri).path
    python = build_env(model_dir, allow_build=args.allow_build)
    command = [
        str(python), "-m", "saveur",
        "serve", "-m", str(model_dir), "--env-manager", "local",
        "--host", args.host, "--port", str(args.port), "--workers", str(args.workers),
        "--max-batch-delay-ms", str(args.max_batch_delay_ms),
        "--max-body-mb", str(args.max_body_mb), "--max-header-kb", str(args.max_header_kb),
        "--log-level", args.log_level,
        "--name", args.name or _default_name(args.model_uri, model_dir),
    ]
    if trust:
        command.append("--trust-code")
    if args.max_batch_size is not None:
        command += ["--max-batch-size", str(args.max_batch_size)]
    if args.debug:
        command.append("--debug")
    if args.grpc_port is not None:
        command += ["--grpc-port", str(args.grpc_port)]
    sys.stdout.flush()
    # exec: signals go straight to the server, and no second Python stays around.
    os.execv(command[0], command)


def _default_name(model_uri: str, model_dir: Any) -> str:
    from saveur.serving.scorer import default_name
    from saveur.uris import resolve_model_uri

    return default_name(resolve_model_uri(model_uri), model_dir)


def _openapi(args: argparse.Namespace) -> int:
    import orjson

    from saveur.serving import openapi_document

    document = orjson.dumps(openapi_document(args.model_uri, name=args.name),
                            option=orjson.OPT_INDENT_2) + b"\n"
    if args.output is None:
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(document)
        print(f"wrote the OpenAPI document to {args.output}", file=sys.stderr)
    return 0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a port is a number from 0 to 65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value
