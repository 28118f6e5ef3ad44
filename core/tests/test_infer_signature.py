"""infer_signature: every supported input kind, with the JSON MLflow 3 writes for it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Optional

import numpy as np
import pandas as pd
import pytest

from saveur.errors import SignatureError
from saveur.signature import (
    ModelSignature,
    infer_param_schema,
    infer_schema,
    infer_signature,
    infer_signature_from_example,
    schema_from_dataclass,
)
from saveur.types import AnyType, Array, ColSpec, DataType, Object, Property, Schema, TensorSpec


def _inputs(data) -> list[dict]:
    return json.loads(infer_signature(data).to_dict()["inputs"])


def _types(data) -> dict:
    return {c.get("name"): c["type"] for c in _inputs(data)}


# --- DataFrames ----------------------------------------------------------------------------


def test_dataframe_numpy_dtypes():
    df = pd.DataFrame(
        {
            "a": [1, 2],
            "b": [1.0, 2.5],
            "c": ["x", "y"],
            "d": [True, False],
            "e": np.array([1, 2], dtype="int32"),
            "f": np.array([1, 2], dtype="float32"),
            "g": np.array([1, 2], dtype="int8"),
            "h": np.array([1, 2], dtype="uint32"),
            "i": np.array([1, 2], dtype="float16"),
            "j": np.array([1, 2], dtype="uint16"),
        }
    )
    assert _types(df) == {
        "a": "long",
        "b": "double",
        "c": "string",
        "d": "boolean",
        "e": "integer",
        "f": "float",
        "g": "integer",
        "h": "long",
        "i": "float",
        "j": "integer",
    }


def test_dataframe_encoding_is_byte_exact():
    df = pd.DataFrame({"a": [1], "b": ["x"]})
    assert infer_signature(df).to_dict()["inputs"] == (
        '[{"type": "long", "name": "a", "required": true}, '
        '{"type": "string", "name": "b", "required": true}]'
    )


def test_dataframe_nullable_extension_dtypes_are_optional_when_missing():
    df = pd.DataFrame(
        {
            "a": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "c": pd.array(["x", None], dtype="string"),
            "d": pd.array([1.5, None], dtype="Float64"),
            "e": pd.array([1, 2], dtype="Int32"),
        }
    )
    assert _inputs(df) == [
        {"type": "long", "name": "a", "required": False},
        {"type": "boolean", "name": "b", "required": False},
        {"type": "string", "name": "c", "required": False},
        {"type": "double", "name": "d", "required": False},
        {"type": "integer", "name": "e", "required": True},
    ]


def test_dataframe_categoricals_take_their_categories_type():
    df = pd.DataFrame(
        {
            "a": pd.Categorical(["x", "y"]),
            "b": pd.Categorical([1, 2]),
            "c": pd.Categorical([1.5, None]),
        }
    )
    assert _inputs(df) == [
        {"type": "string", "name": "a", "required": True},
        {"type": "long", "name": "b", "required": True},
        {"type": "double", "name": "c", "required": False},
    ]


def test_categorical_types_come_from_used_categories_as_python_values():
    small = pd.Categorical(np.array([1, 2], dtype="int32"), categories=np.array([1, 2, 3], "int32"))
    assert _types(pd.DataFrame({"i": small})) == {"i": "long"}
    f32 = pd.Categorical(np.array([1.5], dtype="float32"))
    assert _types(pd.DataFrame({"f": f32})) == {"f": "double"}
    dates = pd.Categorical(pd.to_datetime(["2020-01-01", "2020-01-02"]))
    assert _types(pd.DataFrame({"d": dates})) == {"d": "datetime"}
    # An unused category of another type does not matter; no used value gives 'any'.
    mixed = pd.Categorical(["a"], categories=pd.Index(["a", 1], dtype=object))
    assert _types(pd.DataFrame({"m": mixed})) == {"m": "string"}
    empty = pd.Categorical([None, None], categories=["a"])
    assert _inputs(pd.DataFrame({"e": empty})) == [{"type": "any", "name": "e", "required": False}]


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_dataframe_datetimes_of_any_resolution(unit):
    col = pd.Series(pd.to_datetime(["2020-01-01", "2021-06-01"])).astype(f"datetime64[{unit}]")
    assert _types(pd.DataFrame({"t": col})) == {"t": "datetime"}


def test_dataframe_timezone_aware_datetimes_and_dates():
    df = pd.DataFrame(
        {
            "tz": pd.to_datetime(["2020-01-01"]).tz_localize("Europe/Paris"),
            "date": [dt.date(2020, 1, 1)],
            "nat": pd.to_datetime(["2020-01-01"]).append(pd.DatetimeIndex([pd.NaT]))[:1],
        }
    )
    assert _types(df) == {"tz": "datetime", "date": "datetime", "nat": "datetime"}
    with_nat = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", None])})
    assert _inputs(with_nat) == [{"type": "datetime", "name": "t", "required": False}]


def test_dataframe_bytes_are_binary():
    df = pd.DataFrame({"a": [b"x", b"y"], "b": [bytearray(b"1"), b"2"]})
    assert _types(df) == {"a": "binary", "b": "binary"}


def test_dataframe_missing_values_make_columns_optional():
    df = pd.DataFrame({"a": ["x", None], "b": [1.0, np.nan], "c": [1, 2]})
    assert _inputs(df) == [
        {"type": "string", "name": "a", "required": False},
        {"type": "double", "name": "b", "required": False},
        {"type": "long", "name": "c", "required": True},
    ]


def test_dataframe_string_dtypes_of_pandas_2_and_3():
    for dtype in (object, "string", "str") if hasattr(pd, "StringDtype") else (object,):
        try:
            col = pd.Series(["x", "y"], dtype=dtype)
        except TypeError:  # "str" is an alias only from pandas 3 (or with future.infer_string)
            continue
        assert _types(pd.DataFrame({"s": col})) == {"s": "string"}


def test_dataframe_integer_labels_are_written_as_numbers():
    df = pd.DataFrame([[1, 2.0], [3, 4.0]])
    assert infer_signature(df).to_dict()["inputs"] == (
        '[{"type": "long", "name": 0, "required": true}, '
        '{"type": "double", "name": 1, "required": true}]'
    )
    df.columns = np.array([5, 6], dtype=np.int64)
    assert [c["name"] for c in _inputs(df)] == [5, 6]


def test_dataframe_nested_columns():
    df = pd.DataFrame({"l": [[1, 2], [3]], "o": [{"x": 1}, {"x": 2, "y": "s"}], "s": [["a"], []]})
    assert _inputs(df) == [
        {"type": "array", "items": {"type": "long"}, "name": "l", "required": True},
        {
            "type": "object",
            "properties": {
                "x": {"type": "long", "required": True},
                "y": {"type": "string", "required": False},
            },
            "name": "o",
            "required": True,
        },
        {"type": "array", "items": {"type": "string"}, "name": "s", "required": True},
    ]


def test_dataframe_unsupported_dtypes_are_errors_naming_the_column():
    with pytest.raises(
        SignatureError,
        match=r"cannot infer the model input schema from DataFrame: "
        r"column 'u' has unsupported dtype 'uint64' \(uint64 does not fit in long",
    ):
        infer_signature(pd.DataFrame({"u": np.array([1], dtype="uint64")}))
    with pytest.raises(SignatureError, match="column 'd' has unsupported dtype 'timedelta64"):
        infer_signature(pd.DataFrame({"d": pd.to_timedelta([1], unit="s")}))
    with pytest.raises(SignatureError, match="column 'c' has unsupported dtype 'complex128'"):
        infer_signature(pd.DataFrame({"c": np.array([1j])}))


def test_dataframe_mixed_object_column_is_an_error():
    with pytest.raises(
        SignatureError,
        match="column 'm': expected all values in the list to have "
        "the same type.*found long and string",
    ):
        infer_signature(pd.DataFrame({"m": pd.Series([1, "a"], dtype=object)}))


def test_dataframe_without_columns_or_with_duplicates_is_an_error():
    with pytest.raises(SignatureError, match="the DataFrame has no columns"):
        infer_signature(pd.DataFrame())
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(SignatureError, match=r"duplicated column names \['a'\]"):
        infer_signature(df)


def test_dataframe_unsupported_python_objects_name_the_type():
    with pytest.raises(SignatureError, match="column 'o': object value .* has no signature type"):
        infer_signature(pd.DataFrame({"o": [object()]}))


# --- Series --------------------------------------------------------------------------------


def test_series_named_and_unnamed():
    assert _inputs(pd.Series([1.0, 2.0], name="x")) == [
        {"type": "double", "name": "x", "required": True}
    ]
    assert _inputs(pd.Series(["a", "b"])) == [{"type": "string", "required": True}]


def test_unnamed_series_with_missing_values_is_an_error():
    # An unnamed optional column cannot be expressed (same rule as MLflow's Schema).
    with pytest.raises(SignatureError, match="unnamed inputs cannot be optional"):
        infer_signature(pd.Series([1.0, None]))


# --- numpy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "dtype", "shape"),
    [
        (np.zeros((3, 4), dtype="float32"), "float32", [-1, 4]),
        (np.zeros((2, 3, 4), dtype="uint8"), "uint8", [-1, 3, 4]),
        (np.array([1, 2, 3]), "int64", [-1]),
        (np.array(["a", "bb"]), "str", [-1]),
        (np.array([b"a"]), "bytes", [-1]),
        (np.array([[True]]), "bool", [-1, 1]),
        (np.array(["2020-01-01"], dtype="datetime64[s]"), "datetime64[s]", [-1]),
    ],
)
def test_ndarray_is_an_unnamed_tensor_with_variable_first_dimension(array, dtype, shape):
    assert _inputs(array) == [{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}]


def test_dict_of_arrays_is_named_tensors():
    data = {"x": np.zeros((2, 3)), "y": np.array([1, 2])}
    assert infer_signature(data).to_dict()["inputs"] == (
        '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}, '
        '{"name": "y", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
    )


def test_object_and_zero_dimensional_arrays_are_errors():
    with pytest.raises(SignatureError, match="arrays of dtype object have no tensor type"):
        infer_signature(np.array([{}, 1], dtype=object))
    with pytest.raises(SignatureError, match="a 0-dimensional array has no batch dimension"):
        infer_signature(np.array(1.0))


def test_sparse_matrix_is_a_tensor():
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csr_matrix(np.eye(3, dtype="float32"))
    assert infer_schema(m) == Schema([TensorSpec("float32", (-1, 3))])


# --- JSON-like data --------------------------------------------------------------------------


def test_list_of_dicts_merges_rows():
    data = [{"a": 1, "b": "x"}, {"a": 2, "c": None}]
    assert _inputs(data) == [
        {"type": "long", "name": "a", "required": True},
        {"type": "string", "name": "b", "required": False},
        {"type": "any", "name": "c", "required": False},
    ]


def test_list_of_dicts_with_nested_objects_merges_properties():
    data = [{"m": [{"role": "u", "content": "hi"}]}, {"m": [{"role": "u", "content": "a", "n": 1}]}]
    assert infer_schema(data) == Schema(
        [
            ColSpec(
                Array(
                    Object(
                        [
                            Property("content", "string"),
                            Property("n", "long", required=False),
                            Property("role", "string"),
                        ]
                    )
                ),
                name="m",
            )
        ]
    )


def test_list_of_scalars_and_empty_list():
    assert _inputs(["a", "b"]) == [{"type": "string", "required": True}]
    assert _inputs([1.5, None, 2.0]) == [{"type": "double", "required": True}]
    assert _inputs([]) == [{"type": "string", "required": True}]
    assert _inputs([[1], [2, 3]]) == [
        {"type": "array", "items": {"type": "long"}, "required": True}
    ]


def test_mixed_list_is_an_error():
    with pytest.raises(
        SignatureError,
        match="the list: expected all values in the list to have "
        "the same type.*found string and long",
    ):
        infer_signature(["a", 1])


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("hello", "string"),
        (3, "long"),
        (3.5, "double"),
        (True, "boolean"),
        (b"x", "binary"),
        (dt.datetime(2020, 1, 1), "datetime"),
        (np.float32(1), "float"),
        (np.int32(1), "integer"),
        (pd.Timestamp("2020-01-01"), "datetime"),
    ],
)
def test_scalars(value, type_name):
    assert _inputs(value) == [{"type": type_name, "required": True}]


def test_dict_of_values_and_chat_request():
    assert _inputs({"a": "x", "b": [1, 2], "c": {"k": 1.5}, "d": None}) == [
        {"type": "string", "name": "a", "required": True},
        {"type": "array", "items": {"type": "long"}, "name": "b", "required": True},
        {
            "type": "object",
            "properties": {"k": {"type": "double", "required": True}},
            "name": "c",
            "required": True,
        },
        {"type": "any", "name": "d", "required": False},
    ]
    assert infer_schema({"messages": [{"role": "user", "content": "hi"}]}) == Schema(
        [
            ColSpec(
                Array(Object([Property("content", "string"), Property("role", "string")])),
                name="messages",
            )
        ]
    )


def test_dict_errors():
    with pytest.raises(SignatureError, match=r"dict keys must be strings, got \[1\]"):
        infer_signature({1: "a"})
    with pytest.raises(SignatureError, match="the dict is empty"):
        infer_signature({})
    with pytest.raises(SignatureError, match=r"key 'a'\['k'\] is an empty numpy array"):
        infer_signature({"a": {"k": np.array([])}})


def test_unsupported_inputs_say_what_is_supported():
    with pytest.raises(
        SignatureError,
        match="cannot infer the model input schema from object: "
        "the value: object value .* has no signature type.*supported are pandas",
    ):
        infer_signature(object())
    with pytest.raises(SignatureError, match="a tuple is not a supported input: use a list"):
        infer_signature((1, 2))


def test_output_errors_name_the_output():
    with pytest.raises(SignatureError, match="cannot infer the model output schema from set"):
        infer_signature(np.zeros(2), {1, 2})


def test_outputs_and_input_none():
    sig = infer_signature(None, np.array([1.0]))
    assert sig.inputs is None
    assert sig.outputs == Schema([TensorSpec("float64", (-1,))])
    sig = infer_signature(pd.DataFrame({"a": [1]}), pd.Series([0.5]))
    assert sig.outputs == Schema([ColSpec("double")])


# --- params --------------------------------------------------------------------------------


def test_params_inference_and_encoding():
    params = {
        "a": 1,
        "b": 1.5,
        "c": "s",
        "d": True,
        "e": [1, 2],
        "f": dt.datetime(2020, 1, 1),
        "g": [dt.datetime(2020, 1, 1)],
        "h": np.float32(1),
        "i": {"x": 1},
    }
    assert infer_signature(np.zeros(2), params=params).to_dict()["params"] == (
        '[{"name": "a", "default": 1, "shape": null, "type": "long"}, '
        '{"name": "b", "default": 1.5, "shape": null, "type": "double"}, '
        '{"name": "c", "default": "s", "shape": null, "type": "string"}, '
        '{"name": "d", "default": true, "shape": null, "type": "boolean"}, '
        '{"name": "e", "default": [1, 2], "shape": [-1], "type": "long"}, '
        '{"name": "f", "default": "2020-01-01T00:00:00", "shape": null, "type": "datetime"}, '
        '{"name": "g", "default": ["2020-01-01T00:00:00"], "shape": [-1], "type": "datetime"}, '
        '{"name": "h", "default": 1.0, "shape": null, "type": "float"}, '
        '{"name": "i", "default": {"x": 1}, "shape": null, "type": "object", '
        '"properties": {"x": {"type": "long", "required": true}}}]'
    )


def test_params_do_not_alias_the_callers_values():
    params = {"e": [1, 2]}
    schema = infer_param_schema(params)
    params["e"].append(3)
    assert schema.params[0].default == [1, 2]


def test_bad_params_are_all_named():
    with pytest.raises(
        SignatureError,
        match=r"cannot infer the params schema: param 'm': expected "
        r"a scalar or a 1-D list, got a 2-D array; param 'n': expected a scalar, a "
        r"1-D list or a dict, got NoneType; param 'b': binary params",
    ):
        infer_param_schema({"m": [[1]], "n": None, "b": b"x"})
    with pytest.raises(SignatureError, match="params must be a dict, got list"):
        infer_param_schema([1])
    with pytest.raises(SignatureError, match="param 'e': an empty dict has no type"):
        infer_param_schema({"e": {}})


def test_empty_params_give_no_param_schema():
    assert infer_signature(np.zeros(1), params={}).params is None


def test_schema_objects_are_the_public_types():
    schema = infer_schema({"a": None})
    assert schema.inputs[0].type == AnyType()
    assert infer_schema(pd.DataFrame({"x": [1]})).input_types() == [DataType.long]


# --- dataclasses -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Inner:
    k: str
    v: Optional[float]  # noqa: UP045


@dataclasses.dataclass
class _Request:
    a: int
    b: float
    when: dt.date
    tags: list[str]
    inner: _Inner
    many: list[_Inner]
    maybe: int | None = None


def test_dataclass_gives_one_column_per_field():
    inner = Object([Property("k", "string"), Property("v", "float", required=False)])
    expected = Schema(
        [
            ColSpec("long", "a"),
            ColSpec("float", "b"),
            ColSpec("datetime", "when"),
            ColSpec(Array("string"), "tags"),
            ColSpec(inner, "inner"),
            ColSpec(Array(inner), "many"),
            ColSpec("long", "maybe", required=False),
        ]
    )
    assert schema_from_dataclass(_Request) == expected
    instance = _Request(1, 2.0, dt.date(2020, 1, 1), [], _Inner("k", None), [])
    assert infer_signature(instance).inputs == expected
    assert ModelSignature(inputs=_Request, outputs=_Inner).outputs == Schema(
        [ColSpec("string", "k"), ColSpec("float", "v", required=False)]
    )


def test_dataclass_unsupported_fields_are_named():
    @dataclasses.dataclass
    class Bad:
        when: dt.datetime

    with pytest.raises(
        SignatureError,
        match="field 'when' of Bad: type <class 'datetime.datetime'> is not supported",
    ):
        schema_from_dataclass(Bad)

    @dataclasses.dataclass
    class Union2:
        x: int | str

    with pytest.raises(SignatureError, match=r"field 'x' of Union2: only Optional\[...\] unions"):
        infer_signature(Union2)


# --- signature from an example and its prediction ----------------------------------------


def test_one_dimensional_prediction_for_columns_is_one_output_column():
    frame = pd.DataFrame({"a": [0.0, 1.0]})
    sig = infer_signature_from_example(frame, np.array([0, 1]))
    assert sig.outputs == Schema([ColSpec("long")])
    # A tensor input keeps a tensor output, as in MLflow.
    sig = infer_signature_from_example(frame.to_numpy(), np.array([0, 1]))
    assert sig.outputs == Schema([TensorSpec("int64", (-1,))])
    sig = infer_signature_from_example(frame, np.array([[0.2, 0.8]]), {"k": 1})
    assert sig.outputs == Schema([TensorSpec("float64", (-1, 2))])
    assert sig.params.params[0].name == "k"


def test_prediction_without_schema_becomes_any_with_a_warning(caplog):
    sig = infer_signature_from_example(pd.DataFrame({"a": [1.0]}), object())
    assert sig.outputs == Schema([ColSpec(AnyType())])
    assert "cannot infer the output schema from the prediction" in caplog.text


def test_example_input_without_schema_is_still_an_error():
    with pytest.raises(SignatureError, match="cannot infer the model input schema from set"):
        infer_signature_from_example({1, 2}, np.array([1]))
