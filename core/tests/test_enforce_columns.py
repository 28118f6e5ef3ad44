"""Column-based signature enforcement: matching, conversions, missing values, errors."""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pandas as pd
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import SaveurError, SchemaError
from saveur.signature import ModelSignature
from saveur.types import Array, ColSpec, Map, Object, Property, Schema

# ---- helpers -----------------------------------------------------------------------------


def enforcer(*specs):
    return compile_enforcer(ModelSignature(Schema(list(specs))))


def run(data, *specs):
    out, _ = enforcer(*specs)(data)
    return out


def fails(data, *specs) -> str:
    with pytest.raises(SchemaError) as info:
        enforcer(*specs)(data)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---- matching by name ----------------------------------------------------------------------


def test_fitting_frame_is_returned_unchanged():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    enforce = enforcer(ColSpec("double", "a"), ColSpec("long", "b"))
    assert enforce(df)[0] is df
    assert enforce(df)[0] is df  # second call takes the cached-columns path


def test_columns_are_reordered_to_the_schema():
    df = pd.DataFrame({"b": [3, 4], "a": [1.0, 2.0]})
    out = run(df, ColSpec("double", "a"), ColSpec("long", "b"))
    assert list(out.columns) == ["a", "b"]
    assert out["a"].tolist() == [1.0, 2.0]


def test_index_is_preserved():
    df = pd.DataFrame({"b": [3, 4], "a": [1.0, 2.0]}, index=[10, 20])
    out = run(df, ColSpec("double", "a"), ColSpec("long", "b"))
    assert out.index.tolist() == [10, 20]


def test_missing_required_column_names_it():
    msg = fails(pd.DataFrame({"a": [1.0]}), ColSpec("double", "a"), ColSpec("long", "b"))
    assert msg == "input is missing required column 'b'; got columns ['a']"


def test_several_missing_columns_are_listed():
    msg = fails(pd.DataFrame({"z": [1.0]}), ColSpec("double", "a"), ColSpec("long", "b"))
    assert "missing required columns ['a', 'b']" in msg


def test_missing_optional_column_is_filled_with_nulls():
    out = run(
        pd.DataFrame({"a": [1.0, 2.0]}),
        ColSpec("double", "a"),
        ColSpec("long", "n", required=False),
        ColSpec("double", "d", required=False),
        ColSpec("boolean", "f", required=False),
        ColSpec("string", "s", required=False),
        ColSpec("datetime", "t", required=False),
    )
    assert list(out.columns) == ["a", "n", "d", "f", "s", "t"]
    assert out["n"].dtype == pd.Int64Dtype() and out["n"].isna().all()
    assert out["d"].dtype == np.float64 and out["d"].isna().all()
    assert out["f"].dtype == pd.BooleanDtype() and out["f"].isna().all()
    assert out["s"].isna().all()
    assert out["t"].dtype == np.dtype("datetime64[ns]") and out["t"].isna().all()


def test_extra_columns_are_dropped_with_one_warning(caplog):
    df = pd.DataFrame({"a": [1.0], "x": [1], "y": [2]})
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        out = run(df, ColSpec("double", "a"))
    assert list(out.columns) == ["a"]
    warnings = [r for r in caplog.records if r.name == "saveur.enforce"]
    assert len(warnings) == 1
    assert "['x', 'y']" in warnings[0].getMessage()


def test_each_call_warns_once(caplog):
    enforce = enforcer(ColSpec("double", "a"))
    df = pd.DataFrame({"a": [1.0], "x": [1]})
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        enforce(df)
        enforce(df)
    assert len([r for r in caplog.records if r.name == "saveur.enforce"]) == 2


@pytest.mark.parametrize("name", ["0", "", "False", "None", "1.0"])
def test_tricky_column_names_are_matched_by_name(name):
    df = pd.DataFrame({name: [1.5], "other": [2.5]})
    out = run(df, ColSpec("double", "other"), ColSpec("double", name))
    assert list(out.columns) == ["other", name]
    assert out[name].tolist() == [1.5]


