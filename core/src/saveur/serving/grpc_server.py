"""The Open Inference Protocol v2 over gRPC (KServe's ``GRPCInferenceService``), on grpcio.

It runs on the HTTP server's event loop (started and stopped by the ASGI app's lifespan) and
answers through the same :class:`~saveur.serving.scorer.Scorer`, so enforcement, batching,
placement off the loop and error messages are the HTTP server's: a request the HTTP routes
answer 400 is ``INVALID_ARGUMENT`` here with the same one-line message.

A ``ModelInferRequest`` is turned into the JSON form of a v2 request plus its binary data
(``raw_input_contents``, and BYTES ``contents``, as the binary extension lays them out), so
one decoder checks every size. Outputs are always ``raw_output_contents``.

Needs ``saveur[grpc]`` (grpcio, protobuf); imported only when ``--grpc-port`` is given.
"""

from __future__ import annotations

from typing import Any

from saveur.errors import ProtocolError, SchemaError, UnsupportedContentTypeError
from saveur.serving import _http

#: InferTensorContents field of each v2 datatype (BYTES go through the binary decoder)
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
}


def _modules() -> tuple[Any, Any, Any]:
    try:
        import grpc
        from grpc import aio

        from saveur.serving._grpc import grpc_predict_v2_pb2 as pb2
        from saveur.serving._grpc import grpc_predict_v2_pb2_grpc as pb2_grpc
    except ImportError as exc:  # grpcio or a protobuf runtime too old for the generated code
        from saveur.errors import MissingDependencyError

        raise MissingDependencyError(
            f"the gRPC endpoint needs grpcio and protobuf ({exc}): pip install 'saveur[grpc]'"
        ) from None
    return grpc, aio, (pb2, pb2_grpc)


async def start_grpc_server(scorer: Any, address: str, max_message_bytes: int) -> Any:
    """Start the v2 gRPC service for ``scorer`` on ``address`` (``host:port``); return the
    grpc.aio server and the port it listens on."""
    grpc, aio, (pb2, pb2_grpc) = _modules()
    servicer = _servicer_class(grpc, pb2, pb2_grpc)(scorer)
    server = aio.server(options=[
        # the HTTP body limit (--max-body-mb) holds for gRPC messages too
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", -1),
    ])
    pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    await server.start()
    return server, port


def _servicer_class(grpc: Any, pb2: Any, pb2_grpc: Any) -> type:
    from saveur.serving.scorer import ModelFailure

    invalid = grpc.StatusCode.INVALID_ARGUMENT

    class Servicer(pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc, name-defined]
        def __init__(self, scorer: Any) -> None:
            self.scorer = scorer

        async def ServerLive(self, request: Any, context: Any) -> Any:
            return pb2.ServerLiveResponse(live=True)

        async def ServerReady(self, request: Any, context: Any) -> Any:
            return pb2.ServerReadyResponse(ready=True)

        async def ModelReady(self, request: Any, context: Any) -> Any:
            await self._check_model(request.name, context)
            return pb2.ModelReadyResponse(ready=True)

        async def ServerMetadata(self, request: Any, context: Any) -> Any:
            meta = self.scorer.v2_server_metadata()
            return pb2.ServerMetadataResponse(name=meta["name"], version=meta["version"],
                                              extensions=meta["extensions"])

        async def ModelMetadata(self, request: Any, context: Any) -> Any:
            await self._check_model(request.name, context)
            meta = self.scorer.v2_model_metadata()
            tensor = pb2.ModelMetadataResponse.TensorMetadata
            return pb2.ModelMetadataResponse(
                name=meta["name"], versions=meta["versions"], platform=meta["platform"],
                inputs=[tensor(**t) for t in meta["inputs"]],
                outputs=[tensor(**t) for t in meta["outputs"]],
            )

        async def ModelInfer(self, request: Any, context: Any) -> Any:
            await self._check_model(request.model_name, context)
            try:
                payload, binary = request_payload(request)
                response, chunks = await self.scorer.v2_infer_payload(
                    payload, binary, request.ByteSize())
            except (ProtocolError, SchemaError, UnsupportedContentTypeError) as exc:
                await context.abort(invalid, _http.one_line(str(exc)))
            except ModelFailure as exc:
                await context.abort(invalid, _http.exception_message(exc.__cause__ or exc))
            out = pb2.ModelInferResponse(
                model_name=response["model_name"],
                model_version=response.get("model_version", ""),
                id=response.get("id") or "",
                raw_output_contents=chunks,
            )
            for tensor in response["outputs"]:
                out.outputs.add(name=tensor["name"], datatype=tensor["datatype"],
                                shape=tensor["shape"])
            return out

        async def _check_model(self, name: str, context: Any) -> None:
            if name != self.scorer.name:
                await context.abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"model '{_http.one_line(name, 200)}' is not served here; this server "
                    f"serves '{self.scorer.name}'",
                )

    return Servicer


def request_payload(request: Any) -> tuple[dict[str, Any], memoryview]:
    """A ``ModelInferRequest`` as the JSON form of a v2 request and its binary data."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise ProtocolError(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; "
            "send one per input, in the order of inputs",
            field="raw_input_contents",
        )
    chunks: list[bytes] = []
    inputs = []
    for i, tensor in enumerate(request.inputs):
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype,
                                 "shape": list(tensor.shape)}
        given = tensor.HasField("contents")
        if raw:
            if given:
                raise ProtocolError(
                    f"input '{_http.one_line(tensor.name, 200)}' has contents, and the request "
                    "has raw_input_contents; send one of them",
                    field=f"inputs[{i}].contents",
                )
            chunk = raw[i]
        elif tensor.datatype == "BYTES":
            # laid out as the binary extension does, so one decoder checks them
            chunk = b"".join(len(v).to_bytes(4, "little") + v
                             for v in tensor.contents.bytes_contents)
        else:
            field = _CONTENTS.get(tensor.datatype)
            if field is None and tensor.datatype == "FP16":
                raise ProtocolError(
                    f"input '{_http.one_line(tensor.name, 200)}': FP16 has no typed contents "
                    "field; send it in raw_input_contents",
                    field=f"inputs[{i}].contents",
                )
            # an unknown datatype is named by the decoder, as over HTTP
            entry["data"] = list(getattr(tensor.contents, field)) if field else []
            inputs.append(entry)
            continue
        entry["parameters"] = {"binary_data_size": len(chunk)}
        chunks.append(chunk)
        inputs.append(entry)
    payload: dict[str, Any] = {"inputs": inputs}
    if request.id:
        payload["id"] = request.id
    if request.outputs:
        payload["outputs"] = [{"name": o.name} for o in request.outputs]
    if request.parameters:
        payload["parameters"] = {k: _parameter(v) for k, v in request.parameters.items()}
    return payload, memoryview(b"".join(chunks))


def _parameter(value: Any) -> Any:
    kind = value.WhichOneof("parameter_choice")
    return None if kind is None else getattr(value, kind)
