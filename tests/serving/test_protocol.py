"""MLflow's scoring protocol and the Open Inference Protocol against a real server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest
from serving_helpers import COLUMNS, run_server

ROWS = [[0.9, 0.8] + [0.5] * 8, [0.1, 0.2] + [0.5] * 8]


@pytest.fixture(scope="module")
def expected(column_model):
    from saveur.pyfunc import load_model

    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    return np.asarray(load_model(column_model).predict(frame)).tolist()


@pytest.fixture(scope="module")
def client(column_server):
    with httpx.Client(base_url=column_server.url, timeout=30) as c:
        yield c


def _records():
    return [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]


def _error(response, status, *fragments):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == "BAD_REQUEST"
    assert "\n" not in body["message"] and "Traceback" not in body["message"]
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body["message"]


# --- health and version ----------------------------------------------------------------


def test_the_server_binds_127_0_0_1_and_prints_its_swagger_url(column_server):
    assert column_server.url.startswith("http://127.0.0.1:")
    assert f"Swagger UI at {column_server.url}/docs" in column_server.log


@pytest.mark.parametrize("path", ["/ping", "/health"])
def test_health_checks_answer_200(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.text == "\n"


def test_version_is_the_saveur_version(client):
    import saveur

    assert client.get("/version").text == saveur.__version__


# --- every payload form ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": COLUMNS, "data": ROWS}},
        {"dataframe_records": _records()},
        {"instances": _records()},
        {"inputs": _records()},
        {"inputs": {c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs-records", "inputs-columns"],
)
def test_every_json_form_gives_the_model_predictions(client, expected, payload):
    response = client.post("/invocations", json=payload)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": expected}


def test_a_split_in_fitted_order_answers_as_the_frame_does(client, column_model):
    """A split of exactly the fitted columns is predicted from its values alone (no frame is
    built); the answers must be the frame's, and the same in any column order."""
    from saveur.pyfunc import load_model

    model = load_model(column_model)
    assert model.array_columns == tuple(COLUMNS)
    frame = pd.DataFrame(np.random.RandomState(3).rand(64, len(COLUMNS)), columns=COLUMNS)
    expected = np.asarray(model.predict(frame)).tolist()
    for columns in (COLUMNS, COLUMNS[::-1], COLUMNS[1:] + COLUMNS[:1]):
        for rows in (frame, frame.iloc[:1]):
            payload = {"dataframe_split": {"columns": columns,
                                           "data": rows[columns].to_numpy().tolist()}}
            response = client.post("/invocations", json=payload)
            assert response.json() == {"predictions": expected[:len(rows)]}, columns


