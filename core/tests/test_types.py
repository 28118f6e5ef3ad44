"""Schema types: construction, validation errors, equality, repr and the MLflow JSON encoding."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from saveur.errors import SchemaError, SignatureError
from saveur.types import (
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
    SparkMLVector,
    TensorSpec,
)

# --- DataType ----------------------------------------------------------------------------


def test_datatype_members_and_values_match_mlflow():
    assert [(t.name, t.value) for t in DataType] == [
        ("boolean", 1),
        ("integer", 2),
        ("long", 3),
        ("float", 4),
        ("double", 5),
        ("string", 6),
        ("binary", 7),
        ("datetime", 8),
    ]


@pytest.mark.parametrize(
    ("dtype", "numpy", "pandas", "python"),
    [
        (DataType.boolean, np.dtype("bool"), np.dtype("bool"), bool),
        (DataType.integer, np.dtype("int32"), np.dtype("int32"), int),
        (DataType.long, np.dtype("int64"), np.dtype("int64"), int),
        (DataType.float, np.dtype("float32"), np.dtype("float32"), float),
        (DataType.double, np.dtype("float64"), np.dtype("float64"), float),
        (DataType.string, np.dtype("str"), object, str),
        (DataType.binary, np.dtype("bytes"), object, bytes),
        (DataType.datetime, np.dtype("datetime64[ns]"), np.dtype("datetime64[ns]"), dt.date),
    ],
)
def test_datatype_conversions(dtype, numpy, pandas, python):
    assert dtype.to_numpy() == numpy
    assert dtype.to_pandas() == pandas
    assert dtype.to_python() is python


def test_datatype_repr_is_its_name():
    assert repr(DataType.long) == "long"


def test_datatype_from_numpy_type():
    assert DataType.from_numpy_type(np.dtype("float32")) is DataType.float
    assert DataType.from_numpy_type(np.dtype("complex64")) is None


def test_datatype_from_unknown_name_lists_valid_names():
    with pytest.raises(
        SignatureError, match=r"unsupported type 'decimal': expected one of \['boolean'"
    ):
        DataType.from_name("decimal")


# --- ColSpec -----------------------------------------------------------------------------


def test_colspec_encoding_writes_type_name_required_in_order():
    assert list(ColSpec("double", "x").to_dict().items()) == [
        ("type", "double"),
        ("name", "x"),
        ("required", True),
    ]
    assert ColSpec(DataType.string, required=True).to_dict() == {"type": "string", "required": True}


def test_colspec_accepts_type_names_and_rejects_unknown():
    assert ColSpec("long").type is DataType.long
    with pytest.raises(SignatureError, match="unsupported type 'int64'"):
        ColSpec("int64")
    with pytest.raises(SignatureError, match="the type of a ColSpec must be a DataType"):
        ColSpec(3)


def test_colspec_equality_and_repr():
    assert ColSpec("long", "a") == ColSpec(DataType.long, "a")
    assert ColSpec("long", "a") != ColSpec("long", "a", required=False)
    assert ColSpec("long", "a") != ColSpec("long", "b")
    assert repr(ColSpec("long", "a", required=False)) == "'a': long (optional)"
    assert repr(ColSpec("string")) == "string (required)"


def test_colspec_from_json_without_required_means_required():
    assert ColSpec.from_json_dict(type="long", name="a") == ColSpec("long", "a", required=True)


def test_colspec_from_json_without_type_is_an_error():
    with pytest.raises(SignatureError, match="a column entry needs a 'type' key, got \\['name'\\]"):
        ColSpec.from_json_dict(name="a")


def test_colspec_with_integer_name_is_kept():
    # DataFrames with a default integer column index produce integer names, as in MLflow.
    assert ColSpec("long", 0).to_dict() == {"type": "long", "name": 0, "required": True}


# --- nested types --------------------------------------------------------------------------


def test_object_sorts_properties_and_encodes_them():
    obj = Object([Property("b", "double"), Property("a", "string", required=False)])
    assert [p.name for p in obj.properties] == ["a", "b"]
    assert json.dumps(obj.to_dict()) == (
        '{"type": "object", "properties": {"a": {"type": "string", "required": false}, '
        '"b": {"type": "double", "required": true}}}'
    )
    assert repr(obj) == "{a: string (optional), b: double (required)}"


def test_object_errors():
    with pytest.raises(SignatureError, match="an Object needs at least one property"):
        Object([])
    with pytest.raises(SignatureError, match="must be a list, got tuple"):
        Object((Property("a", "long"),))
    with pytest.raises(SignatureError, match=r"duplicated property names in Object: \['a'\]"):
        Object([Property("a", "long"), Property("a", "double")])
    with pytest.raises(SignatureError, match="must all be Property instances"):
        Object(["a"])
    with pytest.raises(SignatureError, match="a property name must be a string, got int"):
        Property(1, "long")


def test_array_map_any_encoding_and_repr():
    assert Array("long").to_dict() == {"type": "array", "items": {"type": "long"}}
    assert Array(Array("string")).to_dict() == {
        "type": "array",
        "items": {"type": "array", "items": {"type": "string"}},
    }
    assert Map("double").to_dict() == {"type": "map", "values": {"type": "double"}}
    assert AnyType().to_dict() == {"type": "any"}
    assert repr(Array("long")) == "Array(long)"
    assert repr(Map("long")) == "Map(str -> long)"
    assert repr(AnyType()) == "Any"
    assert Array("long") == Array(DataType.long) and Array("long") != Array("double")
    assert Map("long") != Map("double") and AnyType() == AnyType()


def test_nested_types_round_trip_through_colspec_json():
    spec = ColSpec(
        Array(Object([Property("m", Map(Array(AnyType()))), Property("n", "long", False)])),
        name="deep",
        required=False,
    )
    assert ColSpec.from_json_dict(**json.loads(json.dumps(spec.to_dict()))) == spec


def test_nested_type_parsing_errors():
    with pytest.raises(SignatureError, match="type 'array' and 'items'"):
        ColSpec.from_json_dict(type="array", name="a")
    with pytest.raises(SignatureError, match="type 'map' and 'values'"):
        ColSpec.from_json_dict(type="map")
    with pytest.raises(SignatureError, match="'properties' object"):
        ColSpec.from_json_dict(type="object", properties=[1])
    with pytest.raises(SignatureError, match="property 'x' must be a JSON object with a 'type'"):
        Property.from_json_dict(x={"required": True})
    with pytest.raises(SignatureError, match="the items of an Array must be a JSON object"):
        Array.from_json_dict(type="array", items="long")


def test_sparkml_vector_round_trip():
    spec = ColSpec.from_json_dict(type="sparkml_vector", name="v", required=True)
    assert isinstance(spec.type, SparkMLVector)
    assert spec.to_dict() == {"type": "sparkml_vector", "name": "v", "required": True}
    assert repr(spec.type) == "SparkML vector"


def test_object_merge_makes_one_sided_properties_optional():
    a = Object([Property("a", "string"), Property("b", "double")])
    b = Object([Property("a", "string"), Property("c", "boolean")])
    assert a._merge(b) == Object(
        [
            Property("a", "string"),
            Property("b", "double", required=False),
            Property("c", "boolean", required=False),
        ]
    )
    assert a._merge(AnyType()) == Object(
        [Property("a", "string", required=False), Property("b", "double", required=False)]
    )


def test_merge_conflicting_types_is_an_error():
    with pytest.raises(SignatureError, match="property 'a' has incompatible types string and long"):
        Object([Property("a", "string")])._merge(Object([Property("a", "long")]))
    with pytest.raises(SignatureError, match="incompatible item types long and double"):
        Array("long")._merge(Array("double"))
    with pytest.raises(SignatureError, match="cannot merge a map with Array"):
        Map("long")._merge(Array("long"))


# --- TensorSpec --------------------------------------------------------------------------


def test_tensorspec_encoding():
    assert TensorSpec(np.dtype("float32"), (-1, 4)).to_dict() == {
        "type": "tensor",
        "tensor-spec": {"dtype": "float32", "shape": (-1, 4)},
    }
    assert list(TensorSpec(np.dtype("int64"), [-1], "x").to_dict()) == [
        "name",
        "type",
        "tensor-spec",
    ]


def test_tensorspec_equality_repr_and_required():
    t = TensorSpec(np.dtype("float64"), (-1, 2), "x")
    assert t == TensorSpec("float64", [-1, 2], "x")
    assert t != TensorSpec("float32", (-1, 2), "x")
    assert t != TensorSpec("float64", (-1, 3), "x")
    assert repr(t) == "'x': Tensor('float64', (-1, 2))"
    assert repr(TensorSpec("str", (-1,))) == "Tensor('str', (-1,))"
    assert t.required is True


def test_tensorspec_errors():
    with pytest.raises(
        SignatureError, match=r"give flexible dtypes without a size, as np.dtype\('str'\)"
    ):
        TensorSpec(np.dtype("<U10"), (-1,))
    with pytest.raises(SignatureError, match="shape must be a tuple or list"):
        TensorSpec("float64", 3)
    with pytest.raises(SignatureError, match="'nope' is not a numpy dtype"):
        TensorSpec("nope", (1,))
    with pytest.raises(SignatureError, match="needs type 'tensor' and a 'tensor-spec'"):
        TensorSpec.from_json_dict(type="tensor")
    with pytest.raises(SignatureError, match="needs 'dtype' and 'shape'"):
        TensorSpec.from_json_dict(**{"type": "tensor", "tensor-spec": {"dtype": "int8"}})


# --- Schema ------------------------------------------------------------------------------


def _col_schema():
    return Schema([ColSpec("long", "a"), ColSpec("string", "b", required=False)])


def test_schema_accessors_on_named_columns():
    s = _col_schema()
    assert not s.is_tensor_spec()
    assert s.has_input_names()
    assert s.input_names() == ["a", "b"]
    assert s.required_input_names() == ["a"]
    assert s.optional_input_names() == ["b"]
    assert s.input_types() == [DataType.long, DataType.string]
    assert s.input_types_dict() == {"a": DataType.long, "b": DataType.string}
    assert s.input_dict() == {"a": s.inputs[0], "b": s.inputs[1]}
    assert s.numpy_types() == [np.dtype("int64"), np.dtype("str")]
    assert s.pandas_types() == [np.dtype("int64"), object]
    assert len(s) == 2 and list(s) == s.inputs


def test_schema_unnamed_uses_positions():
    s = Schema([ColSpec("double"), ColSpec("double")])
    assert s.input_names() == [0, 1]
    assert not s.has_input_names()
    with pytest.raises(SignatureError, match=r"input_dict\(\) needs a schema with named inputs"):
        s.input_dict()


def test_tensor_schema_numpy_types_and_pandas_types_error():
    s = Schema([TensorSpec("float32", (-1, 3), "x"), TensorSpec("int64", (-1,), "y")])
    assert s.is_tensor_spec()
    assert s.numpy_types() == [np.dtype("float32"), np.dtype("int64")]
    with pytest.raises(SignatureError, match="pandas_types\\(\\) is not defined for tensors"):
        s.pandas_types()


def test_schema_numpy_types_fails_with_nested_columns():
    with pytest.raises(SignatureError, match="some columns have types that are not DataType"):
        Schema([ColSpec(Array("long"), "a")]).numpy_types()


def test_schema_json_is_mlflow_encoding():
    assert _col_schema().to_json() == (
        '[{"type": "long", "name": "a", "required": true}, '
        '{"type": "string", "name": "b", "required": false}]'
    )
    t = Schema([TensorSpec("float32", (-1, 28, 28))])
    assert t.to_json() == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]'
    )


def test_schema_round_trips_through_json():
    for s in (_col_schema(), Schema([TensorSpec("uint8", (-1, 2), "img")])):
        assert Schema.from_json(s.to_json()) == s
        assert Schema.from_json(s.to_json()).to_json() == s.to_json()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "a Schema needs at least one input"),
        ((ColSpec("long"),), "Schema inputs must be a list, got tuple"),
        ([ColSpec("long", "a"), TensorSpec("int64", (-1,), "b")], "not a mix"),
        ([ColSpec("long", "a"), ColSpec("long")], "must be all named or all unnamed"),
        ([TensorSpec("int64", (-1,)), TensorSpec("int64", (-1,))], "must name each of them"),
        ([ColSpec("long", required=False)], "unnamed inputs cannot be optional"),
    ],
)
def test_schema_construction_errors(inputs, message):
    with pytest.raises(SignatureError, match=message):
        Schema(inputs)


def test_schema_from_bad_json():
    with pytest.raises(SignatureError, match="schema is not valid JSON"):
        Schema.from_json("[{")
    with pytest.raises(SignatureError, match="must be a list of objects"):
        Schema.from_json('{"type": "long"}')


def test_schema_repr_and_equality():
    assert repr(_col_schema()) == "['a': long (required), 'b': string (optional)]"
    assert _col_schema() == _col_schema()
    assert _col_schema() != Schema([ColSpec("long", "a")])
    assert _col_schema() != "x"


# --- ParamSpec / ParamSchema ------------------------------------------------------------------


def test_paramspec_encoding_key_order():
    assert list(ParamSpec("p", "long", 3).to_dict().items()) == [
        ("name", "p"),
        ("default", 3),
        ("shape", None),
        ("type", "long"),
    ]
    assert ParamSchema([ParamSpec("l", "double", [1, 2.5], (-1,))]).to_json() == (
        '[{"name": "l", "default": [1.0, 2.5], "shape": [-1], "type": "double"}]'
    )


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        ("long", np.int32(3), 3),
        ("long", np.int64(3), 3),
        ("integer", 5, 5),
        ("float", 1, 1.0),
        ("double", np.float32(1.5), 1.5),
        ("double", 2, 2.0),
        ("string", np.str_("x"), "x"),
        ("boolean", np.bool_(True), True),
        ("string", None, None),
        ("datetime", "2020-01-01", dt.date(2020, 1, 1)),
        ("datetime", "2020-01-01T01:02:03", dt.datetime(2020, 1, 1, 1, 2, 3)),
        ("datetime", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
    ],
)
def test_paramspec_accepts_safe_defaults(dtype, value, expected):
    spec = ParamSpec("p", dtype, value)
    assert spec.default == expected
    assert type(spec.default) is type(expected)


@pytest.mark.parametrize(
    ("dtype", "value", "reason"),
    [
        ("long", True, "cannot safely convert bool True to long"),
        ("long", 1.0, "cannot safely convert float 1.0 to long"),
        ("long", "1", "cannot safely convert str '1' to long"),
        ("long", 2**70, r"int 1180591620717411303424 does not fit in long \(64-bit\)"),
        ("integer", 2**31, r"int 2147483648 does not fit in integer \(32-bit\)"),
        ("integer", np.int64(5), "cannot safely convert int64 5 to integer"),
        ("float", np.float64(1.5), "cannot safely convert float64 1.5 to float"),
        ("double", True, "cannot safely convert bool True to double"),
        ("string", 1, "cannot safely convert int 1 to string"),
        ("boolean", 1, "cannot safely convert int 1 to boolean"),
        ("long", [1, 2], r"expects a scalar long, got \[1, 2\]"),
        ("datetime", 5, "cannot convert 5 to datetime"),
        ("datetime", "abc", "cannot convert 'abc' to datetime"),
    ],
)
def test_paramspec_rejects_unsafe_defaults_naming_the_param(dtype, value, reason):
    with pytest.raises(
        SignatureError, match=f"param 'p' \\({dtype}\\): invalid default .*: {reason}"
    ):
        ParamSpec("p", dtype, value)


def test_paramspec_one_dimensional():
    assert ParamSpec("p", "long", np.array([1, 2]), (-1,)).default == [1, 2]
    assert ParamSpec("p", "string", [], (-1,)).default == []
    assert ParamSpec("p", "long", [None, 1], (-1,)).default == [None, 1]
    with pytest.raises(
        SignatureError, match=r"expects a 1-D list \(shape \(-1,\)\), got list with ndim 2"
    ):
        ParamSpec("p", "long", [[1]], (-1,))
    with pytest.raises(SignatureError, match="got int with ndim 0"):
        ParamSpec("p", "long", 1, (-1,))
    with pytest.raises(SignatureError, match="got tuple with ndim 1"):
        ParamSpec("p", "long", (1, 2), (-1,))
    with pytest.raises(SignatureError, match=r"shape must be None \(scalar\) or \(-1,\)"):
        ParamSpec("p", "long", 1, (2,))


def test_paramspec_datetime_defaults_are_written_iso():
    spec = ParamSpec("t", "datetime", dt.datetime(2020, 1, 2, 3, 4, 5, 6))
    assert spec.to_dict()["default"] == "2020-01-02T03:04:05.000006"
    spec = ParamSpec("t", "datetime", ["2020-01-01"], (-1,))
    assert spec.to_dict()["default"] == ["2020-01-01"]
    assert ParamSchema.from_json(ParamSchema([spec]).to_json()) == ParamSchema([spec])


def test_paramspec_type_errors():
    with pytest.raises(SignatureError, match="param 'p': binary params are not supported"):
        ParamSpec("p", "binary", b"x")
    with pytest.raises(SignatureError, match="unsupported type 'foo'"):
        ParamSpec("p", "foo", 1)
    with pytest.raises(SignatureError, match="dtype must be a DataType, an Object"):
        ParamSpec("p", Array("long"), [1])


def test_paramspec_object_default_checked_against_properties():
    obj = Object([Property("x", "long"), Property("a", "string", required=False)])
    spec = ParamSpec("o", obj, {"x": 1})
    assert spec.to_dict() == {
        "name": "o",
        "default": {"x": 1},
        "shape": None,
        "type": "object",
        "properties": {
            "a": {"type": "string", "required": False},
            "x": {"type": "long", "required": True},
        },
    }
    with pytest.raises(SignatureError, match=r"value\['x'\] expects long, got str"):
        ParamSpec("o", obj, {"x": "s"})
    with pytest.raises(SignatureError, match=r"missing required properties \['x'\]"):
        ParamSpec("o", obj, {"a": "s"})
    with pytest.raises(SignatureError, match=r"properties not in the schema: \['z'\]"):
        ParamSpec("o", obj, {"x": 1, "z": 2})


def test_paramspec_validate_raises_schema_error_for_predict_time_values():
    spec = ParamSpec("k", "long", 1)
    assert spec.validate(np.int64(4)) == 4
    with pytest.raises(
        SchemaError, match="param 'k' \\(long\\): cannot safely convert str 'x' to long"
    ):
        spec.validate("x")


def test_paramspec_from_json_accepts_legacy_dtype_key():
    spec = ParamSpec.from_json_dict(name="a", dtype="long", default=1)
    assert spec.to_dict() == {"name": "a", "default": 1, "shape": None, "type": "long"}
    with pytest.raises(SignatureError, match="needs 'name', 'type' and 'default'"):
        ParamSpec.from_json_dict(name="a", type="long")


def test_paramschema_repr_equality_and_duplicates():
    ps = ParamSchema([ParamSpec("a", "long", 1), ParamSpec("b", "double", [1.0], (-1,))])
    assert repr(ps) == "['a': long (default: 1), 'b': double (default: [1.0]) (shape: (-1,))]"
    assert ps == ParamSchema.from_json(ps.to_json())
    assert len(ps) == 2 and [p.name for p in ps] == ["a", "b"]
    with pytest.raises(SignatureError, match=r"duplicated params in schema: \['a'\]"):
        ParamSchema([ParamSpec("a", "long", 1), ParamSpec("a", "long", 2)])
    with pytest.raises(SignatureError, match="params schema is not valid JSON"):
        ParamSchema.from_json("nope")


def test_numpy_values_in_names_and_object_defaults_are_written_as_plain_json():
    assert Schema([ColSpec("long", np.int64(0))]).to_json() == (
        '[{"type": "long", "name": 0, "required": true}]'
    )
    obj = Object([Property("x", "long")])
    ps = ParamSchema([ParamSpec("o", obj, {"x": np.int64(1)})])
    assert ps.to_json() == (
        '[{"name": "o", "default": {"x": 1}, "shape": null, "type": "object", '
        '"properties": {"x": {"type": "long", "required": true}}}]'
    )
    with pytest.raises(SignatureError, match="object .* cannot be written in a signature's JSON"):
        Schema([ColSpec("long", object())]).to_json()


def test_an_empty_column_name_is_a_name_not_a_position():
    from saveur.types import ColSpec, Schema

    schema = Schema([ColSpec("double", ""), ColSpec("long", "0", required=False)])
    assert schema.input_names() == ["", "0"]
    assert schema.required_input_names() == [""]
    assert schema.optional_input_names() == ["0"]


@pytest.mark.parametrize(
    "value",
    [
        DataType.long,
        Array("long"),
        Object([Property("a", "string")]),
        Map("double"),
        AnyType(),
        Property("a", "long"),
    ],
)
def test_public_types_pickle_and_print_under_saveur_types(value):
    import pickle

    import saveur.types

    assert type(value).__module__ == "saveur.types"
    assert getattr(saveur.types, type(value).__name__) is type(value)
    data = pickle.dumps(value)
    assert b"saveur.types" in data and b"_complex" not in data and b"_scalar" not in data
    assert pickle.loads(data) == value
