"""`saveur serve --grpc-port`: the Open Inference v2 gRPC service, with tritonclient.grpc.

Same scorer as HTTP: the answers equal the model's own, and a refused request is
INVALID_ARGUMENT with the very message the HTTP route's 400 carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serving_helpers import COLUMNS, Server, run_server

grpcclient = pytest.importorskip("tritonclient.grpc")
httpclient = pytest.importorskip("tritonclient.http")
import grpc  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

ROWS = np.random.RandomState(11).rand(4, len(COLUMNS))
_GRPC = re.compile(r"gRPC on (\S+)")


def _grpc_address(server: Server) -> str:
    match = _GRPC.search(server.log)
    assert match, server.log
    return match.group(1)


@pytest.fixture(scope="module")
def grpc_column_server(column_model) -> Iterator[Server]:
    with run_server(column_model, "--name", "lr", "--grpc-port", "0") as server:
        yield server


@pytest.fixture(scope="module")
def grpc_tensor_server(tensor_model) -> Iterator[Server]:
    with run_server(tensor_model, "--grpc-port", "0", "--max-batch-size", "8") as server:
        yield server


def _client(server: Server):
    return grpcclient.InferenceServerClient(_grpc_address(server))


def _expected(model_dir: Path, data):
    import saveur

    return np.asarray(saveur.pyfunc.load_model(model_dir).predict(data))


def _column_inputs(module, rows=ROWS):
    inputs = []
    for i, name in enumerate(COLUMNS):
        tensor = module.InferInput(name, [len(rows)], "FP64")
        tensor.set_data_from_numpy(rows[:, i].copy())
        inputs.append(tensor)
    return inputs


def test_health_and_metadata(grpc_column_server):
    client = _client(grpc_column_server)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("lr")
    assert "binary_tensor_data" in client.get_server_metadata(as_json=True)["extensions"]
    metadata = client.get_model_metadata("lr", as_json=True)
    assert [t["name"] for t in metadata["inputs"]] == COLUMNS
    assert metadata["inputs"][0] == {"name": "f0", "datatype": "FP64", "shape": ["-1"]}


def test_column_model_answers_raw_outputs(grpc_column_server, column_model):
    result = _client(grpc_column_server).infer("lr", _column_inputs(grpcclient))
    name = result.get_response(as_json=True)["outputs"][0]["name"]
    expected = _expected(column_model, pd.DataFrame(ROWS, columns=COLUMNS))
    np.testing.assert_array_equal(result.as_numpy(name), expected)


def test_batched_tensor_model_answers_the_same(grpc_tensor_server, tensor_model):
    client = _client(grpc_tensor_server)
    name = client.get_model_metadata("tensor_model", as_json=True)["inputs"][0]["name"]
    tensor = grpcclient.InferInput(name, list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS)
    result = client.infer("tensor_model", [tensor])
    np.testing.assert_array_equal(result.as_numpy("predictions"),
                                  _expected(tensor_model, ROWS))


@pytest.fixture(scope="module")
def text_model(tmp_path_factory) -> Path:
    """A pipeline on a string and a double column, answering string labels."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import saveur_sklearn
    from saveur.signature import infer_signature

    rng = np.random.RandomState(0)
    x = pd.DataFrame({"city": rng.choice(["paris", "lyon", "s\u00e8te"], 60),
                      "size": rng.rand(60)})
    y = np.where(x["city"] == "paris", "yes", "no")
    model = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                          remainder="passthrough"),
        LogisticRegression(),
    ).fit(x, y)
    path = tmp_path_factory.mktemp("models") / "text"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)))
    return path


def test_bytes_input_and_output(text_model):
    cities = np.array(["s\u00e8te".encode(), b"paris"], dtype=object)
    with run_server(text_model, "--grpc-port", "0") as server:
        city = grpcclient.InferInput("city", [2], "BYTES")
        city.set_data_from_numpy(cities)
        size = grpcclient.InferInput("size", [2], "FP64")
        size.set_data_from_numpy(np.array([0.3, 0.6]))
        result = _client(server).infer("text", [city, size])
    got = [v.decode() for v in result.as_numpy("predictions")]
    expected = _expected(text_model, pd.DataFrame({"city": ["s\u00e8te", "paris"],
                                                   "size": [0.3, 0.6]}))
    assert got == expected.tolist()


