"""Property-based tests: any body gives a parse or a one-line ProtocolError, never a crash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saveur.enforce import compile_enforcer
from saveur.errors import ProtocolError, SchemaError
from saveur.protocol import PAYLOAD_KEYS, parse_request, predictions_to_json
from saveur.signature import ModelSignature
from saveur.types import ColSpec, Schema, TensorSpec

SIGNATURES = [
    None,
    ModelSignature(Schema([ColSpec("double", "x"), ColSpec("long", "n", required=False),
                           ColSpec("string", "s"), ColSpec("boolean", "b", required=False)])),
    ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 2))])),
    ModelSignature(Schema([TensorSpec(np.dtype("int64"), (-1,), "a")])),
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["x", "n", "s", "b", "a", "data", "columns", "zz"]),
                        children, max_size=4),
    ),
    max_leaves=20,
)
payloads = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([*PAYLOAD_KEYS, "params", "other"]), json_values,
                    max_size=3),
    st.builds(lambda key, v: {key: v}, st.sampled_from(PAYLOAD_KEYS), json_values),
)


def _check_error(exc: Exception) -> None:
    message = str(exc)
    assert message and "\n" not in message and len(message) < 400


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.sampled_from(range(len(SIGNATURES))))
def test_any_json_payload_parses_or_fails_cleanly(payload, which):
    signature = SIGNATURES[which]
    body = json.dumps(payload).encode()
    try:
        parsed = parse_request(body, "application/json", signature)
    except ProtocolError as exc:
        _check_error(exc)
        return
    if signature is not None:
        # whatever the parser accepts, enforcement accepts or rejects with a SchemaError
        try:
            compile_enforcer(signature)(parsed.data, parsed.params)
        except SchemaError as exc:
            _check_error(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(["application/json", "text/csv"]))
def test_any_bytes_parse_or_fail_cleanly(body, content_type):
    try:
        parse_request(body, content_type, SIGNATURES[1])
    except ProtocolError as exc:
        _check_error(exc)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=False, width=64), st.text(max_size=5)),
                min_size=1, max_size=5))
def test_records_round_trip_through_parse_and_enforce(rows):
    signature = SIGNATURES[1]
    payload = {"dataframe_records": [{"x": x, "s": s} for x, s in rows]}
    parsed = parse_request(json.dumps(payload).encode(), "application/json", signature)
    out, _ = compile_enforcer(signature)(parsed.data)
    assert out["x"].tolist() == [x for x, _ in rows]
    assert out["s"].tolist() == [s for _, s in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(width=64), min_size=1, max_size=6))
def test_predictions_encode_every_float(values):
    body = predictions_to_json(np.array(values))
    decoded = json.loads(body)["predictions"]  # the stdlib reads NaN/Infinity tokens
    assert len(decoded) == len(values)
    for got, want in zip(decoded, values, strict=True):
        assert (got == want) or (np.isnan(got) and np.isnan(want))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=6))
def test_predictions_of_frames_match_records(values):
    frame = pd.DataFrame({"p": values})
    assert json.loads(predictions_to_json(frame))["predictions"] == [{"p": v} for v in values]