def test_string_name_zero_is_not_position_zero():
    df = pd.DataFrame(np.array([[1.0, 2.0]]))  # columns are the integers 0 and 1
    msg = fails(df, ColSpec("double", "0"), ColSpec("double", "1"))
    assert "missing required columns ['0', '1']" in msg


def test_false_name_is_not_the_boolean():
    df = pd.DataFrame({False: [1.0]})
    msg = fails(df, ColSpec("double", "False"))
    assert "missing required column 'False'" in msg


def test_empty_name_column_is_kept():
    out = run(pd.DataFrame({"": [1.0]}), ColSpec("double", ""))
    assert list(out.columns) == [""]


def test_duplicate_input_column_is_an_error():
    df = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    assert fails(df, ColSpec("double", "a")) == (
        "column 'a' appears 2 times in the input: send each column once"
    )


# ---- unnamed (positional) column schemas ---------------------------------------------------


def test_unnamed_columns_match_by_position_and_keep_labels():
    df = pd.DataFrame({"p": [1.0], "q": [2]})
    out = run(df, ColSpec("double"), ColSpec("long"))
    assert list(out.columns) == ["p", "q"]


def test_unnamed_columns_too_few_is_an_error():
    msg = fails(pd.DataFrame({"p": [1.0]}), ColSpec("double"), ColSpec("long"))
    assert msg == (
        "input has 1 columns but the model signature declares 2 unnamed columns "
        "(they are matched by position)"
    )


def test_unnamed_columns_extra_are_dropped(caplog):
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        out = run(pd.DataFrame({"p": [1.0], "q": [2.0]}), ColSpec("double"))
    assert list(out.columns) == ["p"]
    assert "['q']" in caplog.text


def test_unnamed_column_error_names_position():
    msg = fails(pd.DataFrame({"p": ["x"]}), ColSpec("double"))
    assert msg.startswith("column 0 (unnamed) expects double, got str 'x' in row 0")


# ---- numeric conversions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "spec", "result"),
    [
        ("int8", "long", "int64"),
        ("int16", "long", "int64"),
        ("int32", "long", "int64"),
        ("uint32", "long", "int64"),
        ("int8", "integer", "int32"),
        ("uint16", "integer", "int32"),
        ("float32", "double", "float64"),
        ("float16", "float", "float32"),
        ("int32", "double", "float64"),
        ("uint8", "double", "float64"),
        ("int16", "float", "float32"),
    ],
)
def test_safe_upcasts_convert(dtype, spec, result):
    out = run(pd.DataFrame({"c": np.array([1, 0], dtype=dtype)}), ColSpec(spec, "c"))
    assert out["c"].dtype == np.dtype(result)
    assert out["c"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("dtype", "spec", "got"),
    [
        ("int64", "integer", "int64"),
        ("uint64", "long", "uint64"),
        ("uint32", "integer", "uint32"),
        ("int32", "float", "int32"),
        ("bool", "long", "bool"),
        ("bool", "double", "bool"),
    ],
)
def test_unsafe_integer_casts_are_errors(dtype, spec, got):
    msg = fails(pd.DataFrame({"c": np.array([2, 3], dtype=dtype)}), ColSpec(spec, "c"))
    assert msg == f"column 'c' expects {spec}, got {got}"


def test_double_to_float_is_an_error():
    msg = fails(pd.DataFrame({"c": [0.1]}), ColSpec("float", "c"))
    assert msg == "column 'c' expects float, got float64 (converting would lose precision)"


def test_float_to_long_is_an_error():
    msg = fails(pd.DataFrame({"c": [0.5]}), ColSpec("long", "c"))
    assert msg == "column 'c' expects long, got float64 (floats are not converted to integers)"


