"""The model side of the scoring server: parse, predict (alone or batched), encode.

Parsing, predicting and encoding run on one dedicated worker thread, so the event loop stays
free to accept connections and answer health checks while a large request is scored.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from saveur.errors import ProtocolError, SchemaError
from saveur.serving.placement import Placement

#: Bodies up to this size, describing at most this many values, may be parsed and scored on
#: the event loop itself (see placement.py). Parsing cost follows a body's shape, not its
#: size: 16 KiB of one-letter CSV columns cost pandas a second. A value needs a separator
#: (a comma or a newline), so counting them (a memchr pass: microseconds) bounds the cells
#: a body can describe: 256 cells cost pandas under 50 ms in the worst layout measured
#: (records of 256 distinct keys and no signature). Anything else goes to the worker thread,
#: so /ping and /health never wait behind a parser.
_SMALL_BODY_BYTES = 16384
_SMALL_BODY_SEPARATORS = 256
#: a v2 body with binary tensor data: at most 1,024 BYTES elements, as many as 256 cells cost
_SMALL_BINARY_BYTES = 4096


#: Bodies over this size are parsed in a helper process. Decoding a large JSON body (orjson,
#: about 50 ms per MB on a loaded 2-core machine) and converting it (numpy, pandas' CSV
#: reader) are single C calls that hold the interpreter lock: on the worker thread they kept
#: /ping waiting for seconds. The parsed table comes back pickled (numeric columns: a copy).
_HELPER_BODY_BYTES = 2 * 1024 * 1024


def small_body(body: bytes, content_type: str | None = None) -> bool:
    """Whether parsing ``body`` has a small, bounded cost (it may then run on the loop)."""
    if len(body) > _SMALL_BODY_BYTES:
        return False
    if content_type is not None and "parquet" in content_type.lower():
        return False  # a compressed format: its size says nothing about its table
    return body.count(b",") + body.count(b"\n") <= _SMALL_BODY_SEPARATORS


class ModelFailure(Exception):
    """The model's own ``predict`` raised; ``__cause__`` is the model's exception."""


class Scorer:
    """Wraps a loaded pyfunc model with what the server needs to answer requests."""

    def __init__(
        self,
        model: Any,
        *,
        name: str | None = None,
        max_batch_size: int | None = None,
        max_batch_delay_ms: float = 0.0,
    ) -> None:
        self.model = model
        self.metadata = model.metadata
        self.signature = getattr(self.metadata, "signature", None)
        self.name = name or _default_name(model)
        version = getattr(getattr(model, "resolved", None), "registered_version", None)
        #: the registry version of a ``models:/`` URI, reported by the v2 metadata
        self.model_version = None if version is None else str(version)
        self.server_version = saveur_version()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="saveur-score")
        self._placement = Placement(self._executor)
        # A PyFuncModel's predict is check_input + predict_checked. With batching, each
        # request is checked alone (so a bad one fails alone), and the merged batch goes
        # straight to predict_checked. Other model objects are predicted whole.
        self._check_input = getattr(model, "check_input", None)
        self._predict_unchecked = getattr(model, "predict_checked", None)
        self._batcher = None
        if max_batch_size is not None:
            from saveur.serving.batching import Batcher

            self._batcher = Batcher(
                self._predict_checked,
                Placement(self._executor),
                max_rows=max_batch_size,
                max_delay_s=max_batch_delay_ms / 1000.0,
            )
        # Unbatched, a table of exactly the model's array columns is parsed into its values
        # alone and predicted without a DataFrame (PyFuncModel.predict_array): the same
        # answer, without building a frame the flavor would turn back into this array.
        self._array_columns = (
            getattr(model, "array_columns", None) if self._batcher is None else None
        )
        # Bound once: these run on every request.
        from saveur import protocol

        self._column_block = protocol.ColumnBlock
        self._parse_request = protocol.parse_request
        self._predictions_to_json = protocol.predictions_to_json
        self._helper = ParseHelper()

    # --- MLflow's /invocations ----------------------------------------------------------

    async def invocations(self, body: bytes, content_type: str | None) -> bytes:
        """Answer one ``/invocations`` body with the ``{"predictions": ...}`` JSON bytes."""
        small = small_body(body, content_type)
        if self._batcher is None:
            return await self._placement.run(small, self._invocations_alone, body, content_type)
        data, params = await self._placement.run(small, self._parse_and_check, body, content_type)
        predictions = await self._batcher.submit(data, params)
        # a large request's own answer is encoded off the loop too
        answer: bytes = await self._placement.run(small, self._predictions_to_json, predictions)
        return answer

    def _parse(self, body: bytes, content_type: str | None, array_columns: Any = None) -> Any:
        if len(body) > _HELPER_BODY_BYTES:
            return self._helper.run(
                self._parse_request, body, content_type, self.signature, array_columns
            )
        return self._parse_request(body, content_type, self.signature, array_columns)

    def _invocations_alone(self, body: bytes, content_type: str | None) -> bytes:
        parsed = self._parse(body, content_type, self._array_columns)
        answer: bytes = self._predictions_to_json(self._predict(parsed.data, parsed.params))
        return answer

    def _parse_and_check(self, body: bytes, content_type: str | None) -> tuple[Any, Any]:
        parsed = self._parse(body, content_type)
        return self._check(parsed.data, parsed.params)

    # --- Open Inference Protocol v2 -------------------------------------------------------

    async def v2_infer(
        self, body: bytes, header_length: str | None = None
    ) -> tuple[bytes, int | None]:
        """Answer one v2 ``infer`` body: the response body, and the length of its JSON part
        when binary outputs follow it (``header_length``: the request's
        ``Inference-Header-Content-Length``)."""
        # Binary data has no separators to count: a body of BYTES elements is decoded one
        # element per 4 bytes, so only short ones stay on the loop.
        small = small_body(body) and (header_length is None or len(body) <= _SMALL_BINARY_BYTES)
        answer: tuple[bytes, int | None]
        if self._batcher is None:
            answer = await self._placement.run(small, self._v2_alone, body, header_length)
            return answer
        request = await self._placement.run(small, self._v2_decode, body, header_length)
        data, params = await self._placement.run(small, self._check, request.data, request.params)
        predictions = await self._batcher.submit(data, params)
        # encoding a large answer is work too: off the loop like the rest
        answer = await self._placement.run(small, self._v2_encode, predictions, request)
        return answer

    def _v2_alone(self, body: bytes, header_length: str | None) -> tuple[bytes, int | None]:
        request = self._v2_decode(body, header_length, self._array_columns)
        return self._v2_encode(self._predict(request.data, request.params), request)

    def _v2_encode(self, predictions: Any, request: Any) -> tuple[bytes, int | None]:
        from saveur.serving import v2

        return v2.encode_response_body(predictions, request, self)

    def _v2_decode(
        self, body: bytes, header_length: str | None, array_columns: Any = None
    ) -> Any:
        if len(body) > _HELPER_BODY_BYTES:
            return self._helper.run(_decode_v2, body, self.signature, header_length,
                                    array_columns)
        return _decode_v2(body, self.signature, header_length, array_columns)

    async def v2_infer_payload(
        self, payload: Any, binary: memoryview, size: int
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Answer a v2 request given as its JSON form and binary data (gRPC): the response
        with every output as raw bytes. ``size`` is the request's size in bytes."""
        small = size <= _SMALL_BINARY_BYTES
        answer: tuple[dict[str, Any], list[bytes]]
        if self._batcher is None:
            answer = await self._placement.run(small, self._payload_alone, payload, binary)
            return answer
        request = await self._placement.run(small, self._payload_decode, payload, binary)
        data, params = await self._placement.run(small, self._check, request.data, request.params)
        predictions = await self._batcher.submit(data, params)
        answer = await self._placement.run(small, self._raw_encode, predictions, request)
        return answer

    def _payload_decode(self, payload: Any, binary: memoryview, array_columns: Any = None) -> Any:
        from saveur.serving import v2

        return v2.decode_payload(payload, binary, True, self.signature, array_columns)

    def _payload_alone(
        self, payload: Any, binary: memoryview
    ) -> tuple[dict[str, Any], list[bytes]]:
        request = self._payload_decode(payload, binary, self._array_columns)
        return self._raw_encode(self._predict(request.data, request.params), request)

    def _raw_encode(self, predictions: Any, request: Any) -> tuple[dict[str, Any], list[bytes]]:
        from saveur.serving import v2

        return v2.encode_raw_response(predictions, request, self)

    def v2_server_metadata(self) -> dict[str, Any]:
        """``GET /v2``: the server's name, version and extensions."""
        from saveur.serving import v2

        return {"name": "saveur", "version": self.server_version, "extensions": v2.EXTENSIONS}

    def v2_model_metadata(self) -> dict[str, Any]:
        """``GET /v2/models/{name}``: the model's inputs and outputs as typed tensors."""
        from saveur.serving import v2

        return v2.model_metadata(self)

    # --- OpenAPI ----------------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this server, generated from the model's signature."""
        from saveur.serving.openapi import build_openapi

        return build_openapi(
            self.signature,
            model_name=self.name,
            serving_example=serving_example(getattr(self.model, "model_dir", None)),
            version=self.server_version,
        )

    # --- predicting -----------------------------------------------------------------------

    def _check(self, data: Any, params: Any) -> tuple[Any, Any]:
        """Enforce the signature on one request before it joins a batch, so it fails alone."""
        if self._check_input is None or self._predict_unchecked is None:
            return data, params
        return self._check_input(data, params)  # type: ignore[no-any-return]

    def _predict_checked(self, data: Any, params: Any) -> Any:
        """Predict input that :meth:`_check` already enforced."""
        if self._check_input is None or self._predict_unchecked is None:
            return self._predict(data, params)
        try:
            return self._predict_unchecked(data, params)
        except Exception as exc:
            raise ModelFailure(str(exc)) from exc

    def _predict(self, data: Any, params: Any) -> Any:
        """Predict one request alone; a table parsed as its values (a ColumnBlock, see
        ``_array_columns``) goes to ``predict_array``."""
        try:
            if type(data) is self._column_block:
                return self.model.predict_array(data.values)
            return self.model.predict(data, params=params)
        except (ProtocolError, SchemaError):
            raise
        except Exception as exc:
            raise ModelFailure(str(exc)) from exc

    async def close(self) -> None:
        """Stop the batcher and the worker thread (in-flight work finishes first)."""
        if self._batcher is not None:
            await self._batcher.close()
        self._executor.shutdown(wait=True)
        self._helper.close()


