"""Small helpers shared by the scoring server's routes: response bodies and error mapping."""

from __future__ import annotations

from typing import Any

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"

#: ``(status, headers, body)`` as the ASGI app sends it.
Response = tuple[int, list[tuple[bytes, bytes]], bytes]


def dumps(obj: Any) -> bytes:
    """Encode ``obj`` as JSON with orjson (numpy arrays and scalars included)."""
    import orjson

    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def response(status: int, body: bytes, content_type: bytes = JSON) -> Response:
    """A response triple with its content type."""
    return status, [(b"content-type", content_type)], body


def one_line(text: str, limit: int = 1000) -> str:
    """Fold ``text`` into one line of at most ``limit`` characters (no dumps, no tracebacks)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def mlflow_error(status: int, message: str, error_code: str = "BAD_REQUEST") -> Response:
    """MLflow's scoring-server error shape: ``{"error_code": ..., "message": ...}``."""
    return response(status, dumps({"error_code": error_code, "message": one_line(message)}))


def v2_error(status: int, message: str) -> Response:
    """The Open Inference Protocol's error shape: ``{"error": ...}``."""
    return response(status, dumps({"error": one_line(message)}))


def exception_message(exc: BaseException) -> str:
    """``TypeName: message`` in one line, as the answer to an exception raised by a model."""
    text = str(exc)
    name = type(exc).__name__
    return one_line(f"{name}: {text}" if text else name)