def test_int64_to_float32_is_an_error_naming_the_row():
    msg = fails(pd.DataFrame({"c": [0, 1, 7]}), ColSpec("float", "c"))
    assert msg.startswith("column 'c' expects float, got int64 value 7")
    assert msg.endswith("in row 2")


def test_int64_of_zeros_and_ones_converts_to_double_as_mlflow():
    out = run(pd.DataFrame({"c": [0, 1, 1]}), ColSpec("double", "c"))
    assert out["c"].dtype == np.float64


def test_nan_is_valid_in_a_required_double_column():
    df = pd.DataFrame({"c": [1.0, np.nan]})
    assert run(df, ColSpec("double", "c")) is df


def test_nan_is_valid_in_a_required_float_column():
    df = pd.DataFrame({"c": np.array([np.nan], dtype=np.float32)})
    assert run(df, ColSpec("float", "c")) is df


def test_string_in_double_column_names_the_first_row():
    df = pd.DataFrame({"c": [1.0, 2.0, "abc", "zz"]}, dtype=object)
    assert fails(df, ColSpec("double", "c")) == "column 'c' expects double, got str 'abc' in row 2"


def test_pandas_string_dtype_in_numeric_column_names_the_row():
    df = pd.DataFrame({"c": pd.array([None, "7"], dtype="string")})
    assert fails(df, ColSpec("long", "c")) == "column 'c' expects long, got str '7' in row 1"


def test_object_numbers_convert_to_double():
    df = pd.DataFrame({"c": [1.5, None, 2]}, dtype=object)
    out = run(df, ColSpec("double", "c"))
    assert out["c"].dtype == np.float64
    assert out["c"].isna().tolist() == [False, True, False]


def test_decimal_values_convert_to_double():
    import decimal

    df = pd.DataFrame({"c": [decimal.Decimal("1.5"), "x"]}, dtype=object)
    assert "got str 'x' in row 1" in fails(df, ColSpec("double", "c"))
    df = pd.DataFrame({"c": [decimal.Decimal("1.5"), 2.0]}, dtype=object)
    assert run(df, ColSpec("double", "c"))["c"].tolist() == [1.5, 2.0]


def test_object_ints_convert_to_long():
    df = pd.DataFrame({"c": [1, 2]}, dtype=object)
    assert run(df, ColSpec("long", "c"))["c"].dtype == np.int64


def test_object_ints_out_of_int32_range_name_the_row():
    df = pd.DataFrame({"c": [1, 2**40, "x"]}, dtype=object)
    assert "got str 'x' in row 2" in fails(df, ColSpec("integer", "c"))
    df = pd.DataFrame({"c": [1, None, 2**40]}, dtype=object)
    assert fails(df, ColSpec("integer", "c")) == (
        "column 'c' expects integer, got 1099511627776 (out of range) in row 2"
    )


# ---- missing values --------------------------------------------------------------------------


def test_missing_value_in_required_long_names_column_and_row():
    df = pd.DataFrame({"c": [1, None, 3]})  # pandas makes this float64 with NaN
    assert fails(df, ColSpec("long", "c")) == (
        "column 'c' expects long, got a missing value (nan) in row 1"
    )


def test_infinity_with_missing_values_is_not_an_integer():
    df = pd.DataFrame({"c": [np.inf, np.nan]})
    assert fails(df, ColSpec("long", "c", required=False)) == (
        "column 'c' expects long, got float64 (floats are not converted to integers)"
    )


def test_missing_value_in_optional_long_becomes_nullable():
    out = run(pd.DataFrame({"c": [1, None, 3]}), ColSpec("long", "c", required=False))
    assert out["c"].dtype == pd.Int64Dtype()
    assert out["c"].isna().tolist() == [False, True, False]


def test_missing_value_in_optional_integer_becomes_nullable_int32():
    out = run(pd.DataFrame({"c": [1, None]}, dtype=object), ColSpec("integer", "c", required=False))
    assert out["c"].dtype == pd.Int32Dtype()


