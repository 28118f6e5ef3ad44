"""Signatures and input examples against real MLflow 3: same bytes both ways.

Run in the MLflow env (``/work/venvs/mlflow`` or the ``compat`` tox env) with saveur installed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings

import pytest

try:
    import mlflow
    from mlflow.models import ModelSignature as MLflowSignature
    from mlflow.models import infer_signature as mlflow_infer_signature
    from mlflow.models.utils import _Example, _read_example
except ImportError as exc:  # pragma: no cover - depends on the env
    pytest.skip(
        f"MLflow is not importable here ({exc}); run in the compat env", allow_module_level=True
    )

import numpy as np
import pandas as pd
from _mlflow_signatures import CASES, DATACLASSES, PARAMS

from saveur.errors import SignatureError
from saveur.examples import (
    InputExampleError,
    build_input_example,
    read_input_example,
    write_input_example,
)
from saveur.signature import ModelSignature, infer_signature, infer_signature_from_example

pytestmark = pytest.mark.mlflow


@pytest.fixture(autouse=True)
def _quiet_mlflow():
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _mlflow_dict(data=None, params=None) -> dict:
    return mlflow_infer_signature(data, params=params).to_dict()


@pytest.mark.parametrize("case", sorted(CASES()))
def test_inferred_input_schema_is_byte_identical(case):
    make = CASES()[case]
    expected = _mlflow_dict(make())
    assert infer_signature(make()).to_dict() == expected


@pytest.mark.parametrize("case", sorted(PARAMS()))
def test_inferred_params_schema_is_byte_identical(case):
    make = PARAMS()[case]
    expected = _mlflow_dict(np.zeros(1), params=make())
    assert infer_signature(np.zeros(1), params=make()).to_dict() == expected


@pytest.mark.parametrize("case", sorted(CASES()))
def test_mlflow_signature_round_trips_through_saveur(case):
    d = _mlflow_dict(CASES()[case]())
    assert ModelSignature.from_dict(d).to_dict() == d


@pytest.mark.parametrize("case", sorted(CASES()))
def test_mlflow_parses_saveur_signature(case):
    ours = infer_signature(CASES()[case]()).to_dict()
    parsed = MLflowSignature.from_dict(ours)
    assert parsed.to_dict() == ours
    assert parsed == mlflow_infer_signature(CASES()[case]())


@pytest.mark.parametrize("case", sorted(DATACLASSES()))
def test_dataclass_schemas_are_byte_identical(case):
    cls = DATACLASSES()[case]
    expected = MLflowSignature(inputs=cls).to_dict()
    assert ModelSignature(inputs=cls).to_dict() == expected
    assert infer_signature(cls).to_dict() == expected


@pytest.mark.parametrize("kind", ["frame", "array", "list"])
def test_signature_from_example_and_prediction_matches_mlflow_save_model(kind):
    from mlflow.models.signature import _infer_signature_from_input_example

    frame = pd.DataFrame({"a": [0.0, 1.0], "b": [1, 0]})
    data = {"frame": frame, "array": frame.to_numpy(), "list": [{"a": 1.0}, {"a": 2.0}]}[kind]

    class Classifier:
        def predict(self, model_input, params=None):
            return np.array([0, 1])

    expected = _infer_signature_from_input_example(_Example((data, {"k": 1})), Classifier())
    ours = infer_signature_from_example(data, np.array([0, 1]), {"k": 1})
    assert ours.to_dict() == expected.to_dict()


def test_where_mlflow_falls_back_to_any_saveur_infers_or_explains():
    # MLflow cannot type pd.Timestamp values (a categorical of dates) nor uint64 columns and
    # silently writes ``any``; saveur types the first and refuses the second with a reason.
    dates = pd.DataFrame({"d": pd.Categorical(pd.to_datetime(["2020-01-01", "2020-01-02"]))})
    assert _mlflow_dict(dates)["inputs"] == '[{"type": "any", "required": true}]'
    assert infer_signature(dates).to_dict()["inputs"] == (
        '[{"type": "datetime", "name": "d", "required": true}]'
    )
    big = pd.DataFrame({"u": np.array([1], dtype="uint64")})
    assert _mlflow_dict(big)["inputs"] == '[{"type": "any", "required": true}]'
    with pytest.raises(SignatureError, match="column 'u' has unsupported dtype 'uint64'"):
        infer_signature(big)


def _mlflow_hand_built():
    from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec
    from mlflow.types.schema import AnyType, Array, Map, Object, Property, SparkMLVector

    obj = Object(
        [
            Property("z", DataType.string),
            Property("a", Array(DataType.long), False),
            Property("m", Map(Object([Property("q", AnyType())]))),
        ]
    )
    columns = Schema(
        [
            ColSpec(DataType.boolean, "b"),
            ColSpec(DataType.integer, "i", required=False),
            ColSpec(DataType.float, "f"),
            ColSpec(DataType.binary, "y"),
            ColSpec(DataType.datetime, "t", required=False),
            ColSpec(Array(Array(DataType.double)), "aa"),
            ColSpec(obj, "o"),
            ColSpec(Map(DataType.string), "mp", required=False),
            ColSpec(AnyType(), "any", required=False),
            ColSpec(SparkMLVector(), "vec"),
        ]
    )
    tensors = Schema(
        [
            TensorSpec(np.dtype("float32"), (-1, 28, 28), "img"),
            TensorSpec(np.dtype("str"), (-1,), "txt"),
        ]
    )
    params = ParamSchema(
        [
            ParamSpec("n", DataType.long, 3),
            ParamSpec("x", DataType.double, 1.5),
            ParamSpec("s", DataType.string, None),
            ParamSpec("ok", DataType.boolean, True),
            ParamSpec("t", DataType.datetime, dt.datetime(2020, 1, 2, 3, 4, 5, 6)),
            ParamSpec("d", DataType.datetime, dt.date(2021, 5, 6)),
            ParamSpec("lst", DataType.float, [1.0, 2.5], (-1,)),
            ParamSpec("ts", DataType.datetime, [dt.datetime(2020, 1, 1)], (-1,)),
            ParamSpec(
                "obj",
                Object([Property("k", DataType.long), Property("v", DataType.string, False)]),
                {"k": 1},
            ),
        ]
    )
    return [
        MLflowSignature(columns, tensors, params),
        MLflowSignature(tensors),
        MLflowSignature(outputs=Schema([ColSpec(DataType.double)])),
        MLflowSignature(params=params),
    ]


@pytest.mark.parametrize("index", range(4))
def test_hand_built_mlflow_signatures_round_trip(index):
    d = _mlflow_hand_built()[index].to_dict()
    ours = ModelSignature.from_dict(d)
    assert ours.to_dict() == d
    assert MLflowSignature.from_dict(ours.to_dict()) == _mlflow_hand_built()[index]


def _example_cases():
    extra = {
        "df_everything": lambda: pd.DataFrame(
            {
                "a": [1, 2],
                "b": [1.5, np.nan],
                "c": ["x", None],
                "d": [b"ab" * 50, b"c"],
                "e": pd.to_datetime(
                    ["2020-01-01 00:00:00.000000000", "2020-01-02 03:04:05.123456789"]
                ),
                "f": [True, False],
            }
        ),
        "tuple_df": lambda: (
            pd.DataFrame({"a": [1]}),
            {"p": 1, "q": [1.5], "d": dt.datetime(2020, 1, 1)},
        ),
        "tuple_nd": lambda: (np.array([1]), {"p": "s"}),
        "tuple_chat": lambda: (
            {"messages": [{"role": "user", "content": "hi"}]},
            {"temperature": 0.5},
        ),
        "nd_nan_f32": lambda: np.array([[1.0, np.nan], [3, 4]], dtype="float32"),
        "dict_nd_params": lambda: ({"x": np.array([1.5, np.nan])}, {"k": [1, 2]}),
        "nd_datetime_ns": lambda: np.array(["2020-01-01"], dtype="datetime64[ns]"),
        "nd_datetime_us": lambda: np.array(["2020-01-01"], dtype="datetime64[us]"),
        "list_bytes": lambda: [b"a", b"b"],
        "np_scalar": lambda: np.float32(1.5),
        "df_nullable_missing": lambda: pd.DataFrame(
            {
                "a": pd.array([1, None], dtype="Int64"),
                "b": pd.array([True, None], dtype="boolean"),
                "c": pd.array(["x", None], dtype="string"),
                "d": pd.array([1.5, None], dtype="Float64"),
                "t": pd.to_datetime(["2020-01-01", None]),
                "cat": pd.Categorical(["a", None]),
            }
        ),
    }
    cases = {**CASES(), **extra}
    # MLflow refuses Series examples (and so does saveur, tested in the unit tests).
    return {k: v for k, v in cases.items() if not k.startswith("series")}


def test_pydantic_example_is_byte_identical():
    import pydantic

    Query = pydantic.create_model("Query", text=(str, ...), k=(int, 3))
    mlflow_example = _Example(Query(text="hi"))
    assert build_input_example(Query(text="hi")) == (
        mlflow_example.info,
        mlflow_example.json_input_example,
        mlflow_example.json_serving_input,
    )


@pytest.mark.parametrize("case", sorted(_example_cases()))
def test_input_example_files_are_byte_identical(case):
    make = _example_cases()[case]
    try:
        mlflow_example = _Example(make())
    except mlflow.exceptions.MlflowException:
        # What MLflow refuses, saveur refuses too, with its own error.
        with pytest.raises(InputExampleError):
            build_input_example(make())
        return
    assert build_input_example(make()) == (
        mlflow_example.info,
        mlflow_example.json_input_example,
        mlflow_example.json_serving_input,
    )


@pytest.mark.parametrize(
    "case",
    [
        "df_numpy_dtypes",
        "df_bytes",
        "ndarray_2d",
        "dict_of_arrays",
        "list_of_dicts",
        "dict_of_values",
    ],
)
def test_mlflow_reads_saveur_examples_and_back(case, tmp_path):
    from mlflow.models import Model

    data = CASES()[case]()
    info = write_input_example(tmp_path, data)
    sig = mlflow_infer_signature(data)
    theirs = _read_example(Model(saved_input_example_info=info, signature=sig), str(tmp_path))
    ours = read_input_example(tmp_path, info, schema=infer_signature(data).inputs)
    if isinstance(ours, pd.DataFrame):
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    elif isinstance(ours, dict) and isinstance(next(iter(ours.values())), np.ndarray):
        assert ours.keys() == theirs.keys()
        for k in ours:
            np.testing.assert_array_equal(ours[k], theirs[k])
            assert ours[k].dtype == theirs[k].dtype
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype
    else:
        assert ours == theirs


def test_model_saved_by_mlflow_reads_in_saveur(tmp_path):
    import yaml

    df = pd.DataFrame(
        {"x": [1.0, 2.0], "name": ["a", "b"], "when": pd.to_datetime(["2020-01-01", "2020-06-01"])}
    )
    params = {"k": 2, "mode": "fast"}

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input[["x"]]

    path = tmp_path / "model"
    sig = mlflow_infer_signature(df, df[["x"]], params=params)
    mlflow.pyfunc.save_model(path, python_model=Echo(), signature=sig, input_example=(df, params))
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    ours = ModelSignature.from_dict(mlmodel["signature"])
    assert ours.to_dict() == mlmodel["signature"]
    info = mlmodel["saved_input_example_info"]
    back = read_input_example(path, info, schema=ours.inputs)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["when"].tolist() == df["when"].tolist()
    # The files MLflow wrote are the files saveur writes for the same example.
    fresh = tmp_path / "ours"
    fresh.mkdir()
    assert write_input_example(fresh, (df, params)) == info
    for name in ("input_example.json", "serving_input_example.json"):
        assert (fresh / name).read_bytes() == (path / name).read_bytes()


def test_json_of_inferred_signature_is_plain_json(tmp_path):
    # Guard for the MLmodel writer: no numpy scalars leak into the JSON strings.
    d = infer_signature(pd.DataFrame({np.int64(3): [1]}), params={"a": np.int32(1)}).to_dict()
    for value in d.values():
        if value is not None:
            json.loads(value)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # the compat env may not have hypothesis

    def test_random_schemas_parse_identically_in_mlflow():
        pytest.skip("hypothesis is not installed in this env")

else:
    from saveur.types import AnyType, Array, ColSpec, DataType, Map, Object, Property, Schema

    _names = st.text(min_size=1, max_size=6)
    _types = st.recursive(
        st.sampled_from(list(DataType)) | st.just(AnyType()),
        lambda children: (
            children.map(Array)
            | children.map(Map)
            | st.lists(
                st.tuples(_names, children, st.booleans()),
                min_size=1,
                max_size=3,
                unique_by=lambda t: t[0],
            ).map(lambda ps: Object([Property(n, t, r) for n, t, r in ps]))
        ),
        max_leaves=8,
    )
    _schemas = st.lists(
        st.tuples(_names, _types, st.booleans()), min_size=1, max_size=4, unique_by=lambda t: t[0]
    ).map(lambda cols: Schema([ColSpec(t, n, r) for n, t, r in cols]))

    @settings(max_examples=100, deadline=None)
    @given(_schemas)
    def test_random_schemas_parse_identically_in_mlflow(schema):
        from mlflow.types import Schema as MLflowSchema

        text = schema.to_json()
        assert MLflowSchema.from_json(text).to_json() == text
