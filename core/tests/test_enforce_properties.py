"""Property-based tests: enforcement never changes a value it lets through."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from saveur.enforce import compile_enforcer
from saveur.errors import SchemaError
from saveur.signature import ModelSignature
from saveur.types import ColSpec, Schema, TensorSpec

NUMERIC = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "bool"]
TARGETS = {"integer": "int32", "long": "int64", "float": "float32", "double": "float64",
           "boolean": "bool"}


@st.composite
def columns(draw):
    dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
    values = draw(hnp.arrays(dtype, st.integers(1, 6)))
    return values


@settings(max_examples=400, deadline=None)
@given(columns(), st.sampled_from(sorted(TARGETS)), st.booleans())
def test_column_conversions_keep_every_value(values, target, required):
    df = pd.DataFrame({"c": values})
    enforce = compile_enforcer(ModelSignature(Schema([ColSpec(target, "c", required)])))
    try:
        out, _ = enforce(df)
    except SchemaError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("column 'c' expects")
        return
    got = out["c"].to_numpy()
    if target in ("long", "integer") and not required and out["c"].dtype != np.dtype(TARGETS[target]):
        got = out["c"].to_numpy(dtype="float64", na_value=np.nan)
    else:
        assert out["c"].dtype == np.dtype(TARGETS[target])
    original = values.astype("float64") if values.dtype.kind != "b" else values
    converted = got.astype("float64") if got.dtype.kind != "b" else got
    both_nan = np.isnan(original) & np.isnan(converted) if original.dtype.kind == "f" else False
    assert np.all((original == converted) | both_nan)


@settings(max_examples=300, deadline=None)
@given(columns(), st.sampled_from(NUMERIC), st.integers(1, 3))
def test_tensor_casts_keep_every_value(values, expected, width):
    arr = np.repeat(values[:, None], width, axis=1)
    enforce = compile_enforcer(ModelSignature(Schema([TensorSpec(np.dtype(expected),
                                                                 (-1, width))])))
    try:
        out, _ = enforce(arr)
    except SchemaError as exc:
        assert str(exc).startswith("input tensor expects dtype")
        return
    assert out.dtype == np.dtype(expected)
    with np.errstate(invalid="ignore"):
        same = (out.astype("float64") == arr.astype("float64")) | (
            np.isnan(out.astype("float64")) & np.isnan(arr.astype("float64"))
        )
    assert same.all()