def test_nullable_int_without_nulls_becomes_numpy_for_required():
    out = run(pd.DataFrame({"c": pd.array([1, 2], dtype="Int32")}), ColSpec("long", "c"))
    assert out["c"].dtype == np.int64


def test_nullable_int_with_null_in_required_column_is_an_error():
    df = pd.DataFrame({"c": pd.array([1, None], dtype="Int64")})
    assert fails(df, ColSpec("long", "c")) == (
        "column 'c' expects long, got a missing value (<NA>) in row 1"
    )


def test_nullable_int_with_null_fits_an_optional_column():
    df = pd.DataFrame({"c": pd.array([1, None], dtype="Int64")})
    assert run(df, ColSpec("long", "c", required=False)) is df


def test_nullable_int_to_double_maps_na_to_nan():
    df = pd.DataFrame({"c": pd.array([1, None], dtype="Int32")})
    out = run(df, ColSpec("double", "c"))
    assert out["c"].dtype == np.float64 and np.isnan(out["c"].iloc[1])


def test_missing_value_in_required_boolean_is_an_error():
    df = pd.DataFrame({"c": [True, None]})
    assert fails(df, ColSpec("boolean", "c")) == (
        "column 'c' expects boolean, got a missing value (None) in row 1"
    )


def test_missing_value_in_optional_boolean_becomes_nullable():
    out = run(pd.DataFrame({"c": [True, None]}), ColSpec("boolean", "c", required=False))
    assert out["c"].dtype == pd.BooleanDtype()


def test_object_bools_become_numpy_bool():
    out = run(pd.DataFrame({"c": [True, False]}, dtype=object), ColSpec("boolean", "c"))
    assert out["c"].dtype == np.bool_


def test_int_in_boolean_column_is_an_error():
    df = pd.DataFrame({"c": [True, 1]}, dtype=object)
    assert fails(df, ColSpec("boolean", "c")) == "column 'c' expects boolean, got int 1 in row 1"


def test_boolean_nullable_dtype_without_nulls_becomes_bool():
    df = pd.DataFrame({"c": pd.array([True, False], dtype="boolean")})
    assert run(df, ColSpec("boolean", "c"))["c"].dtype == np.bool_


def test_missing_value_in_required_string_is_an_error():
    df = pd.DataFrame({"c": ["a", None]}, dtype=object)
    assert fails(df, ColSpec("string", "c")) == (
        "column 'c' expects string, got a missing value (None) in row 1"
    )


def test_missing_value_in_required_pandas_string_is_an_error():
    df = pd.DataFrame({"c": pd.array(["a", None], dtype="string")})
    assert "got a missing value (<NA>) in row 1" in fails(df, ColSpec("string", "c"))


def test_missing_value_in_optional_string_passes():
    df = pd.DataFrame({"c": ["a", None]}, dtype=object)
    assert run(df, ColSpec("string", "c", required=False))["c"].tolist() == ["a", None]


def test_missing_value_in_required_datetime_is_an_error():
    df = pd.DataFrame({"c": pd.to_datetime(["2024-01-01", None])})
    assert fails(df, ColSpec("datetime", "c")) == (
        "column 'c' expects datetime, got a missing value (NaT) in row 1"
    )


def test_missing_value_in_optional_datetime_passes():
    df = pd.DataFrame({"c": pd.to_datetime(["2024-01-01", None])})
    assert run(df, ColSpec("datetime", "c", required=False)) is df


def test_missing_value_in_required_binary_is_an_error():
    df = pd.DataFrame({"c": [b"a", None]})
    assert "expects binary, got a missing value (None) in row 1" in fails(
        df, ColSpec("binary", "c")
    )


# ---- strings, binary, categoricals ------------------------------------------------------


def test_str_values_fit_a_string_column():
    df = pd.DataFrame({"c": ["a", "b"]})
    out = run(df, ColSpec("string", "c"))
    assert out["c"].tolist() == ["a", "b"]


