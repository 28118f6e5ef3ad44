"""Property-based round trips: any schema survives JSON byte for byte."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from saveur.signature import ModelSignature  # noqa: E402
from saveur.types import (  # noqa: E402
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)

_names = st.text(min_size=1, max_size=8)


def _objects(children):
    props = st.lists(
        st.tuples(_names, children, st.booleans()),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
    return props.map(lambda ps: Object([Property(n, t, r) for n, t, r in ps]))


types = st.recursive(
    st.sampled_from(list(DataType)) | st.just(AnyType()),
    lambda children: children.map(Array) | children.map(Map) | _objects(children),
    max_leaves=8,
)

column_schemas = st.lists(
    st.tuples(_names, types, st.booleans()), min_size=1, max_size=5, unique_by=lambda t: t[0]
).map(lambda cols: Schema([ColSpec(t, n, r) for n, t, r in cols]))

tensor_schemas = st.lists(
    st.tuples(
        _names,
        st.sampled_from(["float32", "float64", "int8", "uint16", "int64", "bool", "str", "bytes"]),
        st.lists(st.integers(-1, 64), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
).map(lambda ts: Schema([TensorSpec(d, s, n) for n, d, s in ts]))

scalar_params = st.one_of(
    st.tuples(st.just("long"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("double"), st.floats(allow_nan=False, allow_infinity=False)),
    st.tuples(st.just("string"), st.text(max_size=5)),
    st.tuples(st.just("boolean"), st.booleans()),
)
param_schemas = st.lists(
    st.tuples(_names, scalar_params, st.booleans()), max_size=4, unique_by=lambda t: t[0]
).map(
    lambda ps: ParamSchema(
        [ParamSpec(n, t, [v] if one_d else v, (-1,) if one_d else None) for n, (t, v), one_d in ps]
    )
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(column_schemas, tensor_schemas))
def test_any_schema_round_trips_byte_identically(schema):
    text = schema.to_json()
    again = Schema.from_json(text)
    assert again == schema
    assert again.to_json() == text


@settings(max_examples=100, deadline=None)
@given(column_schemas, param_schemas)
def test_any_signature_round_trips(inputs, params):
    sig = ModelSignature(inputs=inputs, params=params if len(params) else None)
    d = sig.to_dict()
    assert ModelSignature.from_dict(d).to_dict() == d
