"""Tensor-based signature enforcement: shapes, safe dtype casts, named tensors, frames."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import SchemaError
from saveur.signature import ModelSignature
from saveur.types import Schema, TensorSpec


def enforcer(*specs):
    return compile_enforcer(ModelSignature(Schema(list(specs))))


def run(data, *specs):
    return enforcer(*specs)(data)[0]


def fails(data, *specs) -> str:
    with pytest.raises(SchemaError) as info:
        enforcer(*specs)(data)
    assert "\n" not in str(info.value)
    return str(info.value)


F32 = np.dtype("float32")
F64 = np.dtype("float64")


def test_matching_array_is_returned_as_is():
    arr = np.zeros((3, 4), dtype=F32)
    assert run(arr, TensorSpec(F32, (-1, 4))) is arr


def test_wildcard_dimensions_match_any_size():
    arr = np.zeros((2, 5, 7), dtype=F32)
    assert run(arr, TensorSpec(F32, (-1, 5, -1))) is arr


def test_wrong_shape_is_an_error():
    assert fails(np.zeros((2, 3), dtype=F32), TensorSpec(F32, (-1, 4))) == (
        "input tensor expects shape (-1, 4) (-1 = any size), got (2, 3)"
    )


def test_wrong_rank_is_an_error():
    assert fails(np.zeros((2,), dtype=F32), TensorSpec(F32, (-1, 4))) == (
        "input tensor expects shape (-1, 4) (-1 = any size), got (2,)"
    )


@pytest.mark.parametrize(
    ("actual", "expected"),
    [("float32", "float64"), ("int8", "float32"), ("int32", "float64"), ("int16", "int64"),
     ("uint8", "int16"), ("bool", "bool")],
)
def test_safe_dtype_casts_convert(actual, expected):
    out = run(np.ones((2, 2), dtype=actual), TensorSpec(np.dtype(expected), (-1, 2)))
    assert out.dtype == np.dtype(expected)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [("float64", "float32"), ("int64", "float32"), ("int64", "float64"), ("int64", "int32"),
     ("float32", "int64"), ("uint64", "int64"), ("bool", "float32")],
)
def test_unsafe_dtype_casts_are_errors(actual, expected):
    msg = fails(np.ones((2, 2), dtype=actual), TensorSpec(np.dtype(expected), (-1, 2)))
    assert msg == (
        f"input tensor expects dtype {expected}, got {actual} "
        "(only conversions that keep every value exactly are made)"
    )


def test_string_tensor_matches_any_length():
    arr = np.array(["a", "bcd"])
    assert run(arr, TensorSpec(np.dtype("str"), (-1,))) is arr


def test_object_tensor_of_any_shape_passes_ragged_data():
    arr = np.array([[1], [1, 2]], dtype=object)
    assert run(arr, TensorSpec(np.dtype("O"), (-1,))) is arr


def test_list_input_becomes_an_array():
    out = run([[1.0, 2.0]], TensorSpec(F64, (-1, 2)))
    assert isinstance(out, np.ndarray) and out.shape == (1, 2)


def test_ragged_list_is_an_error():
    assert fails([[1.0], [1.0, 2.0]], TensorSpec(F64, (-1, 2))) == (
        "input tensor: the nested lists are ragged"
    )


def test_unsupported_input_for_unnamed_tensor_is_an_error():
    assert fails({"x": np.zeros(2)}, TensorSpec(F64, (-1,))) == (
        "input tensor expects a numpy array (or DataFrame), got dict"
    )


# ---- named tensors -------------------------------------------------------------------------


def test_dict_of_named_arrays_is_checked_per_tensor():
    a, b = np.zeros((2, 3), dtype=F32), np.zeros((2,), dtype=np.int32)
    out = run({"b": b, "a": a}, TensorSpec(F32, (-1, 3), "a"),
              TensorSpec(np.dtype("int64"), (-1,), "b"))
    assert out["a"] is a and out["b"].dtype == np.int64


def test_missing_named_tensor_is_an_error():
    msg = fails({"a": np.zeros((1, 3), dtype=F32)}, TensorSpec(F32, (-1, 3), "a"),
                TensorSpec(F32, (-1,), "b"))
    assert msg == "input is missing tensor 'b'; got ['a']"


def test_named_tensor_error_names_the_tensor():
    msg = fails({"a": np.zeros((1, 2), dtype=F32)}, TensorSpec(F32, (-1, 3), "a"))
    assert msg == "tensor 'a' expects shape (-1, 3) (-1 = any size), got (1, 2)"


def test_extra_named_inputs_are_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        out = run({"a": np.zeros(2, dtype=F32), "zz": 1}, TensorSpec(F32, (-1,), "a"))
    assert list(out) == ["a"]
    assert "['zz']" in caplog.text


def test_single_named_tensor_takes_a_bare_array():
    arr = np.zeros((2,), dtype=F32)
    assert run(arr, TensorSpec(F32, (-1,), "a"))["a"] is arr


def test_named_tensor_list_values_become_arrays():
    out = run({"a": [1.0, 2.0]}, TensorSpec(F64, (-1,), "a"))
    assert out["a"].tolist() == [1.0, 2.0]


def test_named_tensors_reject_other_inputs():
    assert fails("text", TensorSpec(F32, (-1,), "a"), TensorSpec(F32, (-1,), "b")) == (
        "input expects a dict of arrays named ['a', 'b'], got str"
    )


def test_named_tensor_value_must_be_an_array():
    assert fails({"a": 3}, TensorSpec(F32, (-1,), "a")) == (
        "tensor 'a' expects a numpy array, got int"
    )


# ---- DataFrames sent to tensor models -----------------------------------------------------


def test_multi_column_frame_becomes_one_tensor():
    df = pd.DataFrame(np.ones((2, 3), dtype=F32))
    out = run(df, TensorSpec(F32, (-1, 3)))
    assert isinstance(out, np.ndarray) and out.shape == (2, 3)


def test_multi_column_frame_with_wrong_width_is_an_error():
    df = pd.DataFrame(np.ones((2, 3), dtype=F32))
    assert fails(df, TensorSpec(F32, (-1, 4))) == (
        "input tensor expects shape (-1, 4), got a DataFrame of 3 columns "
        "(which fits only shape (-1, 3))"
    )


def test_single_scalar_column_becomes_a_vector():
    out = run(pd.DataFrame({"x": np.ones(3, dtype=F32)}), TensorSpec(F32, (-1,)))
    assert out.shape == (3,)


def test_scalar_column_for_wide_tensor_is_an_error():
    msg = fails(pd.DataFrame({"x": np.ones(3, dtype=F32)}), TensorSpec(F32, (-1, 2)))
    assert msg == (
        "input tensor expects shape (-1, 2), got a column of scalars "
        "(which fits only shape (-1,) or (-1, 1))"
    )


def test_column_of_lists_is_reshaped_and_cast():
    df = pd.DataFrame({"x": [[1, 2, 3, 4], [5, 6, 7, 8]]})
    out = run(df, TensorSpec(F32, (-1, 2, 2)))
    assert out.shape == (2, 2, 2) and out.dtype == F32


def test_column_of_uneven_lists_is_an_error():
    df = pd.DataFrame({"x": [[1, 2], [3]]})
    assert fails(df, TensorSpec(F32, (-1, 2))) == (
        "input tensor expects shape (-1, 2): the column's values do not stack into it "
        "(are all items the same length?)"
    )


def test_column_of_arrays_keeps_strict_dtype():
    df = pd.DataFrame({"x": [np.ones(2), np.ones(2)]})
    assert "expects dtype float32, got float64" in fails(df, TensorSpec(F32, (-1, 2)))


def test_frame_for_tensor_with_inner_wildcard_is_an_error():
    df = pd.DataFrame({"x": [[1.0], [2.0]]})
    assert fails(df, TensorSpec(F32, (-1, -1))) == (
        "input tensor has shape (-1, -1): a DataFrame column can feed a tensor only when the "
        "first dimension is -1 and the others are fixed"
    )


def test_frame_columns_feed_named_tensors():
    df = pd.DataFrame({"a": np.ones(2, dtype=F32), "b": [[1.0, 2.0], [3.0, 4.0]]})
    out = run(df, TensorSpec(F32, (-1,), "a"), TensorSpec(F64, (-1, 2), "b"))
    assert out["a"].shape == (2,) and out["b"].shape == (2, 2)


def test_frame_missing_named_tensor_is_an_error():
    assert fails(pd.DataFrame({"a": [1.0]}), TensorSpec(F64, (-1,), "b")) == (
        "input is missing tensor 'b'; got columns ['a']"
    )


def test_empty_frame_is_an_error():
    assert fails(pd.DataFrame(), TensorSpec(F64, (-1,))) == (
        "input tensor: the input DataFrame is empty"
    )


def test_sparse_matrix_is_checked_by_its_data():
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csr_matrix(np.eye(3, dtype=F32))
    assert run(m, TensorSpec(F32, (-1, 3))) is m
    assert "expects shape (-1, 4)" in fails(m, TensorSpec(F32, (-1, 4)))
