"""Hostile scoring requests: the parser answers ProtocolError (400) or 415, never anything raw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import ProtocolError, SaveurError, UnsupportedContentTypeError
from saveur.protocol import parse_request
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

J = "application/json"
_BIG = "x" * 2_000_000

SIGNATURES = {
    "none": None,
    "columns": ModelSignature(
        Schema(
            [ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "s", required=False)]
        ),
        params=ParamSchema(
            [ParamSpec("k", "long", 1), ParamSpec("arr", "string", ["x"], shape=(-1,))]
        ),
    ),
    "tensor": ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 3))])),
    "named-tensors": ModelSignature(
        Schema(
            [
                TensorSpec(np.dtype("float32"), (-1, 3), "x"),
                TensorSpec(np.dtype("int64"), (-1,), "y"),
            ]
        )
    ),
    "unnamed-columns": ModelSignature(Schema([ColSpec("double"), ColSpec("double")])),
}

HOSTILE_BODIES = {
    "deep-list": (b"[" * 100_000 + b"]" * 100_000, J),
    "deep-inputs": (b'{"inputs": ' + b"[" * 5000 + b"1" + b"]" * 5000 + b"}", J),
    "deep-object": (b'{"inputs": {"a": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}}", J),
    "huge-float": (b'{"dataframe_records": [{"a": 1e400, "b": 1}]}', J),
    "huge-int": (b'{"dataframe_records": [{"a": 1, "b": 100000000000000000000000000000}]}', J),
    "5000-digit-int": (b'{"inputs": [[' + b"9" * 5000 + b", 1, 1]]}", J),
    "5000-digit-int-record": (b'{"dataframe_records": [{"a": 1, "b": ' + b"9" * 5000 + b"}]}", J),
    "nan-infinity": (b'{"dataframe_records": [{"a": NaN, "b": Infinity}]}', J),
    "nan-tensor": (b'{"inputs": [[NaN, -Infinity, 1]]}', J),
    "bad-utf8": (b'\xff\xfe{"inputs": 1}', J),
    "bad-utf8-in-string": (b'{"inputs": "\xff"}', J),
    "lone-surrogate": (b'{"inputs": "\\ud800"}', J),
    "lone-surrogate-key": (b'{"dataframe_records": [{"\\udc00": 1}]}', J),
    "utf16-body": ('{"inputs": [1]}'.encode("utf-16"), J),
    "columns-unhashable": (
        b'{"dataframe_split": {"columns": [[1], {"a": 1}], "data": [[1, 2]]}}',
        J,
    ),
    "columns-numbers": (b'{"dataframe_split": {"columns": [1, 2], "data": [[1, 2]]}}', J),
    "columns-empty": (b'{"dataframe_split": {"columns": ["", ""], "data": [[1, 2]]}}', J),
    "columns-proto": (
        b'{"dataframe_split": {"columns": ["__proto__", "constructor"], "data": [[1, 2]]}}',
        J,
    ),
    "columns-null-bool": (b'{"dataframe_split": {"columns": [null, true], "data": [[1, 2]]}}', J),
    "split-ragged": (b'{"dataframe_split": {"data": [[1, 2], [3]]}}', J),
    "split-index-objects": (
        b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]], "index": [{"a": 1}]}}',
        J,
    ),
    "records-not-objects": (b'{"dataframe_records": [1, 2]}', J),
    "records-nested": (b'{"dataframe_records": [{"a": [1, 2], "b": {"c": 1}}]}', J),
    "instances-mixed": (b'{"instances": [{"a": 1}, 2]}', J),
    "instances-ragged": (b'{"instances": [{"x": [1, 2, 3]}, {"y": 2}]}', J),
    "inputs-ragged": (b'{"inputs": [[1, 2], [1, 2, 3]]}', J),
    "inputs-objects": (b'{"inputs": [[true, null, {}]]}', J),
    "params-wrong-type": (b'{"inputs": [1], "params": {"k": "abc"}}', J),
    "params-huge-int": (b'{"inputs": [1], "params": {"k": 99999999999999999999999999}}', J),
    "params-nested-array": (b'{"inputs": [1], "params": {"arr": [[1]]}}', J),
    "params-list": (b'{"inputs": [1], "params": [1]}', J),
    "two-payload-keys": (b'{"inputs": [1], "instances": [2]}', J),
    "empty-object": (b"{}", J),
    "null": (b"null", J),
    "empty-body": (b"", J),
    "million-element-inputs": (
        b'{"inputs": ' + json.dumps(list(range(1_000_000))).encode() + b"}",
        J,
    ),
    "million-element-column": (
        b'{"inputs": {"a": ' + json.dumps(list(range(1_000_000))).encode() + b', "b": [1]}}',
        J,
    ),
    "huge-string-field": (b'{"dataframe_records": [{"a": "' + _BIG.encode() + b'", "b": 1}]}', J),
    "huge-column-name": (b'{"dataframe_records": [{"' + _BIG.encode() + b'": 1}]}', J),
    "csv-injection": (b"=cmd|' /C calc'!A0,b\n1,2\n", "text/csv"),
    "csv-formula-value": (b"a,b\n=1+1,2\n", "text/csv"),
    "csv-huge-field": (b'a,b\n"' + _BIG.encode() + b'",2\n', "text/csv"),
    "csv-ragged": (b"a,b\n1,2,3,4\n5\n", "text/csv"),
    "csv-unterminated-quote": (b'a,b\n"unterminated,2\n', "text/csv"),
    "csv-binary": (b"\x00\x01\x02", "text/csv"),
    "csv-bad-utf8": (b"a,b\n\xff,1\n", "text/csv"),
    "csv-overflow": (b"a,b\n1e999,99999999999999999999999\n", "text/csv"),
    "csv-empty": (b"", "text/csv"),
    "parquet-garbage": (b"PAR1garbagePAR1", "application/vnd.apache.parquet"),
    "parquet-empty": (b"", "application/vnd.apache.parquet"),
}


@pytest.mark.parametrize("signature", list(SIGNATURES), ids=list(SIGNATURES))
@pytest.mark.parametrize("case", list(HOSTILE_BODIES), ids=list(HOSTILE_BODIES))
def test_hostile_body_gives_a_protocol_or_schema_error_or_parses(case, signature):
    body, content_type = HOSTILE_BODIES[case]
    sig = SIGNATURES[signature]
    try:
        parsed = parse_request(body, content_type, sig)
        compile_enforcer(sig)(parsed.data, parsed.params)
    except SaveurError as e:
        # one line, naming the problem, never a dump of the input
        assert "\n" not in str(e)
        assert len(str(e)) < 1000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"inputs": [[' + b"9" * 5000 + b", 1, 1]]}", "a number that cannot be read"),
        (b'{"inputs": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"dataframe_records": [{"\\udc00": 1}]}', "unpaired UTF-16 surrogate"),
        (
            b'{"dataframe_split": {"columns": [[1]], "data": [[1]]}}',
            "columns' item 0 must be a column name",
        ),
        (b'{"dataframe_split": {"columns": ["a", {"x": 1}], "data": [[1, 2]]}}', "columns' item 1"),
    ],
)
def test_protocol_error_names_the_problem(body, message):
    with pytest.raises(ProtocolError, match=message):
        parse_request(body, J, SIGNATURES["columns"])


def test_paired_surrogate_escapes_are_text():
    parsed = parse_request(b'{"inputs": ["\\ud83d\\ude00"], "params": {"NaN": NaN}}', J)
    assert parsed.data.tolist() == ["\U0001f600"]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/json; format=pandas-split",
        "\x00",
        "a" * 100_000,
    ],
)
def test_wrong_content_types_are_415_and_short(content_type):
    with pytest.raises(UnsupportedContentTypeError) as info:
        parse_request(b'{"inputs": [1]}', content_type)
    assert len(str(info.value)) < 300


@pytest.fixture(scope="module")
def server_app(tmp_path_factory):
    """A served LogisticRegression with a two-column signature and a 1 MB body limit."""
    pytest.importorskip("httpx")
    pytest.importorskip("sklearn")
    pytest.importorskip("saveur_sklearn")
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import saveur
    import saveur_echo
    import saveur_sklearn
    from saveur import plugins
    from saveur.serving import build_app

    plugins.reset_plugins(
        plugins.build_plugins(
            entry_points=False, extra=[("echo", saveur_echo), ("sklearn", saveur_sklearn)]
        )
    )
    X = pd.DataFrame(np.random.RandomState(0).rand(20, 2), columns=["a", "b"])
    path = tmp_path_factory.mktemp("srv") / "lr"
    saveur.save_model(LogisticRegression().fit(X, (X.a > 0.5).astype(int)), path, input_example=X)
    return build_app(str(path), max_body_mb=1)


def _request(app, method, path, body=b"", headers=None):
    import asyncio

    import httpx

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, content=body, headers=headers or {})

    return asyncio.run(go())


@pytest.mark.parametrize("case", list(HOSTILE_BODIES), ids=list(HOSTILE_BODIES))
def test_server_answers_hostile_body_without_5xx_and_with_mlflow_error_shape(server_app, case):
    body, content_type = HOSTILE_BODIES[case]
    headers = {"content-type": content_type} if content_type else {}
    response = _request(server_app, "POST", "/invocations", body, headers)
    assert response.status_code < 500, response.content[:300]
    if response.status_code != 200:
        assert response.status_code in (400, 413, 415)
        assert set(response.json()) >= {"error_code", "message"}
        assert len(response.content) < 2000  # never an echo of the input


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../../../../etc/passwd",
        "/docs/%2e%2e/%2e%2e/etc/passwd",
        "/docs/..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/v2/models/../../etc/passwd",
    ],
)
def test_server_does_not_serve_traversal_paths(server_app, path):
    response = _request(server_app, "GET", path)
    assert response.status_code < 500
    assert b"root:" not in response.content


_WIDE = 60_000


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'{"dataframe_split": {"data": [' + json.dumps([0.5] * 10**6).encode() + b"]}}",
            J,
            "table of 1000000 columns; at most",
        ),
        (
            json.dumps(
                {
                    "dataframe_split": {
                        "columns": [f"c{i}" for i in range(_WIDE)],
                        "data": [[1] * _WIDE],
                    }
                }
            ).encode(),
            J,
            f"table of {_WIDE} columns",
        ),
        (
            json.dumps({"dataframe_records": [{f"c{i}": 1 for i in range(_WIDE)}]}).encode(),
            J,
            f"table of {_WIDE} columns",
        ),
        (
            json.dumps({"inputs": {f"c{i}": [1] for i in range(_WIDE)}}).encode(),
            J,
            f"table of {_WIDE} columns",
        ),
        (
            ",".join(f"c{i}" for i in range(_WIDE)).encode() + b"\n1\n",
            "text/csv",
            f"table of {_WIDE} columns",
        ),
        # 20,000 records naming one different key each: 280 KB asking for 4*10^8 cells
        (
            json.dumps({"dataframe_records": [{f"c{i}": 1} for i in range(20_000)]}).encode(),
            J,
            "mostly missing values",
        ),
    ],
    ids=[
        "split-1e6-row",
        "split-wide",
        "records-wide",
        "inputs-dict-wide",
        "csv-wide",
        "records-sparse",
    ],
)
def test_small_bodies_that_describe_huge_tables_are_refused(body, content_type, message):
    with pytest.raises(ProtocolError, match=message):
        parse_request(body, content_type, SIGNATURES["columns"])


def test_dense_and_moderately_sparse_records_still_parse():
    records = [{"a": 1.0, "b": 2} if i % 2 else {"a": 1.0} for i in range(100_000)]
    parsed = parse_request(json.dumps({"dataframe_records": records}).encode(), J)
    assert parsed.data.shape == (100_000, 2)


def _parquet(n_rows):
    import io

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(
        pa.table({"a": pa.array(np.zeros(n_rows, dtype=np.int8))}), buf, compression="zstd"
    )
    return buf.getvalue()


def test_parquet_decompression_bomb_is_refused_from_its_footer():
    body = _parquet(5_000_000)  # a few KB declaring 5*10^6 values
    assert len(body) < 100_000
    with pytest.raises(ProtocolError, match="declares 5000000 rows x 1 columns.*decompression"):
        parse_request(body, "application/vnd.apache.parquet")


def test_ordinary_parquet_still_parses():
    parsed = parse_request(_parquet(1000), "application/vnd.apache.parquet")
    assert parsed.data.shape == (1000, 1)
