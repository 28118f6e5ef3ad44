"""Parsing of MLflow scoring payloads, predictions encoding and error bodies."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pandas as pd
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import ProtocolError, UnsupportedContentTypeError
from saveur.protocol import (
    ParsedRequest,
    error_body,
    parse_error_body,
    parse_request,
    predictions_to_json,
)
from saveur.signature import ModelSignature
from saveur.types import Array, ColSpec, Schema, TensorSpec

JSON = "application/json"

COLUMNS = ModelSignature(
    Schema([
        ColSpec("double", "x"),
        ColSpec("long", "n", required=False),
        ColSpec("string", "s"),
    ])
)
TENSOR = ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 2))]))
NAMED_TENSORS = ModelSignature(Schema([
    TensorSpec(np.dtype("float32"), (-1, 2), "a"),
    TensorSpec(np.dtype("int64"), (-1,), "b"),
]))


def parse(payload, signature=None, content_type=JSON):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_request(body, content_type, signature)


def protocol_error(payload, signature=None, content_type=JSON, *, field=None):
    with pytest.raises(ProtocolError) as info:
        parse(payload, signature, content_type)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    if field is not None:
        assert info.value.field == field
    return message


# ---- content types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
     'application/json; charset="utf-8"'],
)
def test_json_content_types_are_accepted(content_type):
    result = parse({"inputs": [1, 2]}, None, content_type)
    assert isinstance(result, ParsedRequest)
    assert result.data.tolist() == [1, 2] and result.params is None


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("text/plain", "unsupported content type 'text/plain': send one of ['application/json', "
                       "'text/csv', 'application/vnd.apache.parquet']"),
        ("application/json; charset=latin-1",
         "unsupported charset 'latin-1': the scoring protocol is UTF-8 only"),
        ("application/json; format=pandas-split",
         "unrecognized content type parameter 'format': only charset is accepted"),
        (None, "missing Content-Type: send one of ['application/json', 'text/csv', "
               "'application/vnd.apache.parquet']"),
        ("", "missing Content-Type: send one of ['application/json', 'text/csv', "
             "'application/vnd.apache.parquet']"),
    ],
)
def test_unsupported_content_types(content_type, message):
    with pytest.raises(UnsupportedContentTypeError) as info:
        parse_request(b"{}", content_type)
    assert str(info.value) == message
    assert info.value.field == "content-type"


def test_body_may_be_text_or_a_bytearray():
    assert parse_request('{"inputs": [1]}', JSON).data.tolist() == [1]
    assert parse_request(bytearray(b'{"inputs": [1]}'), JSON).data.tolist() == [1]


def test_unsupported_content_type_is_a_protocol_error():
    assert issubclass(UnsupportedContentTypeError, ProtocolError)


# ---- JSON envelope ---------------------------------------------------------------------------


def test_non_utf8_body_is_an_error():
    assert protocol_error(b'{"inputs": "\xff"}', field="body") == (
        "request body is not valid UTF-8 (byte 0xff at position 12)"
    )


def test_malformed_json_is_an_error_without_echoing_the_body():
    secret = "x" * 500
    message = protocol_error(('{"inputs": ["' + secret).encode(), field="body")
    assert message.startswith("request body is not valid JSON:") and secret not in message


def test_top_level_list_is_an_error():
    assert protocol_error([1, 2], field="body") == (
        "request body must be a JSON object with exactly one of ['dataframe_split', "
        "'dataframe_records', 'instances', 'inputs'], got a list"
    )


def test_no_payload_key_is_an_error():
    assert protocol_error({"data": [1]}, field="body") == (
        "request body must hold exactly one of ['dataframe_split', 'dataframe_records', "
        "'instances', 'inputs'], got keys ['data']"
    )


def test_several_payload_keys_are_an_error():
    assert protocol_error({"inputs": [1], "instances": [1]}, field="body") == (
        "request body must hold exactly one of ['dataframe_split', 'dataframe_records', "
        "'instances', 'inputs'], got both ['instances', 'inputs']"
    )


def test_params_are_returned():
    assert parse({"inputs": [1], "params": {"k": 2}}).params == {"k": 2}


def test_null_params_mean_none():
    assert parse({"inputs": [1], "params": None}).params is None


def test_params_must_be_an_object():
    assert protocol_error({"inputs": [1], "params": [1]}, field="params") == (
        "'params' must be a JSON object, got a list"
    )


def test_unknown_extra_keys_are_ignored_as_mlflow_does():
    assert parse({"inputs": [1], "signature_name": "x"}).data.tolist() == [1]


def test_nan_and_infinity_tokens_are_accepted():
    result = parse(b'{"inputs": [NaN, Infinity, -Infinity, 1]}')
    assert np.isnan(result.data[0]) and np.isinf(result.data[1])


# ---- dataframe_split -------------------------------------------------------------------------


def test_split_is_typed_by_the_signature():
    df = parse(
        {"dataframe_split": {"columns": ["x", "n", "s"], "data": [[1, 2, "a"], [2.5, None, "b"]]}},
        COLUMNS,
    ).data
    assert df["x"].dtype == np.float64 and df["x"].tolist() == [1.0, 2.5]
    assert df["n"].dtype == pd.Int64Dtype() and df["n"].isna().tolist() == [False, True]
    assert df["s"].tolist() == ["a", "b"]


def test_split_index_is_kept():
    df = parse({"dataframe_split": {"columns": ["x"], "data": [[1.0]], "index": [7]}}).data
    assert df.index.tolist() == [7]


def test_split_without_schema_is_a_plain_frame():
    df = parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"]]}}).data
    assert df.to_dict("records") == [{"a": 1, "b": "x"}]


def test_split_without_columns_uses_positions():
    df = parse({"dataframe_split": {"data": [[1.0, 2.0]]}}).data
    assert list(df.columns) == [0, 1]


def test_split_unnamed_schema_is_typed_by_position():
    signature = ModelSignature(Schema([ColSpec("double"), ColSpec("double")]))
    df = parse({"dataframe_split": {"data": [[1, 2]]}}, signature).data
    assert df.dtypes.tolist() == [np.float64, np.float64]


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ([1], "'dataframe_split' must be an object with 'columns' and 'data', got a list"),
        ({"columns": ["a"]}, "'dataframe_split' must have a 'data' field and optionally "
                             "'columns' and 'index', got keys ['columns']"),
        ({"data": [], "extra": 1}, "'dataframe_split' must have a 'data' field and optionally "
                                   "'columns' and 'index', got keys ['data', 'extra']"),
        ({"data": 5}, "'dataframe_split.data' must be a list of rows, got a number"),
        ({"data": [], "columns": "a"}, "'dataframe_split.columns' must be a list of names, "
                                       "got a string"),
        ({"data": [[1]], "index": [1, 2]}, "'dataframe_split.index' has 2 labels for 1 rows; "
                                           "send one label per row"),
        ({"data": [[1]], "index": [[1, 2]]}, "'dataframe_split.index' item 0 must be a row label "
                                             "(a string, a number, a boolean or null), got a list"),
        ({"data": [[1]], "index": [[[1]]]}, "'dataframe_split.index' item 0 must be a row label "
                                            "(a string, a number, a boolean or null), got a list"),
        ({"data": [[1]], "index": [{"a": 1}]}, "'dataframe_split.index' item 0 must be a row "
                                               "label (a string, a number, a boolean or null), "
                                               "got an object"),
        ({"data": [[1]], "index": {"0": 1}}, "'dataframe_split.index' must be a list of row "
                                             "labels, got an object"),
        ({"data": [[1]], "index": "0"}, "'dataframe_split.index' must be a list of row labels, "
                                        "got a string"),
        ({"data": [[1]], "index": list(range(100_000))}, "'dataframe_split.index' has 100000 "
                                                         "labels for 1 rows; send one label per "
                                                         "row"),
        ({"data": [1, 2], "columns": ["a"]}, "'dataframe_split.data' row 0 must be a list of "
                                             "values (one per column), got a number"),
        ({"data": [{"a": 1}]}, "'dataframe_split.data' row 0 must be a list of values (one per "
                               "column), got an object"),
        ({"data": [[1, 2], [3]], "columns": ["a", "b"]},
         "'dataframe_split.data' row 1 has 1 values, expected 2 (one per column)"),
        ({"data": [[1, 2], [3]]},
         "'dataframe_split.data' row 1 has 1 values, expected 2 (one per column)"),
        ({"data": [[1], [3, 4]]},
         "'dataframe_split.data' row 0 has 1 values, expected 2 (one per column)"),
    ],
)
def test_split_shape_errors(split, message):
    assert protocol_error({"dataframe_split": split}, field="dataframe_split") == message


def test_split_index_of_scalar_labels_is_the_frame_index():
    df = parse({"dataframe_split": {"columns": ["a"], "data": [[1], [2]], "index": ["x", 7]}}).data
    assert df.index.tolist() == ["x", 7]


def test_split_bad_number_names_column_and_row():
    assert protocol_error(
        {"dataframe_split": {"columns": ["x", "s"], "data": [[1, "a"], ["abc", "b"]]}},
        COLUMNS, field="dataframe_split",
    ) == "column 'x' expects double, got 'abc' in row 1"


def test_numeric_strings_convert_as_mlflow_astype_does():
    df = parse({"dataframe_records": [{"x": "1.5", "s": "a"}]}, COLUMNS).data
    assert df["x"].tolist() == [1.5]


# ---- dataframe_records -------------------------------------------------------------------------


def test_records_missing_keys_become_nulls():
    df = parse({"dataframe_records": [{"x": 1, "s": "a"}, {"x": 2, "s": "b", "n": 3}]},
               COLUMNS).data
    assert df["n"].isna().tolist() == [True, False]


def test_records_must_be_a_list():
    assert protocol_error({"dataframe_records": {"x": 1}}, field="dataframe_records") == (
        "'dataframe_records' must be a list of records (objects), got an object"
    )


def test_record_must_be_an_object():
    assert protocol_error({"dataframe_records": [{"x": 1}, 5]}, field="dataframe_records") == (
        "'dataframe_records' item 1 must be an object (a record), got a number"
    )


def test_records_without_schema_keep_their_values():
    df = parse({"dataframe_records": [{"a": 1, "b": "x"}]}).data
    assert df.to_dict("records") == [{"a": 1, "b": "x"}]


# ---- typing JSON columns -----------------------------------------------------------------------


def test_long_column_rejects_fractions():
    assert protocol_error({"dataframe_records": [{"n": 2.5}]}, COLUMNS) == (
        "column 'n' expects long, got 2.5 in row 0 (not an integer)"
    )


def test_long_column_accepts_integral_floats_and_strings():
    df = parse({"dataframe_records": [{"n": 2.0}, {"n": "3"}]}, COLUMNS).data
    assert df["n"].tolist() == [2, 3]


def test_integer_column_range_is_checked():
    signature = ModelSignature(Schema([ColSpec("integer", "i")]))
    assert protocol_error({"inputs": {"i": [1, 2**40]}}, signature) == (
        "column 'i' expects integer, got 1099511627776 in row 1 (out of range)"
    )


def test_long_column_rejects_booleans():
    assert protocol_error({"dataframe_records": [{"n": True}]}, COLUMNS) == (
        "column 'n' expects long, got True in row 0"
    )


def test_boolean_column():
    signature = ModelSignature(Schema([ColSpec("boolean", "b", required=False)]))
    assert parse({"inputs": {"b": [True, False]}}, signature).data["b"].dtype == np.bool_
    df = parse({"inputs": {"b": [True, None]}}, signature).data
    assert df["b"].dtype == pd.BooleanDtype()
    assert protocol_error({"inputs": {"b": [True, "yes"]}}, signature) == (
        "column 'b' expects boolean, got 'yes' in row 1"
    )


def test_boolean_column_with_ragged_nested_values_names_the_value():
    """numpy refuses ragged lists with a ValueError of its own: found by the fuzz test."""
    signature = ModelSignature(Schema([ColSpec("boolean", "b")]))
    assert protocol_error({"inputs": {"b": [[True], [True, False]]}}, signature) == (
        "column 'b' expects boolean, got [True] in row 0"
    )
    assert protocol_error({"inputs": {"b": [True, [1, [2]]]}}, signature) == (
        "column 'b' expects boolean, got [1, [2]] in row 1"
    )


def test_binary_column_is_base64_decoded():
    signature = ModelSignature(Schema([ColSpec("binary", "b")]))
    df = parse({"inputs": {"b": ["aGVsbG8=", "d29y\nbGQ=\n"]}}, signature).data
    assert df["b"].tolist() == [b"hello", b"world"]
    assert protocol_error({"inputs": {"b": ["%%%"]}}, signature) == (
        "column 'b' expects binary, got '%%%' in row 0 (not valid base64)"
    )
    assert protocol_error({"inputs": {"b": [5]}}, signature) == (
        "column 'b' expects binary, got 5 in row 0 (binary values are base64 strings)"
    )


def test_datetime_column_is_parsed_by_enforcement():
    signature = ModelSignature(Schema([ColSpec("datetime", "t")]))
    data = parse({"inputs": {"t": ["2024-01-01T10:00:00"]}}, signature).data
    out, _ = compile_enforcer(signature)(data)
    assert out["t"].iloc[0] == pd.Timestamp("2024-01-01T10:00:00")


def test_array_column_keeps_lists_for_enforcement():
    signature = ModelSignature(Schema([ColSpec(Array("long"), "a")]))
    data = parse({"inputs": {"a": [1, 2]}}, signature).data
    assert data["a"].tolist() == [[1, 2]]


# ---- instances and inputs --------------------------------------------------------------------


def test_inputs_dict_of_lists_is_columns():
    df = parse({"inputs": {"x": [1, 2], "s": ["a", "b"]}}, COLUMNS).data
    assert df.shape == (2, 2) and df["x"].dtype == np.float64


def test_inputs_dict_of_scalars_is_one_row():
    df = parse({"inputs": {"x": 1, "s": "a"}}, COLUMNS).data
    assert df.shape == (1, 2)


def test_inputs_columns_of_different_lengths_are_an_error():
    assert protocol_error({"inputs": {"x": [1, 2], "s": ["a"]}}, COLUMNS, field="inputs") == (
        "'inputs' columns have different lengths [1, 2]"
    )


def test_inputs_scalar_next_to_lists_is_repeated():
    df = parse({"inputs": {"x": [1, 2], "s": "a"}}, COLUMNS).data
    assert df["s"].tolist() == ["a", "a"]


def test_inputs_list_of_records_is_a_frame():
    df = parse({"inputs": [{"x": 1, "s": "a"}]}, COLUMNS).data
    assert df["x"].tolist() == [1.0]


def test_inputs_list_fills_a_single_column():
    signature = ModelSignature(Schema([ColSpec("string", "text")]))
    assert parse({"inputs": ["a", "b"]}, signature).data["text"].tolist() == ["a", "b"]


def test_instances_records_are_a_frame_for_columns():
    df = parse({"instances": [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]}, COLUMNS).data
    assert df["x"].tolist() == [1.0, 2.0]


def test_instances_records_without_schema_are_columns_of_arrays():
    data = parse({"instances": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}]}).data
    assert data["a"].tolist() == [1, 2] and data["b"].shape == (2, 2)


def test_instances_records_with_different_keys_are_an_error():
    assert protocol_error({"instances": [{"a": 1, "b": 1}, {"a": 2}]}, field="instances") == (
        "'instances' records must all have the same keys (the inputs have different lengths)"
    )


def test_instances_item_must_be_an_object_like_the_first():
    assert protocol_error({"instances": [{"a": 1}, 2]}, field="instances") == (
        "'instances' item 1 must be an object like item 0, got a number"
    )


def test_inputs_list_is_an_array_of_the_tensor_dtype():
    data = parse({"inputs": [[1, 2], [3, 4]]}, TENSOR).data
    assert data.dtype == np.float32 and data.shape == (2, 2)


def test_instances_list_is_an_array_of_the_tensor_dtype():
    assert parse({"instances": [[1, 2]]}, TENSOR).data.dtype == np.float32


def test_ragged_tensor_is_an_error():
    assert protocol_error({"inputs": [[1, 2], [3]]}, TENSOR, field="inputs") == (
        "input tensor expects float32 values: the nested lists are ragged (rows of different "
        "lengths)"
    )


def test_unnamed_tensor_rejects_an_object():
    assert protocol_error({"inputs": {"a": [1]}}, TENSOR, field="inputs") == (
        "'inputs' must be a (nested) list: the model takes one unnamed tensor, got an object"
    )


def test_integer_tensor_rejects_fractions():
    signature = ModelSignature(Schema([TensorSpec(np.dtype("int64"), (-1,))]))
    assert protocol_error({"inputs": [1.5]}, signature) == (
        "input tensor expects int64, got non-integer numbers"
    )


def test_float32_tensor_rejects_numbers_out_of_range():
    assert protocol_error({"inputs": [[1e300, 1]]}, TENSOR) == (
        "input tensor expects float32, got numbers out of its range"
    )


def test_named_tensors_from_inputs_dict():
    data = parse({"inputs": {"a": [[1, 2]], "b": [3]}}, NAMED_TENSORS).data
    assert data["a"].dtype == np.float32 and data["b"].dtype == np.int64


def test_named_tensors_from_instances_records():
    data = parse({"instances": [{"a": [1, 2], "b": 3}, {"a": [3, 4], "b": 4}]},
                 NAMED_TENSORS).data
    assert data["a"].shape == (2, 2) and data["b"].tolist() == [3, 4]


def test_named_tensors_reject_a_bare_list():
    assert protocol_error({"inputs": [1, 2]}, NAMED_TENSORS, field="inputs") == (
        "'inputs' must be an object mapping tensor names ['a', 'b'] to lists, got a list"
    )


def test_unnamed_column_schema_takes_a_nested_list():
    signature = ModelSignature(Schema([ColSpec("double"), ColSpec("double")]))
    data = parse({"inputs": [[1, 2]]}, signature).data
    assert data.dtype == np.float64
    out, _ = compile_enforcer(signature)(data)
    assert out.shape == (1, 2)


def test_signature_may_be_given_as_a_schema():
    df = parse({"inputs": {"x": [1], "s": ["a"]}}, COLUMNS.inputs).data
    assert df["x"].dtype == np.float64


# ---- CSV ---------------------------------------------------------------------------------------


def test_csv_is_typed_by_the_signature():
    df = parse(b"x,n,s\n1,2,a\n3,,b\n", COLUMNS, "text/csv; charset=utf-8").data
    assert df["x"].dtype == np.float64
    assert df["n"].dtype == pd.Int64Dtype() and df["n"].isna().tolist() == [False, True]
    out, _ = compile_enforcer(COLUMNS)(df)
    assert out["n"].dtype == pd.Int64Dtype()


def test_csv_without_schema():
    df = parse(b"a,b\n1,x\n", None, "text/csv").data
    assert df.to_dict("records") == [{"a": 1, "b": "x"}]


def test_csv_bad_value_names_column_and_row():
    assert protocol_error(b"x,s\n1,a\nabc,b\n", COLUMNS, "text/csv", field="body") == (
        "column 'x' expects double, got 'abc' in row 1"
    )


def test_csv_empty_body_is_an_error():
    assert protocol_error(b"", COLUMNS, "text/csv", field="body") == (
        "CSV body is empty: send a header row and data rows"
    )


def test_csv_malformed_is_an_error():
    message = protocol_error(b'a,b\n1,2\n3,4,5,6\n', None, "text/csv", field="body")
    assert message.startswith("CSV body is malformed:")


def test_csv_non_utf8_is_an_error():
    assert protocol_error(b"a\n\xff\n", None, "text/csv", field="body") == (
        "CSV body is not valid UTF-8 (byte 0xff at position 2)"
    )


# ---- Parquet -----------------------------------------------------------------------------------


def test_parquet_round_trip():
    buf = io.BytesIO()
    pd.DataFrame({"x": [1.0], "s": ["a"]}).to_parquet(buf)
    df = parse(buf.getvalue(), COLUMNS, "application/vnd.apache.parquet").data
    assert df.to_dict("records") == [{"x": 1.0, "s": "a"}]


def test_parquet_bad_file_is_an_error():
    message = protocol_error(b"nope", None, "application/vnd.apache.parquet", field="body")
    assert message.startswith("body is not a valid Parquet file:")


def test_parquet_without_pyarrow_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(UnsupportedContentTypeError) as info:
        parse_request(b"x", "application/vnd.apache.parquet")
    assert str(info.value) == (
        "application/vnd.apache.parquet needs pyarrow on the server: pip install pyarrow"
    )


# ---- parse then enforce: every payload form gives the same frame ------------------------------


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (json.dumps({"dataframe_split": {"columns": ["s", "x"], "data": [["a", 1], ["b", 2]]}}),
         JSON),
        (json.dumps({"dataframe_records": [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]}), JSON),
        (json.dumps({"instances": [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]}), JSON),
        (json.dumps({"inputs": {"x": [1, 2], "s": ["a", "b"]}}), JSON),
        (json.dumps({"inputs": [{"x": 1, "s": "a"}, {"x": 2, "s": "b"}]}), JSON),
        ("s,x\na,1\nb,2\n", "text/csv"),
    ],
)
def test_every_payload_form_enforces_to_the_same_frame(payload, content_type):
    data = parse_request(payload.encode(), content_type, COLUMNS).data
    out, _ = compile_enforcer(COLUMNS)(data)
    assert list(out.columns) == ["x", "n", "s"]
    assert out["x"].tolist() == [1.0, 2.0] and out["s"].tolist() == ["a", "b"]
    assert out["n"].isna().all()


# ---- responses ---------------------------------------------------------------------------------


def test_predictions_of_an_array():
    assert json.loads(predictions_to_json(np.array([[1, 2], [3, 4]]))) == {
        "predictions": [[1, 2], [3, 4]]
    }


def test_predictions_nan_is_written_as_mlflow_does():
    body = predictions_to_json(np.array([1.0, np.nan, np.inf]))
    assert body == b'{"predictions": [1.0, NaN, Infinity]}'


def test_predictions_of_a_frame_are_records():
    frame = pd.DataFrame({"a": [1.0, np.nan], "t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    assert json.loads(predictions_to_json(frame)) == {
        "predictions": [
            {"a": 1.0, "t": "2024-01-01T00:00:00"},
            {"a": float("nan"), "t": "2024-01-02T00:00:00"},
        ]
    } or b"NaN" in predictions_to_json(frame)


def test_predictions_of_a_numeric_frame():
    assert json.loads(predictions_to_json(pd.DataFrame({"a": [1, 2]}))) == {
        "predictions": [{"a": 1}, {"a": 2}]
    }


def test_predictions_of_a_series_are_records_as_mlflow():
    assert json.loads(predictions_to_json(pd.Series([1, 2], name="p"))) == {
        "predictions": [{"p": 1}, {"p": 2}]
    }
    assert json.loads(predictions_to_json(pd.Series([0.5]))) == {"predictions": [{"0": 0.5}]}


def test_predictions_of_a_dict_of_arrays():
    assert json.loads(predictions_to_json({"a": np.array([1, 2]), "b": "x"})) == {
        "predictions": {"a": [1, 2], "b": "x"}
    }


def test_predictions_of_scalars_and_lists():
    assert json.loads(predictions_to_json(np.float32(1.5))) == {"predictions": 1.5}
    assert json.loads(predictions_to_json([1, "a", None])) == {"predictions": [1, "a", None]}
    assert json.loads(predictions_to_json("text")) == {"predictions": "text"}


def test_predictions_bytes_are_base64_as_mlflow():
    assert json.loads(predictions_to_json([b"ab"])) == {"predictions": ["YWI=\n"]}


def test_predictions_datetimes_are_iso():
    import datetime

    moments = [datetime.datetime(2024, 1, 2, 3, 4, 5), np.datetime64("2024-01-02")]
    body = predictions_to_json(moments)
    assert json.loads(body) == {"predictions": ["2024-01-02T03:04:05", "2024-01-02"]}


def test_predictions_of_an_unknown_object_fail_clearly():
    with pytest.raises(TypeError, match="predictions hold a value of type object"):
        predictions_to_json([object()])


def test_error_body_is_mlflow_shaped():
    body = error_body("BAD_REQUEST", "column 'x' expects double")
    assert json.loads(body) == {"error_code": "BAD_REQUEST", "message": "column 'x' expects double"}
    assert parse_error_body(body) == ("BAD_REQUEST", "column 'x' expects double")


def test_parse_error_body_rejects_other_json():
    with pytest.raises(ProtocolError, match="lacks 'error_code'"):
        parse_error_body(b'{"predictions": 1}')
    with pytest.raises(ProtocolError, match="not JSON"):
        parse_error_body(b"<html>")


# ---- the all-float fast path ------------------------------------------------------------------

FLOATS = ModelSignature(Schema([ColSpec("double", "a"), ColSpec("double", "b")]))


def test_all_float_split_is_one_block_that_enforcement_returns_as_is():
    df = parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [None, 4]]}},
               FLOATS).data
    assert df.dtypes.tolist() == [np.float64, np.float64]
    assert np.isnan(df["a"].iloc[1])
    assert compile_enforcer(FLOATS)(df)[0] is df


def test_all_float_requests_share_their_columns_index():
    first = parse({"dataframe_records": [{"a": 1, "b": 2}]}, FLOATS).data
    second = parse({"inputs": {"a": [1], "b": [2]}}, FLOATS).data
    assert first.columns is second.columns


def test_all_float_bad_value_still_names_the_row():
    assert protocol_error(
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, "x"]]}}, FLOATS
    ) == "column 'b' expects double, got 'x' in row 1"


def test_all_float_split_with_unknown_column_keeps_it_for_enforcement():
    df = parse({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, "z"]]}},
               FLOATS).data
    assert df["c"].tolist() == ["z"]


@pytest.mark.parametrize(
    "predictions",
    [
        np.arange(30_000, dtype=np.float64).reshape(10_000, 3),
        np.arange(9_000),
        np.array([np.nan] * 9_000),
        pd.DataFrame({"a": np.arange(9_000) / 7, "b": ["x"] * 9_000}),
        pd.Series(np.arange(9_000) / 3),
        [{"a": float("nan")}] * 9_000,
        [1] * 4_097,
    ],
    ids=["array-2d", "ints", "nan", "frame", "series", "records-nan", "list"],
)
def test_large_answers_are_encoded_in_chunks_byte_for_byte_as_one_call(predictions):
    from saveur.protocol import _response as r

    fast = r._all_finite_numeric(predictions)
    whole = np.ascontiguousarray(predictions) if isinstance(predictions, np.ndarray) and fast \
        else r._jsonable(predictions)
    assert predictions_to_json(predictions) == r._dumps({"predictions": whole}, fast)
    assert json.loads(predictions_to_json(predictions))["predictions"][:1]
