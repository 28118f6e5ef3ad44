"""Input examples: the files MLflow 3 writes, the info block, reading back, and errors."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from saveur.errors import SignatureError, UnsafePathError
from saveur.examples import (
    InputExampleError,
    build_input_example,
    read_input_example,
    read_input_example_params,
    read_serving_input_example,
    write_input_example,
)
from saveur.signature import infer_schema

_INFO = {"artifact_path": "input_example.json"}
_SERVING = {"serving_input_path": "serving_input_example.json"}


def _files(tmp_path):
    return (
        (tmp_path / "input_example.json").read_text(),
        (tmp_path / "serving_input_example.json").read_text(),
    )


def test_dataframe_is_written_in_split_orient(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    info = write_input_example(tmp_path, df)
    assert list(info.items()) == [
        ("artifact_path", "input_example.json"),
        ("type", "dataframe"),
        ("pandas_orient", "split"),
        ("serving_input_path", "serving_input_example.json"),
    ]
    example, serving = _files(tmp_path)
    assert example == '{"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}'
    assert json.loads(serving) == {"dataframe_split": json.loads(example)}
    assert serving.startswith('{\n  "dataframe_split": {\n    "columns": [\n      "a",')


def test_dataframe_with_default_integer_columns_uses_values_orient(tmp_path):
    info = write_input_example(tmp_path, pd.DataFrame([[1, 2], [3, 4]]))
    assert info["pandas_orient"] == "values"
    assert _files(tmp_path)[0] == '{"data": [[1, 2], [3, 4]]}'


def test_dataframe_binary_base64_and_datetimes_iso():
    df = pd.DataFrame(
        {
            "b": [b"ab", b"c"],
            "t": pd.to_datetime(["2020-01-01 00:00:00.000000000", "2020-01-02 03:04:05.123456789"]),
            "z": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"),
        }
    )
    _, example, _ = build_input_example(df)
    assert json.loads(example)["data"] == [
        ["YWI=\n", "2020-01-01T00:00:00", "2020-01-01T00:00:00+00:00"],
        ["Yw==\n", "2020-01-02T03:04:05.123456789", "2020-01-02T00:00:00+00:00"],
    ]


def test_dataframe_missing_values_stay_json_readable():
    df = pd.DataFrame({"a": [1.5, np.nan], "s": ["x", None]})
    _, example, _ = build_input_example(df)
    rows = json.loads(example)["data"]
    assert rows[0] == [1.5, "x"]
    # pandas decides NaN vs None per dtype (as in MLflow); both read back as missing.
    assert all(v is None or v != v for v in rows[1])


def test_ndarray_is_nested_lists_with_nan_as_null(tmp_path):
    info = write_input_example(tmp_path, np.array([[1.0, np.nan], [3, 4]]))
    assert list(info) == ["artifact_path", "type", "serving_input_path"]
    assert info["type"] == "ndarray"
    example, serving = _files(tmp_path)
    assert example == "[[1.0, null], [3.0, 4.0]]"
    assert serving == (
        '{\n  "inputs": [\n    [\n      1.0,\n      null\n    ],\n'
        "    [\n      3.0,\n      4.0\n    ]\n  ]\n}"
    )


def test_string_and_bytes_arrays():
    assert build_input_example(np.array(["a", "b"]))[1] == '["a", "b"]'
    assert build_input_example(np.array([b"a", b"b"]))[1] == '["YQ==\\n", "Yg==\\n"]'


def test_dict_of_arrays(tmp_path):
    info = write_input_example(tmp_path, {"x": np.array([1, 2]), "y": np.array([[1.5]])})
    assert info["type"] == "ndarray"
    example, serving = _files(tmp_path)
    assert example == '{"x": [1, 2], "y": [[1.5]]}'
    assert json.loads(serving) == {"inputs": {"x": [1, 2], "y": [[1.5]]}}


@pytest.mark.parametrize(
    ("example", "text"),
    [
        ({"a": "x", "b": [1, 2]}, '{"a": "x", "b": [1, 2]}'),
        (["a", "b"], '["a", "b"]'),
        ([{"a": 1}, {"a": 2}], '[{"a": 1}, {"a": 2}]'),
        ("hi", '"hi"'),
        (b"hi", '"aGk=\\n"'),
        (np.float32(1.5), "1.5"),
        (dt.datetime(2020, 1, 1), '"2020-01-01T00:00:00"'),
    ],
)
def test_json_objects(example, text):
    info, example_json, serving = build_input_example(example)
    assert info["type"] == "json_object"
    assert example_json == text
    assert json.loads(serving) == {"inputs": json.loads(text)}


def test_pydantic_models_are_dumped_to_json_objects():
    pydantic = pytest.importorskip("pydantic")

    class Query(pydantic.BaseModel):
        text: str
        k: int = 3

    info, example, serving = build_input_example(Query(text="hi"))
    assert info["type"] == "json_object"
    assert example == '{"text": "hi", "k": 3}'
    assert json.loads(serving) == {"inputs": {"text": "hi", "k": 3}}
    assert build_input_example([Query(text="a")])[1] == '[{"text": "a", "k": 3}]'


def test_llm_style_dict_is_served_as_the_body():
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    _, _, serving = build_input_example(chat)
    assert json.loads(serving) == chat
    info, example, serving = build_input_example((chat, {"temperature": 0.5}))
    assert info["params"] == "true"
    assert json.loads(example) == {"inputs": chat, "params": {"temperature": 0.5}}
    assert json.loads(serving) == {**chat, "temperature": 0.5}


def test_params_are_written_alongside(tmp_path):
    params = {"p": 1, "q": [1.5], "d": dt.datetime(2020, 1, 1)}
    info = write_input_example(tmp_path, (pd.DataFrame({"a": [1]}), params))
    assert list(info) == ["artifact_path", "params", "type", "pandas_orient", "serving_input_path"]
    assert info["params"] == "true"
    example, serving = _files(tmp_path)
    assert example == (
        '{"inputs": {"columns": ["a"], "data": [[1]]}, '
        '"params": {"p": 1, "q": [1.5], "d": "2020-01-01T00:00:00"}}'
    )
    assert json.loads(serving) == {
        "dataframe_split": {"columns": ["a"], "data": [[1]]},
        "params": {"p": 1, "q": [1.5], "d": "2020-01-01T00:00:00"},
    }
    assert read_input_example_params(tmp_path, info) == {
        "p": 1,
        "q": [1.5],
        "d": "2020-01-01T00:00:00",
    }
    pd.testing.assert_frame_equal(read_input_example(tmp_path, info), pd.DataFrame({"a": [1]}))


def test_sparse_matrices():
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csr_matrix(np.array([[0, 1.5], [2, 0]]))
    info, example, serving = build_input_example(m)
    assert info["type"] == "sparse_matrix_csr"
    assert json.loads(example) == {
        "data": [1.5, 2.0],
        "indices": [1, 0],
        "indptr": [0, 1, 2],
        "shape": [2, 2],
    }
    assert json.loads(serving) == {"inputs": [[0.0, 1.5], [2.0, 0.0]]}
    assert build_input_example(sparse.csc_matrix(m))[0]["type"] == "sparse_matrix_csc"


# --- reading back ----------------------------------------------------------------------


def test_read_dataframe_back_with_schema_restores_types(tmp_path):
    df = pd.DataFrame(
        {
            "a": [1, 2],
            "f": np.array([1.5, 2.5], dtype="float32"),
            "s": ["x", "y"],
            "b": [b"ab", b"\x00\xff"],
            "t": pd.to_datetime(["2020-01-01 00:00:00", "2020-01-02 03:04:05"]),
        }
    )
    info = write_input_example(tmp_path, df)
    back = read_input_example(tmp_path, info, schema=infer_schema(df))
    assert back["b"].tolist() == [b"ab", b"\x00\xff"]
    assert back["f"].dtype == np.dtype("float32")
    assert back["a"].dtype == np.dtype("int64")
    assert back["s"].tolist() == ["x", "y"]
    assert back["t"].tolist() == df["t"].tolist()


def test_read_dataframe_back_with_missing_values_uses_nullable_dtypes(tmp_path):
    df = pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "t": pd.to_datetime(["2020-01-01", None]),
            "z": pd.to_datetime(["2020-01-01", None]).tz_localize("UTC"),
            "f": [1.5, None],
        }
    )
    info = write_input_example(tmp_path, df)
    back = read_input_example(tmp_path, info, schema=infer_schema(df))
    assert str(back["i"].dtype) == "Int64" and back["i"].isna().tolist() == [False, True]
    assert str(back["b"].dtype) == "boolean"
    assert back["t"].dtype == np.dtype("datetime64[ns]") and back["t"].isna().tolist() == [
        False,
        True,
    ]
    assert str(back["z"].dtype) == "datetime64[ns, UTC]"
    assert back["f"].dtype == np.dtype("float64")


def test_read_dataframe_column_that_does_not_fit_is_an_error(tmp_path):
    from saveur.types import ColSpec, Schema

    info = write_input_example(tmp_path, pd.DataFrame({"a": ["x"]}))
    with pytest.raises(InputExampleError, match="input example column 'a' does not fit long"):
        read_input_example(tmp_path, info, schema=Schema([ColSpec("long", "a")]))


def test_read_dataframe_without_schema_is_plain_json_values(tmp_path):
    info = write_input_example(tmp_path, pd.DataFrame({"b": [b"ab"]}))
    assert read_input_example(tmp_path, info)["b"].tolist() == ["YWI=\n"]


def test_read_ndarray_and_dict_of_arrays_back(tmp_path):
    a = np.array([[1.5, 2.0]], dtype="float32")
    info = write_input_example(tmp_path, a)
    back = read_input_example(tmp_path, info, schema=infer_schema(a))
    assert back.dtype == np.dtype("float32") and back.tolist() == a.tolist()
    assert read_input_example(tmp_path, info).dtype == np.dtype("float64")
    d = {"x": np.array([1, 2], dtype="int32"), "y": np.array(["a"])}
    info = write_input_example(tmp_path, d)
    back = read_input_example(tmp_path, info, schema=infer_schema(d))
    assert back["x"].dtype == np.dtype("int32") and back["y"].tolist() == ["a"]


def test_read_json_object_and_sparse_back(tmp_path):
    info = write_input_example(tmp_path, [{"a": 1}])
    assert read_input_example(tmp_path, info) == [{"a": 1}]
    sparse = pytest.importorskip("scipy.sparse")
    m = sparse.csc_matrix(np.eye(2))
    info = write_input_example(tmp_path, m)
    assert (read_input_example(tmp_path, info) != m).nnz == 0


def test_read_none_info_and_serving_example(tmp_path):
    assert read_input_example(tmp_path, None) is None
    assert read_input_example_params(tmp_path, None) is None
    assert read_serving_input_example(tmp_path) is None
    info = write_input_example(tmp_path, ["a"])
    assert read_serving_input_example(tmp_path) == '{\n  "inputs": [\n    "a"\n  ]\n}'
    assert read_serving_input_example(tmp_path, info) == read_serving_input_example(tmp_path)
    assert read_serving_input_example(tmp_path, {**_INFO, "type": "json_object"}) is None


# --- errors --------------------------------------------------------------------------------


def test_unsupported_examples_are_errors():
    with pytest.raises(InputExampleError, match="input example of type Series is not supported"):
        build_input_example(pd.Series([1]))
    with pytest.raises(InputExampleError, match="of type NoneType is not supported"):
        build_input_example(None)
    with pytest.raises(
        InputExampleError, match=r"mixes numpy arrays with other values \(keys \['b'\]\)"
    ):
        build_input_example({"a": np.array([1]), "b": 1})
    with pytest.raises(InputExampleError, match="list contains numpy arrays"):
        build_input_example([np.array([1])])
    with pytest.raises(InputExampleError, match="not JSON-serializable"):
        build_input_example({"a": object()})
    with pytest.raises(
        InputExampleError,
        match="input example params: cannot infer the params schema: param 'p': expected a scalar",
    ):
        build_input_example((["a"], {"p": None}))
    assert issubclass(InputExampleError, SignatureError)


def test_unsafe_paths_in_info_are_refused(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "secret.json").write_text("[1]")
    bad = {"artifact_path": "../secret.json", "type": "json_object"}
    with pytest.raises(UnsafePathError):
        read_input_example(tmp_path / "m", bad)
    with pytest.raises(UnsafePathError):
        read_input_example(tmp_path / "m", {"artifact_path": "/etc/passwd", "type": "json_object"})
    with pytest.raises(UnsafePathError):
        read_serving_input_example(tmp_path / "m", {"serving_input_path": "../secret.json"})


def test_bad_info_and_files_are_errors(tmp_path):
    with pytest.raises(InputExampleError, match="needs 'artifact_path' and 'type' keys, got"):
        read_input_example(tmp_path, {"type": "ndarray"})
    with pytest.raises(InputExampleError, match="input example type 'pickle' is not one of"):
        read_input_example(tmp_path, {**_INFO, "type": "pickle"})
    with pytest.raises(
        InputExampleError, match="input example file 'input_example.json' is missing"
    ):
        read_input_example(tmp_path, {**_INFO, "type": "ndarray"})
    (tmp_path / "input_example.json").write_text("{nope")
    with pytest.raises(InputExampleError, match="input example file is not valid JSON"):
        read_input_example(tmp_path, {**_INFO, "type": "ndarray"})
    (tmp_path / "input_example.json").write_text("[1]")
    with pytest.raises(InputExampleError, match="a DataFrame input example must be an object"):
        read_input_example(tmp_path, {**_INFO, "type": "dataframe"})
    with pytest.raises(InputExampleError, match="input example with params must have an 'inputs'"):
        read_input_example(tmp_path, {**_INFO, "type": "ndarray", "params": "true"})
    with pytest.raises(InputExampleError, match="must have a 'params' object"):
        read_input_example_params(tmp_path, {**_INFO, "type": "ndarray", "params": "true"})
