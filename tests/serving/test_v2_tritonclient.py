"""Open Inference v2 as the standard client speaks it: tritonclient.http against `saveur serve`.

tritonclient sends binary tensor data by default (``set_data_from_numpy``) and asks for binary
outputs when it names none; every mix of binary and JSON, inputs and outputs, is checked
against the model's own answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serving_helpers import COLUMNS, Server, run_server

httpclient = pytest.importorskip("tritonclient.http")
from tritonclient.utils import InferenceServerException  # noqa: E402

ROWS = np.random.RandomState(7).rand(3, len(COLUMNS))


def _client(server: Server):
    return httpclient.InferenceServerClient(server.url.removeprefix("http://"))


def _expected(model_dir: Path, data):
    import saveur

    return np.asarray(saveur.pyfunc.load_model(model_dir).predict(data))


def _column_inputs(binary):
    inputs = []
    for i, name in enumerate(COLUMNS):
        tensor = httpclient.InferInput(name, [len(ROWS)], "FP64")
        tensor.set_data_from_numpy(ROWS[:, i].copy(), binary_data=binary(i))
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize(
    "binary", [lambda i: True, lambda i: False, lambda i: i % 2 == 0],
    ids=["binary-inputs", "json-inputs", "mixed-inputs"],
)
def test_column_model_with_named_inputs_answers_binary_outputs(column_server, column_model,
                                                                binary):
    result = _client(column_server).infer("lr", _column_inputs(binary))
    output = result.get_response()["outputs"][0]
    assert "binary_data_size" in output["parameters"]  # no outputs named: all binary
    expected = _expected(column_model, pd.DataFrame(ROWS, columns=COLUMNS))
    np.testing.assert_array_equal(result.as_numpy(output["name"]), expected)


def test_outputs_asked_as_json_come_back_as_json(column_server, column_model):
    name = _client(column_server).get_model_metadata("lr")["outputs"][0]["name"]
    asked = [httpclient.InferRequestedOutput(name, binary_data=False)]
    result = _client(column_server).infer("lr", _column_inputs(lambda i: True), outputs=asked)
    output = result.get_response()["outputs"][0]
    assert "data" in output and "parameters" not in output
    expected = _expected(column_model, pd.DataFrame(ROWS, columns=COLUMNS))
    np.testing.assert_array_equal(result.as_numpy(name), expected)


def test_tensor_model_takes_one_binary_2d_tensor(tensor_server, tensor_model):
    name = _client(tensor_server).get_model_metadata("tensor_model")["inputs"][0]["name"]
    tensor = httpclient.InferInput(name, list(ROWS.shape), "FP64")
    tensor.set_data_from_numpy(ROWS)
    result = _client(tensor_server).infer("tensor_model", [tensor])
    out = result.get_response()["outputs"][0]["name"]
    np.testing.assert_array_equal(result.as_numpy(out), _expected(tensor_model, ROWS))


def test_server_metadata_announces_the_binary_extension(tensor_server):
    assert "binary_tensor_data" in _client(tensor_server).get_server_metadata()["extensions"]


@pytest.fixture(scope="module")
def text_model(tmp_path_factory) -> Path:
    """A pipeline on a string and a double column, answering string labels."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import saveur_sklearn
    from saveur.signature import infer_signature

    rng = np.random.RandomState(0)
    x = pd.DataFrame({"city": rng.choice(["paris", "lyon", "s\u00e8te"], 60),
                      "size": rng.rand(60)})
    y = np.where((x["city"] == "paris") | (x["size"] > 0.7), "yes", "no")
    model = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                           ("n", StandardScaler(), ["size"])]),
        LogisticRegression(),
    ).fit(x, y)
    path = tmp_path_factory.mktemp("models") / "text"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)))
    return path


@pytest.fixture(scope="module")
def text_server(text_model) -> Iterator[Server]:
    with run_server(text_model) as server:
        yield server


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_bytes_input_and_bytes_output(text_server, text_model, binary):
    cities = np.array(["s\u00e8te", "paris", "lyon"], dtype=object)
    sizes = np.array([0.9, 0.1, 0.2])
    city = httpclient.InferInput("city", [3], "BYTES")
    city.set_data_from_numpy(cities, binary_data=binary)
    size = httpclient.InferInput("size", [3], "FP64")
    size.set_data_from_numpy(sizes, binary_data=binary)
    result = _client(text_server).infer("text", [city, size])
    output = result.get_response()["outputs"][0]
    assert output["datatype"] == "BYTES"
    got = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy(output["name"])]
    expected = _expected(text_model, pd.DataFrame({"city": cities.astype(str), "size": sizes}))
    assert got == expected.tolist()


def test_a_refused_request_is_a_400_naming_the_tensor(column_server):
    inputs = _column_inputs(lambda i: True)
    inputs[3] = httpclient.InferInput(COLUMNS[3], [2], "FP64")
    inputs[3].set_data_from_numpy(np.array([1.0, 2.0]))
    with pytest.raises(InferenceServerException) as info:
        _client(column_server).infer("lr", inputs)
    assert "400" in str(info.value.status()) and "'f3'" in info.value.message()
