"""The scoring ASGI app in process (no socket): routes, errors, debug, batching, lifespan."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest

import saveur
from saveur.serving import build_app, openapi_document
from saveur.serving.app import app_for_model
from saveur.signature import ModelSignature
from saveur.types import ColSpec, Schema, TensorSpec

SIGNATURE = ModelSignature(Schema([ColSpec("double", "x")]),
                           Schema([TensorSpec(np.dtype("float64"), (-1, 1))]))


@pytest.fixture
def echo_dir(tmp_path, echo_model):
    path = tmp_path / "echo_model"
    saveur.save_model(echo_model, path, signature=SIGNATURE)
    return path


class _Exploding:
    """A pyfunc-like model whose own predict raises."""

    def __init__(self):
        self.metadata = SimpleNamespace(signature=None)
        self.model_dir = Path("/models/boom")
        self.resolved = None

    def predict(self, data, params=None):
        raise ZeroDivisionError("the model divided by zero\nsecond line")


def _call(app, method, path, **kwargs):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def _split(*values):
    return {"dataframe_split": {"columns": ["x"], "data": [[v] for v in values]}}


def test_build_app_serves_a_saved_model(echo_dir):
    app = build_app(str(echo_dir))
    response = _call(app, "POST", "/invocations", json=_split(1.0, 2.0))
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [{"x": 3.0}, {"x": 6.0}]}


def test_the_v2_name_defaults_to_the_model_directory_and_can_be_set(echo_dir):
    assert _call(build_app(str(echo_dir)), "GET", "/v2/models/echo_model").status_code == 200
    named = build_app(str(echo_dir), name="doubler")
    assert _call(named, "GET", "/v2/models/doubler").json()["name"] == "doubler"
    assert _call(named, "GET", "/v2/models/echo_model").status_code == 404


def test_a_model_exception_is_a_400_in_one_line_without_stack_trace():
    response = _call(app_for_model(_Exploding()), "POST", "/invocations", json=_split(1.0))
    assert response.status_code == 400
    assert response.json() == {
        "error_code": "BAD_REQUEST",
        "message": "ZeroDivisionError: the model divided by zero second line",
    }


def test_debug_adds_the_stack_trace():
    app = app_for_model(_Exploding(), debug=True)
    body = _call(app, "POST", "/invocations", json=_split(1.0)).json()
    assert "Traceback" in body["stack_trace"]
    assert "ZeroDivisionError" in body["stack_trace"]


def test_a_model_exception_in_v2_is_a_400_with_the_v2_error_shape():
    app = app_for_model(_Exploding())
    response = _call(app, "POST", "/v2/models/boom/infer", json={
        "inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]})
    assert response.status_code == 400
    assert response.json() == {"error": "ZeroDivisionError: the model divided by zero second line"}


def test_a_schema_violation_is_a_400_naming_the_column(echo_dir):
    response = _call(build_app(str(echo_dir)), "POST", "/invocations",
                     json={"dataframe_split": {"columns": ["y"], "data": [[1.0]]}})
    assert response.status_code == 400
    assert "'x'" in response.json()["message"]


def test_bodies_over_the_limit_are_a_413_even_without_content_length(echo_dir):
    app = build_app(str(echo_dir), max_body_mb=0.001)

    async def chunks():
        for _ in range(4):
            yield b" " * 512

    response = _call(app, "POST", "/invocations", content=chunks(),
                     headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit of 1048 bytes" in response.json()["message"]
    v2 = _call(app, "POST", "/v2/models/echo_model/infer", content=b" " * 2000)
    assert v2.status_code == 413 and "limit" in v2.json()["error"]


def test_head_answers_without_a_body_and_wrong_methods_get_405(echo_dir):
    app = build_app(str(echo_dir))
    head = _call(app, "HEAD", "/ping")
    assert head.status_code == 200 and head.content == b""
    post = _call(app, "POST", "/ping")
    assert post.status_code == 405 and post.headers["allow"] == "GET"
    assert _call(app, "GET", "/v2/models/echo_model/infer").status_code == 405


def test_unknown_docs_files_are_a_404(echo_dir):
    response = _call(build_app(str(echo_dir)), "GET", "/docs/secret.txt")
    assert response.status_code == 404
    assert "no Swagger UI file named 'secret.txt'" in response.json()["message"]


def test_batching_app_merges_concurrent_requests(echo_dir):
    app = build_app(str(echo_dir), max_batch_size=16, max_batch_delay_ms=50)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                *[client.post("/invocations", json=_split(float(i))) for i in range(6)],
                client.post("/invocations", json={"dataframe_split": {
                    "columns": ["x"], "data": [["not a number"]]}}),
            )

    responses = asyncio.run(go())
    assert [r.json()["predictions"] for r in responses[:6]] == [[{"x": 3.0 * i}] for i in range(6)]
    assert responses[6].status_code == 400
    batcher = app.scorer._batcher
    assert batcher.calls < batcher.requests  # at least two requests shared a predict call


class _ParamsEcho:
    """A pyfunc-like model answering, for each row, the repr of its ``scale`` param."""

    def __init__(self):
        self.metadata = SimpleNamespace(signature=None)
        self.model_dir = Path("/models/params")
        self.resolved = None

    def predict(self, data, params=None):
        return [repr(params["scale"])] * len(data)


def test_batching_app_never_merges_requests_whose_params_differ():
    app = app_for_model(_ParamsEcho(), max_batch_size=64, max_batch_delay_ms=100)
    # JSON as MLflow's client writes it: NaN and the infinities are bare tokens
    scales = ["Infinity", "-Infinity", "NaN", "1", "1.0", "true", "0.0", "-0.0", "[1]",
              "[1.0]", '{"a": [1, -0.0]}', '{"a": [1, 0.0]}', "Infinity"]
    expected = ["inf", "-inf", "nan", "1", "1.0", "True", "0.0", "-0.0", "[1]", "[1.0]",
                "{'a': [1, -0.0]}", "{'a': [1, 0.0]}", "inf"]

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*[
                client.post(
                    "/invocations",
                    content=b'{"dataframe_split": {"columns": ["x"], "data": [[1]]}, '
                    b'"params": {"scale": ' + scale.encode() + b"}}",
                    headers={"content-type": "application/json"},
                )
                for scale in scales
            ])

    responses = asyncio.run(go())
    assert [r.json()["predictions"] for r in responses] == [[e] for e in expected]
    batcher = app.scorer._batcher
    # the two identical Infinity requests may share a call; no other pair may
    assert batcher.calls >= len(scales) - 1


def test_build_app_refuses_bad_options(echo_dir):
    with pytest.raises(ValueError, match="max_batch_size must be at least 1"):
        build_app(str(echo_dir), max_batch_size=0)
    with pytest.raises(ValueError, match="max_body_mb must be positive"):
        build_app(str(echo_dir), max_body_mb=0)


def test_openapi_document_needs_no_model_code(echo_dir):
    document = openapi_document(str(echo_dir))
    assert "/v2/models/echo_model/infer" in document["paths"]
    assert document == _call(build_app(str(echo_dir)), "GET", "/openapi.json").json()


def test_lifespan_shutdown_stops_the_worker_thread(echo_dir):
    app = build_app(str(echo_dir))
    sent = []

    async def go():
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message["type"])

        await app({"type": "lifespan"}, receive, send)

    asyncio.run(go())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert app.scorer._executor._shutdown


def test_predictions_as_dataframe_are_records(tmp_path):
    class Frame(_Exploding):
        def predict(self, data, params=None):
            return pd.DataFrame({"a": [1], "b": ["z"]})

    response = _call(app_for_model(Frame()), "POST", "/invocations", json=_split(1.0))
    assert response.json() == {"predictions": [{"a": 1, "b": "z"}]}


# ---- where parsing runs: only bounded-cost bodies on the event loop --------------------------

class _Doubler:
    """A pyfunc-like model without signature: doubles its input."""

    def __init__(self):
        self.metadata = SimpleNamespace(signature=None)
        self.model_dir = Path("/models/doubler")
        self.resolved = None

    def predict(self, data, params=None):
        return data * 2


def _parse_threads(bodies):
    """Score each (body, content type) in turn; the thread each parse ran on."""
    import threading

    app = app_for_model(_Doubler())
    scorer = app.scorer
    scorer._placement.budget_s = 1.0  # a loaded machine must not make fast work look slow
    threads = []
    parse = scorer._parse_request

    def recording(body, content_type, signature, array_columns=None):
        threads.append(threading.current_thread().name)
        return parse(body, content_type, signature, array_columns)

    scorer._parse_request = recording

    async def go():
        loop_thread = threading.current_thread().name
        for body, content_type in bodies:
            await scorer.invocations(body, content_type)
        return loop_thread

    loop_thread = asyncio.run(go())
    scorer._executor.shutdown()
    return loop_thread, threads


def json_list(n):
    return ("[" + ", ".join(["1.5"] * n) + "]").encode()


_ONE_ROW = (b'{"dataframe_split": {"columns": ["x"], "data": [[1]]}}', "application/json")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # 16 KiB of one-letter CSV columns: small in bytes, a second of pandas work
        (b",".join(b"c%d" % i for i in range(3000)) + b"\n" + b",".join([b"1"] * 3000),
         "text/csv"),
        (b'{"dataframe_records": [' + b",".join(b'{"c%d": 1}' % i for i in range(300)) + b"]}",
         "application/json"),
        (b"x\n" + b"1\n" * 300, "text/csv"),
        (b'{"inputs": ' + json_list(20_000) + b"}", "application/json"),  # over 16 KiB
    ],
    ids=["wide-csv-header", "many-records-keys", "many-rows", "large-body"],
)
def test_bodies_whose_parse_cost_is_not_bounded_are_parsed_off_the_event_loop(body,
                                                                               content_type):
    loop_thread, threads = _parse_threads([_ONE_ROW] * 3 + [(body, content_type)])
    assert threads[2] == loop_thread  # a measured, fast, bounded body stays on the loop
    assert threads[3] != loop_thread and threads[3].startswith("saveur-score")


def test_the_first_request_is_parsed_off_the_event_loop():
    loop_thread, threads = _parse_threads([_ONE_ROW])
    assert threads[0] != loop_thread  # nothing measured yet: lazy imports must not stall


def test_ping_answers_while_a_request_is_parsed():
    import threading
    import time

    app = app_for_model(_Doubler())
    scorer = app.scorer
    parse = scorer._parse_request
    parsing = threading.Event()

    def slow(body, content_type, signature, array_columns=None):
        parsing.set()
        time.sleep(1.0)  # a parse that keeps its thread busy
        return parse(body, content_type, signature, array_columns)

    scorer._parse_request = slow

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            scoring = asyncio.ensure_future(client.post(
                "/invocations", content=b"x\n" + b"1\n" * 300,
                headers={"content-type": "text/csv"}))
            while not parsing.is_set():
                assert not scoring.done(), scoring.result().text  # failed before parsing
                await asyncio.sleep(0.001)
            started = time.perf_counter()
            ping = await client.get("/ping")
            latency = time.perf_counter() - started
            answered_while_parsing = not scoring.done()
            await scoring
            return ping.status_code, latency, answered_while_parsing

    status, latency, during = asyncio.run(go())
    assert status == 200 and during
    assert latency < 0.5


# ---- large bodies: parsed in a helper process, answers encoded in chunks ---------------------

def _large_csv(rows):
    return b"x\n" + b"1.5\n" * rows


def test_a_large_body_is_parsed_in_the_helper_process_and_answered():
    app = app_for_model(_Doubler())
    rows = 2**20 // 2  # over the 2 MiB threshold
    response = _call(app, "POST", "/invocations", content=_large_csv(rows),
                     headers={"content-type": "text/csv"})
    helper = app.scorer._helper._pool
    asyncio.run(app.scorer.close())
    assert response.status_code == 200, response.text[:300]
    predictions = response.json()["predictions"]
    assert len(predictions) == rows and predictions[0] == {"x": 3.0}
    assert helper is not None  # the helper process was used


def test_a_protocol_error_in_the_helper_is_a_400_naming_the_field():
    app = app_for_model(_Doubler())
    body = _large_csv(2**20 // 2)[:-4] + b"1,2,3\n"  # a late row with extra fields
    response = _call(app, "POST", "/invocations", content=body,
                     headers={"content-type": "text/csv"})
    asyncio.run(app.scorer.close())
    assert response.status_code == 400
    assert response.json()["message"].startswith("CSV body is malformed")


def test_without_a_helper_process_large_bodies_are_parsed_on_the_worker_thread():
    app = app_for_model(_Doubler())
    app.scorer._helper._unavailable = True  # as in a daemonic worker process
    response = _call(app, "POST", "/invocations", content=_large_csv(2**20 // 2),
                     headers={"content-type": "text/csv"})
    asyncio.run(app.scorer.close())
    assert response.status_code == 200
    assert app.scorer._helper._pool is None


def test_a_large_v2_body_is_decoded_in_the_helper_process():
    import orjson

    app = app_for_model(_Doubler())
    n = 600_000
    body = orjson.dumps({"inputs": [{"name": "x", "shape": [n], "datatype": "FP64",
                                     "data": [1.25] * n}]})
    assert len(body) > 2 * 2**20
    response = _call(app, "POST", f"/v2/models/{app.scorer.name}/infer", content=body,
                     headers={"content-type": "application/json"})
    helper = app.scorer._helper._pool
    asyncio.run(app.scorer.close())
    assert response.status_code == 200, response.text[:300]
    assert response.json()["outputs"][0]["data"][:2] == [2.5, 2.5]
    assert helper is not None