def test_refusal_is_invalid_argument_with_the_http_400_message(grpc_column_server):
    def bad(module):
        inputs = _column_inputs(module)
        inputs[2] = module.InferInput(COLUMNS[2], [2], "FP64")
        inputs[2].set_data_from_numpy(np.array([1.0, 2.0]))
        return inputs

    with pytest.raises(InferenceServerException) as over_grpc:
        _client(grpc_column_server).infer("lr", bad(grpcclient))
    http = httpclient.InferenceServerClient(grpc_column_server.url.removeprefix("http://"))
    with pytest.raises(InferenceServerException) as over_http:
        http.infer("lr", bad(httpclient))
    assert over_grpc.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "'f2'" in over_grpc.value.message()
    assert over_grpc.value.message() == over_http.value.message()


def test_another_model_name_is_not_found(grpc_column_server):
    with pytest.raises(InferenceServerException) as info:
        _client(grpc_column_server).infer("other", _column_inputs(grpcclient))
    assert info.value.status() == "StatusCode.NOT_FOUND"
    assert "'lr'" in info.value.message()


def _raw_infer(server: Server, request):
    from saveur.serving._grpc import grpc_predict_v2_pb2 as pb2
    from saveur.serving._grpc import grpc_predict_v2_pb2_grpc as pb2_grpc

    with grpc.insecure_channel(_grpc_address(server)) as channel:
        stub = pb2_grpc.GRPCInferenceServiceStub(channel)
        return stub.ModelInfer(pb2.ModelInferRequest(**request), timeout=30)


def _raw_inputs(shape=(1,)):
    return [{"name": c, "datatype": "FP64", "shape": list(shape)} for c in COLUMNS]


@pytest.mark.parametrize(
    ("request_fields", "named"),
    [
        ({"inputs": _raw_inputs(), "raw_input_contents": [b"\0" * 8] * 9}, "raw_input_contents"),
        ({"inputs": _raw_inputs(), "raw_input_contents": [b"\0" * 8] * 9 + [b"\0" * 7]}, "'f9'"),
        ({"inputs": _raw_inputs((2**31 - 1, 2**31 - 1)),
          "raw_input_contents": [b"\0" * 8] * 10}, "'f0'"),
        ({"inputs": [{"name": "f0", "datatype": "FP16", "shape": [1],
                      "contents": {"fp32_contents": [1.0]}}]}, "'f0'"),
        ({"inputs": [{"name": "f0", "datatype": "BYTES", "shape": [3],
                      "contents": {"bytes_contents": [b"a"]}}]}, "'f0'"),
    ],
    ids=["fewer-raw-than-inputs", "raw-size-not-the-shape", "huge-shape", "fp16-typed",
         "bytes-count"],
)
def test_hostile_messages_are_invalid_argument_naming_the_field(grpc_column_server,
                                                                  request_fields, named):
    with pytest.raises(grpc.RpcError) as info:
        _raw_infer(grpc_column_server, {"model_name": "lr", **request_fields})
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in info.value.details()


def test_typed_contents_are_accepted(grpc_column_server, column_model):
    inputs = [{"name": c, "datatype": "FP64", "shape": [1],
               "contents": {"fp64_contents": [float(ROWS[0, i])]}}
              for i, c in enumerate(COLUMNS)]
    response = _raw_infer(grpc_column_server, {"model_name": "lr", "inputs": inputs})
    expected = _expected(column_model, pd.DataFrame(ROWS[:1], columns=COLUMNS))
    assert response.outputs[0].datatype == "INT64"
    np.testing.assert_array_equal(np.frombuffer(response.raw_output_contents[0], "<i8"),
                                  expected)


def test_messages_over_the_body_limit_are_refused(tensor_model):
    rows = np.zeros((2000, len(COLUMNS)))  # 160 KB of raw data against a 0.05 MiB limit
    with run_server(tensor_model, "--grpc-port", "0", "--max-body-mb", "0.05") as server:
        tensor = grpcclient.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows)
        with pytest.raises(InferenceServerException) as info:
            _client(server).infer("tensor_model", [tensor])
    assert info.value.status() == "StatusCode.RESOURCE_EXHAUSTED"


def test_a_taken_grpc_port_stops_the_server_with_a_message(tensor_model):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError) as info:
            with run_server(tensor_model, "--grpc-port", str(port), timeout=60):
                pass
    assert f"127.0.0.1:{port}" in str(info.value)
