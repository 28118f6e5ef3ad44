"""The fast path: input that already fits skips enforcement with the very same result.

``compile_fit_check`` gives ``PyFuncModel.predict`` a predicate for input that the enforcer
would hand back as it is; the enforcers have matching shortcuts of their own (a tensor that
fits, a DataFrame whose labels and dtypes fit). Each is compared here with the general path on
many inputs, including those that must fall back to it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saveur.enforce import _columns, _tensors, compile_enforcer, compile_fit_check
from saveur.errors import SchemaError
from saveur.mlmodel import Model
from saveur.pyfunc import PyFuncModel
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

F32 = np.dtype("float32")
F64 = np.dtype("float64")


def tensor_sig(*specs, params=None):
    return ModelSignature(Schema(list(specs)), params=params)


def echo_model(signature):
    """A PyFuncModel whose predict function returns exactly what it was given."""
    return PyFuncModel(
        metadata=Model(signature=signature),
        predict_fn=lambda data, params: (data, params),
        raw_model=None,
        model_dir=Path("."),
    )


def outcome(call):
    try:
        return "ok", call()
    except SchemaError as exc:
        return "error", str(exc)


def same(a, b):
    """The same result: identical objects, or equal arrays/dicts of the same dtypes."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def general_model(signature):
    """The same model with every tensor shortcut taken out: the general path alone."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_tensors, "_array_fits", lambda spec: None)
        model = echo_model(signature)
    assert model._fits is None or signature is None or signature.params is not None
    return model


def check_both_paths(signature, data, params=None):
    """predict with the shortcuts against predict on the general path alone."""
    fast = outcome(lambda: echo_model(signature).predict(data, params))
    general = outcome(lambda: general_model(signature).predict(data, params))
    assert fast[0] == general[0], (fast, general)
    assert same(fast[1], general[1]), (fast, general)
    fits = compile_fit_check(signature)
    if fits is not None and fits(data):
        enforced, got_params = compile_enforcer(signature)(data, None)
        assert enforced is data and got_params is None
    return fast


# ---- the predicate -------------------------------------------------------------------------
def test_fit_check_accepts_an_array_of_the_declared_dtype_and_shape():
    fits = compile_fit_check(tensor_sig(TensorSpec(F32, (-1, 10))))
    assert fits(np.zeros((1, 10), F32))
    assert fits(np.zeros((7, 10), F32))
    assert not fits(np.zeros((1, 9), F32))
    assert not fits(np.zeros((10,), F32))
    assert not fits(np.zeros((1, 10), F64))
    assert not fits(np.zeros((1, 10), ">f4"))
    assert not fits(np.ma.zeros((1, 10), F32))
    assert not fits(np.zeros((1, 10), F32).tolist())


def test_fit_check_for_fixed_and_wildcard_shapes():
    fixed = compile_fit_check(tensor_sig(TensorSpec(F64, (2, 3))))
    assert fixed(np.zeros((2, 3))) and not fixed(np.zeros((3, 2)))
    several = compile_fit_check(tensor_sig(TensorSpec(F64, (-1, 3, -1, 4))))
    assert several(np.zeros((1, 3, 9, 4))) and not several(np.zeros((1, 4, 9, 4)))
    wild = compile_fit_check(tensor_sig(TensorSpec(F64, (-1, -1))))
    assert wild(np.zeros((5, 6))) and not wild(np.zeros((5,)))


def test_fit_check_for_named_tensors_wants_the_signature_order():
    sig = tensor_sig(TensorSpec(F32, (-1, 2), "a"), TensorSpec(np.dtype("int64"), (-1,), "b"))
    fits = compile_fit_check(sig)
    a, b = np.zeros((3, 2), F32), np.zeros(3, np.int64)
    assert fits({"a": a, "b": b})
    assert not fits({"b": b, "a": a})
    assert not fits({"a": a, "b": b, "c": b})
    assert not fits({"a": a})
    assert not fits({"a": a, "b": b.astype(np.int32)})


def test_no_fit_check_where_the_enforcer_always_works():
    assert compile_fit_check(ModelSignature(Schema([ColSpec("double", "x")]))) is None
    params = ParamSchema([ParamSpec("k", "long", 1)])
    assert compile_fit_check(tensor_sig(TensorSpec(F32, (-1, 2)), params=params)) is None
    assert compile_fit_check(tensor_sig(TensorSpec(np.dtype(str), (-1,)))) is None
    assert compile_fit_check(tensor_sig(TensorSpec(np.dtype(object), (-1,)))) is None
    assert compile_fit_check(None)(object())


# ---- predict: the fast path against the general one -------------------------------------
def test_an_array_that_fits_reaches_the_model_as_it_is():
    arr = np.ones((1, 10), F32)
    (data, params) = echo_model(tensor_sig(TensorSpec(F32, (-1, 10)))).predict(arr)
    assert data is arr and params is None


def test_safe_cast_falls_back_and_converts():
    arr = np.arange(20, dtype=F32).reshape(2, 10)
    data, _ = check_both_paths(tensor_sig(TensorSpec(F64, (-1, 10))), arr)[1]
    assert data.dtype == F64 and np.array_equal(data, arr)


def test_wrong_rank_falls_back_to_the_same_error():
    kind, message = check_both_paths(tensor_sig(TensorSpec(F32, (-1, 10))), np.zeros(10, F32))
    assert kind == "error"
    assert message == "input tensor expects shape (-1, 10) (-1 = any size), got (10,)"


def test_unsafe_dtype_falls_back_to_the_same_error():
    kind, message = check_both_paths(tensor_sig(TensorSpec(F32, (-1, 2))), np.zeros((1, 2)))
    assert kind == "error" and message.startswith("input tensor expects dtype float32, got float64")


def test_params_without_a_params_schema_take_the_general_path(caplog):
    arr = np.zeros((1, 2), F32)
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        data, params = check_both_paths(tensor_sig(TensorSpec(F32, (-1, 2))), arr, {"k": 1})[1]
    assert data is arr and params == {}
    assert "the model signature declares no params" in caplog.text


def test_declared_params_get_their_defaults_with_an_array_that_fits():
    sig = tensor_sig(TensorSpec(F32, (-1, 2)), params=ParamSchema([ParamSpec("k", "long", 3)]))
    _, params = check_both_paths(sig, np.zeros((1, 2), F32))[1]
    assert params == {"k": 3}


def test_extra_and_reordered_named_inputs_fall_back(caplog):
    sig = tensor_sig(TensorSpec(F32, (-1,), "a"), TensorSpec(F32, (-1,), "b"))
    a, b = np.zeros(2, F32), np.ones(2, F32)
    data, _ = check_both_paths(sig, {"b": b, "a": a})[1]
    assert list(data) == ["a", "b"] and data["a"] is a
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        data, _ = check_both_paths(sig, {"a": a, "b": b, "c": a})[1]
    assert list(data) == ["a", "b"]
    assert "ignoring inputs not in the model signature: ['c']" in caplog.text


def test_a_dict_that_fits_is_handed_over_as_it_is():
    sig = tensor_sig(TensorSpec(F32, (-1,), "a"), TensorSpec(F32, (-1,), "b"))
    given_dict = {"a": np.zeros(2, F32), "b": np.ones(2, F32)}
    assert compile_enforcer(sig)(given_dict)[0] is given_dict
    assert echo_model(sig).predict(given_dict)[0] is given_dict
    converted = {"a": np.zeros(2, np.int8), "b": np.ones(2, F32)}
    out = compile_enforcer(sig)(converted)[0]
    assert out is not converted and out["a"].dtype == F32


def test_subclasses_and_odd_byte_orders_fall_back():
    sig = tensor_sig(TensorSpec(F32, (-1, 2)))
    masked = np.ma.masked_array(np.zeros((1, 2), F32))
    assert check_both_paths(sig, masked)[0] == "ok"
    swapped = np.zeros((1, 2), ">f4")
    data, _ = check_both_paths(sig, swapped)[1]
    assert data.dtype == F32
    strided = np.zeros((4, 4), F32)[:, ::2]
    assert check_both_paths(sig, strided)[1][0] is strided


DTYPES = ["float32", "float64", "int8", "int32", "int64", "uint8", "bool", ">f4"]


@st.composite
def spec_and_input(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES[:-1])))
    shape = tuple(draw(st.lists(st.sampled_from([-1, 1, 2, 3]), min_size=1, max_size=3)))
    named = draw(st.booleans())
    spec = TensorSpec(dtype, shape, "t" if named else None)
    actual = tuple(d if d != -1 else draw(st.integers(0, 3)) for d in shape)
    if draw(st.booleans()):  # not the declared shape: another rank or size
        actual = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=4)))
    arr_dtype = dtype if draw(st.booleans()) else np.dtype(draw(st.sampled_from(DTYPES)))
    arr = np.zeros(actual, dtype=arr_dtype)
    if named:
        data = draw(st.sampled_from([{"t": arr}, {"t": arr, "u": arr}, arr, {"u": arr}]))
    else:
        data = draw(st.sampled_from([arr, arr.tolist(), {"t": arr}]))
    return tensor_sig(spec), data


@settings(max_examples=300, deadline=None)
@given(spec_and_input())
def test_fast_and_general_paths_agree_on_many_inputs(case):
    signature, data = case
    check_both_paths(signature, data)


# ---- column signatures: the DataFrame shortcut ------------------------------------------
NAMES = [f"f{i}" for i in range(4)]


def double_enforcer(names=NAMES, **kw):
    return compile_enforcer(ModelSignature(Schema([ColSpec("double", n, **kw) for n in names])))


def test_fresh_frames_with_the_same_labels_are_returned_as_they_are():
    enforce = double_enforcer()
    for _ in range(3):
        df = pd.DataFrame(np.random.default_rng(0).random((2, 4)), columns=NAMES)
        assert enforce(df)[0] is df
    as_objects = pd.DataFrame(np.zeros((1, 4)), columns=pd.Index(NAMES, dtype=object))
    assert enforce(as_objects)[0] is as_objects


def test_other_labels_after_matching_ones_are_still_checked():
    enforce = double_enforcer()
    enforce(pd.DataFrame(np.zeros((1, 4)), columns=NAMES))
    reordered = pd.DataFrame(np.arange(4.0).reshape(1, 4), columns=NAMES[::-1])
    out = enforce(reordered)[0]
    assert out.columns.tolist() == NAMES and out["f0"].iloc[0] == 3.0
    with pytest.raises(SchemaError, match="input is missing required column 'f3'"):
        enforce(pd.DataFrame(np.zeros((1, 4)), columns=["f0", "f1", "f2", "x"]))
    multi = pd.DataFrame(np.zeros((1, 4)), columns=pd.MultiIndex.from_product([["a"], NAMES]))
    with pytest.raises(SchemaError, match="input is missing required columns"):
        enforce(multi)


def test_dtypes_are_still_checked_when_the_labels_are_known():
    enforce = double_enforcer()
    enforce(pd.DataFrame(np.zeros((1, 4)), columns=NAMES))
    narrow = pd.DataFrame(np.zeros((1, 4), F32), columns=NAMES)
    out = enforce(narrow)[0]
    assert out is not narrow and (out.dtypes == F64).all()
    mixed = pd.DataFrame({"f0": [1.0], "f1": [2.0], "f2": ["x"], "f3": [4.0]})
    with pytest.raises(SchemaError, match="column 'f2' expects double"):
        enforce(mixed)
    several_blocks = pd.DataFrame({n: [float(i)] for i, n in enumerate(NAMES)})
    assert enforce(several_blocks)[0] is several_blocks


def test_a_column_with_no_plain_dtype_is_never_waved_through():
    # numpy holds np.dtype("float64") == None: a None slot must not match a float column.
    enforce = compile_enforcer(
        ModelSignature(Schema([ColSpec("double", "a"), ColSpec("string", "b")]))
    )
    with pytest.raises(SchemaError, match="column 'b' expects string, got float64"):
        enforce(pd.DataFrame({"a": [1.0], "b": [2.0]}))


def test_optional_long_columns_keep_their_nullable_dtype():
    enforce = compile_enforcer(ModelSignature(Schema([ColSpec("long", "a", required=False)])))
    nullable = pd.DataFrame({"a": pd.array([1, None], dtype="Int64")})
    assert enforce(nullable)[0] is nullable
    plain = pd.DataFrame({"a": np.array([1, 2], np.int64)})
    assert enforce(plain)[0] is plain


def _frames():
    rng = np.random.default_rng(1)
    yield pd.DataFrame(rng.random((2, 4)), columns=NAMES)
    yield pd.DataFrame(rng.random((2, 4)), columns=pd.Index(NAMES, dtype=object))
    yield pd.DataFrame(rng.random((2, 4)), columns=NAMES[::-1])
    yield pd.DataFrame(rng.random((2, 4)).astype(F32), columns=NAMES)
    yield pd.DataFrame({n: np.arange(2, dtype=np.int32) for n in NAMES})
    yield pd.DataFrame({n: [1.5, None] for n in NAMES})
    yield pd.DataFrame({"f0": [1.0], "f1": [2], "f2": ["x"], "f3": [4.0]})
    yield pd.DataFrame(rng.random((1, 5)), columns=[*NAMES, "extra"])
    yield pd.DataFrame(rng.random((1, 4)), columns=["f0", "f1", "f2", "x"])
    yield pd.DataFrame(rng.random((1, 4)), columns=pd.MultiIndex.from_product([["a"], NAMES]))


@pytest.mark.parametrize("required", [True, False])
def test_column_shortcuts_agree_with_the_general_path(required):
    fast = double_enforcer(required=required)
    frames = [*_frames(), *_frames()]  # twice: the second time the labels are known
    with pytest.MonkeyPatch.context() as mp:
        # The general path: no dtype shortcut, and a new enforcer per frame (no known labels).
        mp.setattr(_columns, "_plain_dtype", lambda fits: None)
        general = [double_enforcer(required=required) for _ in frames]
    for df, reference in zip(frames, general, strict=True):
        got = outcome(lambda df=df: fast(df)[0])
        want = outcome(lambda df=df, ref=reference: ref(df)[0])
        assert got[0] == want[0], (got, want)
        if got[0] == "error":
            assert got[1] == want[1]
        else:
            assert (got[1] is df) == (want[1] is df)
            pd.testing.assert_frame_equal(got[1], want[1])