def test_object_str_column_is_not_copied():
    df = pd.DataFrame({"c": np.array(["a", "b"], dtype=object)}, dtype=object)
    assert run(df, ColSpec("string", "c")) is df


def test_non_str_value_in_string_column_names_the_row():
    df = pd.DataFrame({"c": ["a", 5]}, dtype=object)
    assert fails(df, ColSpec("string", "c")) == "column 'c' expects string, got int 5 in row 1"


def test_numeric_column_for_string_is_an_error():
    assert fails(pd.DataFrame({"c": [1.0]}), ColSpec("string", "c")) == (
        "column 'c' expects string, got float64"
    )


def test_categorical_of_strings_fits_a_string_column():
    df = pd.DataFrame({"c": pd.Categorical(["a", "b"])})
    out = run(df, ColSpec("string", "c"))
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)


def test_categorical_of_numbers_is_not_a_string():
    df = pd.DataFrame({"c": pd.Categorical([1, 2])})
    assert fails(df, ColSpec("string", "c")) == "column 'c' expects string, got category"


def test_arrow_strings_fit_a_string_column():
    pa = pytest.importorskip("pyarrow")
    df = pd.DataFrame({"c": pd.array(["a", None], dtype=pd.ArrowDtype(pa.string()))})
    assert run(df, ColSpec("string", "c", required=False)) is df
    assert "got a missing value" in fails(df, ColSpec("string", "c"))


def test_arrow_doubles_convert_to_numpy():
    pa = pytest.importorskip("pyarrow")
    df = pd.DataFrame({"c": pd.array([1.5, None], dtype=pd.ArrowDtype(pa.float64()))})
    out = run(df, ColSpec("double", "c"))
    assert out["c"].dtype == np.float64 and np.isnan(out["c"].iloc[1])


def test_bytes_fit_a_binary_column():
    df = pd.DataFrame({"c": [b"a", bytearray(b"b")]})
    assert run(df, ColSpec("binary", "c"))["c"].tolist() == [b"a", bytearray(b"b")]


def test_str_in_binary_column_is_an_error():
    df = pd.DataFrame({"c": [b"a", "b"]}, dtype=object)
    assert fails(df, ColSpec("binary", "c")) == "column 'c' expects binary, got str 'b' in row 1"


def test_long_values_are_cut_in_messages():
    df = pd.DataFrame({"c": ["x" * 10_000]}, dtype=object)
    msg = fails(df, ColSpec("double", "c"))
    assert len(msg) < 120 and msg.endswith("... in row 0")


# ---- datetimes -------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_any_datetime_resolution_fits(unit):
    df = pd.DataFrame({"t": np.array(["2024-01-01"], dtype=f"datetime64[{unit}]")})
    out = run(df, ColSpec("datetime", "t"))
    assert out["t"].dtype == np.dtype(f"datetime64[{unit}]")


def test_iso_strings_become_datetimes():
    df = pd.DataFrame({"t": ["2024-01-01", "2024-02-03T04:05:06.789"]})
    out = run(df, ColSpec("datetime", "t"))
    assert out["t"].dtype == np.dtype("datetime64[ns]")
    assert out["t"].iloc[1] == pd.Timestamp("2024-02-03T04:05:06.789")


