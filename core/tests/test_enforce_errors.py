"""The remaining error paths of enforcement, each with its exact one-line message."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import SchemaError
from saveur.signature import ModelSignature
from saveur.types import Array, ColSpec, Map, Object, Property, Schema, TensorSpec


def fails(data, *specs) -> str:
    with pytest.raises(SchemaError) as info:
        compile_enforcer(ModelSignature(Schema(list(specs))))(data)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    ("spec", "column", "message"),
    [
        (ColSpec("double", "c"), np.array(["2024-01-01"], dtype="datetime64[ns]"),
         "column 'c' expects double, got datetime64[ns]"),
        (ColSpec("long", "c"), np.array(["2024-01-01"], dtype="datetime64[ns]"),
         "column 'c' expects long, got datetime64[ns]"),
        (ColSpec("boolean", "c"), np.array([1.0]), "column 'c' expects boolean, got float64"),
        (ColSpec("boolean", "c"), pd.array(["yes"], dtype="string"),
         "column 'c' expects boolean, got str 'yes' in row 0"),
        (ColSpec("double", "c"), pd.array([None, None], dtype="string"),
         "column 'c' expects double, got a string column with no values"),
        (ColSpec("binary", "c"), np.array([1.0]), "column 'c' expects binary, got float64"),
        (ColSpec(Array("long"), "c"), np.array([1, 2]),
         "column 'c' expects Array(long), got int64"),
        (ColSpec(Object([Property("k", "long")]), "c"), pd.Series([5], dtype=object),
         "column 'c' expects Object (a dict), got int 5 in row 0"),
        (ColSpec(Map("string"), "c"), pd.Series([[1]], dtype=object),
         "column 'c' expects Map(string) (a dict), got list [1] in row 0"),
        (ColSpec(Array("datetime"), "c"), pd.Series([["2024-01-01", "x"]], dtype=object),
         "column 'c' at [1] expects datetime, got 'x' (not an ISO 8601 string) in row 0"),
        (ColSpec(Array("boolean"), "c"), pd.Series([[True, None]], dtype=object),
         "column 'c' at [1] expects boolean, got a missing value (None) in row 0"),
        (ColSpec(Array("integer"), "c"), pd.Series([[2**40]], dtype=object),
         "column 'c' at [0] expects integer, got 1099511627776 (out of range) in row 0"),
        (ColSpec(Array("binary"), "c"), pd.Series([["s"]], dtype=object),
         "column 'c' at [0] expects binary, got str 's' in row 0"),
        (ColSpec(Array("string"), "c"), pd.Series([[1]], dtype=object),
         "column 'c' at [0] expects string, got int 1 in row 0"),
        (ColSpec(Array("double"), "c"), pd.Series([[True]], dtype=object),
         "column 'c' at [0] expects double, got bool True in row 0"),
    ],
)
def test_column_type_errors(spec, column, message):
    df = pd.DataFrame({"c": column})
    if isinstance(column, pd.Series) and column.dtype == object:
        df = pd.DataFrame({"c": column.to_numpy()}, dtype=object)
    assert fails(df, spec) == message


def test_nested_values_convert_as_json_numbers_and_dates():
    enforce = compile_enforcer(ModelSignature(Schema([
        ColSpec(Array("double"), "d"), ColSpec(Array("datetime"), "t"),
        ColSpec(Map(Array("long")), "m"),
    ])))
    df = pd.DataFrame({"d": [[1, 2.5]], "t": [["2024-01-01"]], "m": [{"k": [1]}]})
    out, _ = enforce(df)
    assert out["d"].iloc[0] == [1.0, 2.5]
    assert out["t"].iloc[0] == [pd.Timestamp("2024-01-01")]
    assert out["m"].iloc[0] == {"k": [1]}


def test_array_of_any_accepts_none_even_when_required():
    from saveur.types import AnyType

    enforce = compile_enforcer(ModelSignature(Schema([ColSpec(Array(AnyType()), "a")])))
    out, _ = enforce(pd.DataFrame({"a": [None, [1, "x"]]}))
    assert out["a"].tolist() == [None, [1, "x"]]


def test_list_rows_of_different_lengths_are_an_error():
    assert fails([[1.0, 2.0], [1.0]], ColSpec("double"), ColSpec("double")) == (
        "list input rows have different lengths: row 1 has 1 values, row 0 has 2"
    )


# ---- tensors -----------------------------------------------------------------------------------


F32 = np.dtype("float32")


def test_named_tensor_ragged_list_is_an_error():
    assert fails({"a": [[1.0], [1.0, 2.0]]}, TensorSpec(F32, (-1, 1), "a")) == (
        "tensor 'a': the nested lists are ragged"
    )


def test_named_tensor_from_empty_frame_is_an_error():
    df = pd.DataFrame({"a": pd.Series([], dtype="float32")})
    assert fails(df, TensorSpec(F32, (-1,), "a")) == (
        "tensor 'a': the input DataFrame has no rows"
    )


def test_frame_column_of_dicts_cannot_feed_a_tensor():
    df = pd.DataFrame({"a": [{"k": 1}]})
    assert fails(df, TensorSpec(F32, (-1,), "a")) == (
        "tensor 'a': a DataFrame column feeding a tensor must hold scalars, lists or arrays, "
        "got dict"
    )


def test_frame_column_of_lists_with_wrong_size_is_an_error():
    df = pd.DataFrame({"a": [[1, 2, 3, 4]]})
    assert fails(df, TensorSpec(F32, (-1, 2), "a")) == (
        "tensor 'a' expects shape (-1, 2): the column's 1 rows reshape into 2"
    )


def test_frame_column_of_float_lists_for_int_tensor_is_an_error():
    df = pd.DataFrame({"a": [[1.5, 2.0]]})
    assert fails(df, TensorSpec(np.dtype("int64"), (-1, 2), "a")) == (
        "tensor 'a' expects dtype int64, got lists of float64"
    )


# ---- params ------------------------------------------------------------------------------------


def test_params_that_are_not_a_dict_are_dropped_without_a_params_schema(caplog):
    enforce = compile_enforcer(ModelSignature(Schema([ColSpec("double", "a")])))
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        _, params = enforce(pd.DataFrame({"a": [1.0]}), ["x"])
    assert params == {}
    assert "ignoring params 'list'" in caplog.text


def test_text_with_an_unpaired_surrogate_is_never_a_raw_unicode_error():
    # pandas 3's string dtype cannot store it (a SchemaError); pandas 2 keeps it as an object.
    import numpy as np

    from saveur.enforce import compile_enforcer
    from saveur.errors import SchemaError
    from saveur.signature import ModelSignature
    from saveur.types import ColSpec, Schema

    enforce = compile_enforcer(ModelSignature(Schema([ColSpec("string", "text")])))
    try:
        data, _ = enforce(np.array(["\ud800"]))
    except SchemaError as exc:
        assert "not valid Unicode" in str(exc)
    else:
        assert data["text"].tolist() == ["\ud800"]


def test_compile_params_checks_params_alone():
    from saveur.enforce import compile_params
    from saveur.types import ParamSchema, ParamSpec

    enforce_params = compile_params(ParamSchema([ParamSpec("k", "long", 3)]))
    assert enforce_params(None) == {"k": 3}
    assert enforce_params({"k": 5}) == {"k": 5}
    with pytest.raises(SchemaError, match="params must be a dict"):
        enforce_params([1])
    assert compile_params(None)(None) is None