def test_json_with_a_charset_parameter_is_accepted(client, expected):
    response = client.post(
        "/invocations",
        content=json.dumps({"dataframe_split": {"columns": COLUMNS, "data": ROWS}}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json() == {"predictions": expected}


def test_csv_gives_the_model_predictions(client, expected):
    csv = pd.DataFrame(ROWS, columns=COLUMNS).to_csv(index=False)
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_parquet_gives_the_model_predictions(client, expected):
    buffer = io.BytesIO()
    pd.DataFrame(ROWS, columns=COLUMNS).to_parquet(buffer)
    response = client.post(
        "/invocations", content=buffer.getvalue(),
        headers={"content-type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


# --- errors --------------------------------------------------------------------------------


def test_malformed_json_is_a_400(client):
    _error(client.post("/invocations", content=b"{not json",
                       headers={"content-type": "application/json"}), 400)


def test_two_payload_keys_are_a_400_naming_them(client):
    payload = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}, "instances": _records()}
    _error(client.post("/invocations", json=payload), 400, "dataframe_split", "instances")


def test_an_unknown_payload_key_is_a_400(client):
    _error(client.post("/invocations", json={"rows": ROWS}), 400)


def test_a_missing_column_is_a_400_naming_it(client):
    records = [{c: v for c, v in r.items() if c != "f3"} for r in _records()]
    _error(client.post("/invocations", json={"dataframe_records": records}), 400, "f3")


def test_a_wrong_value_type_is_a_400_naming_the_column(client):
    records = _records()
    records[1]["f7"] = "abc"
    message = _error(client.post("/invocations", json={"dataframe_records": records}), 400, "f7")
    assert str(ROWS) not in message  # never a dump of the input


def test_a_non_utf8_body_is_a_400(client):
    _error(client.post("/invocations", content=b"f0\n\xff\xfe",
                       headers={"content-type": "text/csv"}), 400)


def test_bad_csv_is_a_400(client):
    _error(client.post("/invocations", content=b'f0,f1\n"1,2\n',
                       headers={"content-type": "text/csv"}), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_unsupported_content_types_are_a_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/invocations", content=b"x", headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error_code"] == "BAD_REQUEST"


def test_a_model_exception_is_a_400_with_its_type_and_message_and_serving_goes_on(client):
    # Empty CSV cells are NaN, which LogisticRegression itself refuses.
    csv = ",".join(COLUMNS) + "\n" + ",".join([""] * len(COLUMNS)) + "\n"
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    message = _error(response, 400, "ValueError", "NaN")
    assert "File " not in message
    assert client.get("/ping").status_code == 200


def test_unknown_paths_are_a_404_and_wrong_methods_a_405(client):
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong = client.get("/invocations")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"


def test_each_request_is_logged_with_method_path_status_and_latency(client, column_server):
    client.get("/ping")
    client.post("/invocations", json={"rows": []})
    import re

    assert re.search(r"INFO saveur.serving: GET /ping 200 \d+\.\d+ms", column_server.log)
    assert re.search(r"POST /invocations 400 \d+\.\d+ms", column_server.log)


# --- Open Inference Protocol v2 ----------------------------------------------------------


def test_v2_health_and_metadata(client):
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    metadata = client.get("/v2/models/lr").json()
    assert metadata["name"] == "lr"
    assert metadata["inputs"][0] == {"name": "f0", "datatype": "FP64", "shape": [-1]}
    assert client.get("/v2/models/lr/ready").json() == {"name": "lr", "ready": True}


def test_v2_infer_takes_one_1d_tensor_per_column(client, expected):
    inputs = [{"name": c, "shape": [2], "datatype": "FP64", "data": [r[i] for r in ROWS]}
              for i, c in enumerate(COLUMNS)]
    response = client.post("/v2/models/lr/infer", json={"id": "r1", "inputs": inputs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "r1" and body["model_name"] == "lr"
    (output,) = body["outputs"]
    assert output["datatype"] == "INT64" and output["shape"] == [2]
    assert output["data"] == expected


def test_v2_errors(client):
    missing = client.post("/v2/models/other/infer", json={"inputs": []})
    assert missing.status_code == 404
    assert "'other' is not served here" in missing.json()["error"]
    bad = client.post("/v2/models/lr/infer", json={"inputs": [
        {"name": "f0", "shape": [3], "datatype": "FP64", "data": [1.0]}]})
    assert bad.status_code == 400
    assert "shape [3] needs 3 values, got 1" in bad.json()["error"]
    incomplete = client.post("/v2/models/lr/infer", json={"inputs": [
        {"name": "f0", "shape": [1], "datatype": "FP64", "data": [1.0]}]})
    assert incomplete.status_code == 400
    assert "f1" in incomplete.json()["error"]


# --- tensor signature ----------------------------------------------------------------------


def test_a_tensor_model_takes_inputs_and_instances(tensor_server, tensor_model):
    from saveur.pyfunc import load_model

    expected = np.asarray(load_model(tensor_model).predict(np.array(ROWS))).tolist()
    with httpx.Client(base_url=tensor_server.url) as c:
        assert c.post("/invocations", json={"inputs": ROWS}).json() == {"predictions": expected}
        assert c.post("/invocations", json={"instances": ROWS}).json() == {
            "predictions": expected}
        wrong = c.post("/invocations", json={"inputs": [[1.0, 2.0]]})
        _error(wrong, 400)
        v2 = c.post(f"/v2/models/{tensor_model.name}/infer", json={"inputs": [
            {"name": "x", "shape": [2, 10], "datatype": "FP64", "data": ROWS}]})
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == expected


# --- OpenAPI and Swagger UI ------------------------------------------------------------------


def test_openapi_document_and_swagger_page_are_served(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    example = document["components"]["schemas"]["InvocationsRequest"]["example"]
    assert client.post("/invocations", json=example).status_code == 200
    page = client.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "/docs/swagger-ui-bundle.js" in page.text and "/openapi.json" in page.text
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert client.get("/docs/../../etc/passwd").status_code == 404


def test_saveur_openapi_writes_the_same_document_without_a_server(column_model, client,
                                                                  tmp_path):
    out = tmp_path / "openapi.json"
    subprocess.run([sys.executable, "-m", "saveur", "openapi", "-m", str(column_model),
                    "--name", "lr", "-o", str(out)], check=True)
    assert json.loads(out.read_text()) == client.get("/openapi.json").json()


# --- batching, body limit, shutdown ------------------------------------------------------------


def test_batching_server_answers_each_concurrent_request_and_isolates_bad_ones(column_model,
                                                                              expected):
    with run_server(column_model, "--max-batch-size", "64", "--max-batch-delay-ms", "20",
                    "--max-body-mb", "0.01") as server, httpx.Client(
                        base_url=server.url, timeout=30) as c:
        good = {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}
        bad = {"dataframe_split": {"columns": COLUMNS, "data": [["x"] * 10]}}
        payloads = [good, bad] * 8
        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(lambda p: c.post("/invocations", json=p), payloads))
        for payload, response in zip(payloads, responses, strict=True):
            if payload is good:
                assert response.json() == {"predictions": expected}
            else:
                assert response.status_code == 400
        too_big = c.post("/invocations", content=b" " * 20_000,
                         headers={"content-type": "application/json"})
        _error(too_big, 413, "--max-body-mb")


def test_sigterm_stops_the_server_cleanly(column_model):
    with run_server(column_model) as server:
        assert httpx.get(server.url + "/ping").status_code == 200
        assert server.stop(signal.SIGTERM) == 0
    assert "Finished server process" in server.log or "Shutting down" in server.log


def test_a_registered_model_is_served_under_its_registered_name(column_model, tmp_path):
    from saveur.store import registry
    from saveur.store._config import set_store_uri

    store = tmp_path / "store"
    set_store_uri(store)
    try:
        registry.register_model(str(column_model), "fraud")
    finally:
        set_store_uri(None)
    with run_server(None, env={"SAVEUR_STORE_URI": str(store)},
                    model_uri="models:/fraud/1") as server:
        metadata = httpx.get(server.url + "/v2/models/fraud").json()
        assert metadata["name"] == "fraud" and metadata["versions"] == ["1"]
        response = httpx.post(server.url + "/invocations", json={
            "dataframe_split": {"columns": COLUMNS, "data": ROWS}})
        assert response.status_code == 200