def test_date_and_datetime_objects_become_datetimes():
    df = pd.DataFrame(
        {"t": [datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 2, 3)]}, dtype=object
    )
    out = run(df, ColSpec("datetime", "t"))
    assert out["t"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 03:00")]


def test_bad_datetime_string_names_the_row():
    df = pd.DataFrame({"t": ["2024-01-01", "soon"]})
    assert fails(df, ColSpec("datetime", "t")) == (
        "column 't' expects datetime, got 'soon' (not an ISO 8601 string) in row 1"
    )


def test_int_in_datetime_column_is_an_error():
    df = pd.DataFrame({"t": [5]}, dtype=object)
    assert fails(df, ColSpec("datetime", "t")) == (
        "column 't' expects datetime, got int 5 in row 0"
    )


def test_timezone_aware_strings_are_an_error():
    df = pd.DataFrame({"t": ["2024-01-01T00:00:00+02:00"]})
    assert fails(df, ColSpec("datetime", "t")) == (
        "column 't' expects a timezone-naive datetime, got '2024-01-01T00:00:00+02:00' in row 0"
    )


def test_timezone_aware_column_is_an_error():
    df = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")})
    assert fails(df, ColSpec("datetime", "t")) == (
        f"column 't' expects a timezone-naive datetime, got {df['t'].dtype}: "
        "convert with .dt.tz_convert(None)"
    )


def test_numeric_column_for_datetime_is_an_error():
    assert fails(pd.DataFrame({"t": [1.0]}), ColSpec("datetime", "t")) == (
        "column 't' expects datetime, got float64"
    )


# ---- nested types ----------------------------------------------------------------------------


def test_array_column_converts_items():
    df = pd.DataFrame({"a": [[1, 2], [3]]})
    out = run(df, ColSpec(Array("double"), "a"))
    assert out["a"].tolist() == [[1.0, 2.0], [3.0]]


def test_array_item_error_names_path_and_row():
    df = pd.DataFrame({"a": [[1], [2, "x"]]})
    assert fails(df, ColSpec(Array("long"), "a")) == (
        "column 'a' at [1] expects long, got str 'x' in row 1"
    )


def test_array_column_rejects_scalars():
    df = pd.DataFrame({"a": [[1], 5]})
    assert fails(df, ColSpec(Array("long"), "a")) == (
        "column 'a' expects Array(long) (a list), got int 5 in row 1"
    )


def test_optional_array_accepts_none():
    df = pd.DataFrame({"a": [[1], None]})
    assert run(df, ColSpec(Array("long"), "a", required=False))["a"].tolist() == [[1], None]


def test_object_column_checks_properties():
    obj = Object([Property("x", "long"), Property("y", "string", required=False)])
    df = pd.DataFrame({"o": [{"x": 1}, {"x": 2, "y": "b"}]})
    assert run(df, ColSpec(obj, "o"))["o"].tolist() == [{"x": 1}, {"x": 2, "y": "b"}]
    bad = pd.DataFrame({"o": [{"x": 1}, {"y": "b"}]})
    assert fails(bad, ColSpec(obj, "o")) == (
        "column 'o' is missing required properties ['x'] in row 1"
    )
    extra = pd.DataFrame({"o": [{"x": 1, "z": 0}]})
    assert fails(extra, ColSpec(obj, "o")) == (
        "column 'o' has properties not in the schema: ['z'] in row 0"
    )
    wrong = pd.DataFrame({"o": [{"x": "one"}]})
    assert fails(wrong, ColSpec(obj, "o")) == (
        "column 'o' at ['x'] expects long, got str 'one' in row 0"
    )


def test_enforcement_does_not_mutate_caller_values():
    value = {"x": 1}
    df = pd.DataFrame({"o": [value]})
    run(df, ColSpec(Object([Property("x", "double")]), "o"))
    assert value == {"x": 1} and isinstance(value["x"], int)


def test_map_column_checks_values_and_keys():
    df = pd.DataFrame({"m": [{"a": 1}, {"b": "x"}]})
    assert fails(df, ColSpec(Map("long"), "m")) == (
        "column 'm' at ['b'] expects long, got str 'x' in row 1"
    )
    df = pd.DataFrame({"m": [{1: 1}]})
    assert fails(df, ColSpec(Map("long"), "m")) == (
        "column 'm' expects string keys, got key 1 in row 0"
    )


def test_any_column_takes_anything():
    from saveur.types import AnyType

    df = pd.DataFrame({"x": [1, "a", None, [1]]}, dtype=object)
    assert run(df, ColSpec(AnyType(), "x")) is df


# ---- input forms -----------------------------------------------------------------------------


def test_dict_of_lists_is_columns():
    out = run({"b": [1, 2], "a": [0.5, 1.5]}, ColSpec("double", "a"), ColSpec("long", "b"))
    assert out.shape == (2, 2) and list(out.columns) == ["a", "b"]


def test_dict_of_arrays_is_columns():
    out = run({"a": np.array([0.5, 1.5])}, ColSpec("double", "a"))
    assert out["a"].tolist() == [0.5, 1.5]


def test_single_dict_of_scalars_is_one_row():
    out = run({"a": 0.5, "b": 3}, ColSpec("double", "a"), ColSpec("long", "b"))
    assert out.shape == (1, 2)


def test_dict_with_array_typed_column_is_one_row():
    out = run({"a": [1, 2]}, ColSpec(Array("long"), "a"))
    assert out["a"].tolist() == [[1, 2]]


def test_list_of_dicts_is_records():
    out = run([{"a": 0.5}, {"a": 1.5, "b": 2}], ColSpec("double", "a"),
              ColSpec("long", "b", required=False))
    assert out["a"].tolist() == [0.5, 1.5]
    assert out["b"].isna().tolist() == [True, False]


def test_list_of_scalars_fills_a_single_column():
    out = run(["x", "y"], ColSpec("string", "text"))
    assert out["text"].tolist() == ["x", "y"]


def test_series_fills_a_single_column():
    out = run(pd.Series([1.0, 2.0]), ColSpec("double", "a"))
    assert out["a"].tolist() == [1.0, 2.0]


def test_scalar_fills_a_single_column():
    out = run(2.5, ColSpec("double", "a"))
    assert out["a"].tolist() == [2.5]


def test_zero_dimensional_array_is_a_scalar():
    assert run(np.array(2.5), ColSpec("double", "a"))["a"].tolist() == [2.5]


def test_ndarray_for_unnamed_columns():
    out = run(np.array([[1.0, 2.0]]), ColSpec("double"), ColSpec("double"))
    assert out.shape == (1, 2)


def test_ndarray_for_named_columns_is_an_error():
    msg = fails(np.array([[1.0, 2.0]]), ColSpec("double", "a"), ColSpec("double", "b"))
    assert msg == "input is missing required columns ['a', 'b']; got columns [0, 1]"


def test_3d_array_for_columns_is_an_error():
    assert fails(np.zeros((1, 2, 2)), ColSpec("double", "a")) == (
        "a column-based model takes a table, got an array of shape (1, 2, 2)"
    )


def test_unsupported_input_type_is_an_error():
    assert fails(object(), ColSpec("double", "a")) == (
        "a column-based model takes a DataFrame, a dict of columns, a list of records or an "
        "array, got object"
    )


def test_dict_of_unequal_columns_is_an_error():
    msg = fails({"a": [1.0, 2.0], "b": [1.0]}, ColSpec("double", "a"), ColSpec("double", "b"))
    assert msg.startswith("dict input is not a table of columns:")


def test_schema_error_is_a_saveur_error():
    assert issubclass(SchemaError, SaveurError)


def test_no_signature_passes_everything_through():
    enforce = compile_enforcer(None)
    data, params = object(), {"p": 1}
    assert enforce(data, params) == (data, params)


def test_large_frame_that_fits_is_not_copied():
    df = pd.DataFrame(np.random.default_rng(0).random((100_000, 3)), columns=["a", "b", "c"])
    out = run(df, ColSpec("double", "a"), ColSpec("double", "b"), ColSpec("double", "c"))
    assert out is df


def test_pandas_string_dtype_fits_an_optional_string_column():
    df = pd.DataFrame({"s": pd.array(["a", None], dtype="string"), "x": [1.0, 2.0]})
    out = run(df, ColSpec("string", "s", required=False), ColSpec("double", "x"))
    assert out is df