class ParseHelper:
    """One helper process that parses large bodies, started on first use.

    If it cannot start (a daemonic worker process may not have children), parsing stays on
    the calling thread from then on. If it dies while parsing, that request is a server
    fault (500), never retried in the server, and the next one starts a new helper.
    """

    def __init__(self) -> None:
        import threading

        self._pool: Any = None
        self._unavailable = False
        self._lock = threading.Lock()

    def run(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in the helper process (``fn`` and the arguments must pickle)."""
        from concurrent.futures.process import BrokenProcessPool

        pool = self._get()
        if pool is None:
            return fn(*args)
        try:
            future = pool.submit(fn, *args)
        except (AssertionError, OSError, RuntimeError):
            # a daemonic process may not have children: parse here from now on
            with self._lock:
                self._unavailable = True
                self._pool = None
            return fn(*args)
        try:
            return future.result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            # Not retried here: what killed the helper (memory, most likely) would kill the
            # server. A fault of the server, not of the request: 500, and a fresh helper next.
            raise RuntimeError("the request parser process died; try again") from None

    def _get(self) -> Any:
        with self._lock:
            if self._pool is None and not self._unavailable:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn: a fork of a process running uvloop and threads is not safe
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            return self._pool

    def close(self) -> None:
        """Stop the helper process, if it was started."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _decode_v2(
    body: bytes, signature: Any, header_length: str | None = None, array_columns: Any = None
) -> Any:
    """A v2 request decoded for a signature (module level: it runs in the parse helper too)."""
    from types import SimpleNamespace

    from saveur.serving import v2

    return v2.decode_request(body, SimpleNamespace(signature=signature), header_length,
                             array_columns)


def _default_name(model: Any) -> str:
    return default_name(getattr(model, "resolved", None), getattr(model, "model_dir", None))


def default_name(resolved: Any, model_dir: Any) -> str:
    """The registered model's name, else the model directory's name, else ``model``."""
    registered = getattr(resolved, "registered_name", None)
    if registered:
        return str(registered)
    if model_dir is not None and str(model_dir.name):
        return str(model_dir.name)
    return "model"


def serving_example(model_dir: Any) -> Any:
    """The model's ``serving_input_example.json`` parsed, or ``None``."""
    if model_dir is None:
        return None
    try:
        from saveur.examples import read_serving_input_example
    except ImportError:
        return None
    text = read_serving_input_example(model_dir)
    if text is None:
        return None
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def saveur_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("saveur")
    except PackageNotFoundError:
        return "0+unknown"
