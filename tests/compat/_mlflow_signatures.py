"""Sample inputs for the MLflow signature/example compatibility tests.

Each case is built fresh by a function so that tests cannot leak mutations into each other.
Only numpy/pandas are needed here; MLflow is imported by the tests themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any


def _cases() -> dict[str, Callable[[], Any]]:
    import numpy as np
    import pandas as pd

    return {
        "df_numpy_dtypes": lambda: pd.DataFrame(
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
            }
        ),
        "df_nullable": lambda: pd.DataFrame(
            {
                "a": pd.array([1, None], dtype="Int64"),
                "b": pd.array([True, None], dtype="boolean"),
                "c": pd.array(["x", None], dtype="string"),
                "d": pd.array([1.5, None], dtype="Float64"),
                "e": pd.array([1, 2], dtype="Int32"),
            }
        ),
        "df_categorical": lambda: pd.DataFrame(
            {
                "a": pd.Categorical(["x", "y"]),
                "b": pd.Categorical([1, 2]),
            }
        ),
        "df_categorical_more": lambda: pd.DataFrame(
            {
                "i32": pd.Categorical(np.array([1, 2], "int32"), np.array([1, 2, 3], "int32")),
                "f32": pd.Categorical(np.array([1.5, 2.5], "float32")),
                "unused": pd.Categorical(["a", "a"], pd.Index(["a", 1], dtype=object)),
                "none": pd.Categorical([None, None], categories=["a"]),
                "some": pd.Categorical(["a", None]),
            }
        ),
        "df_all_missing": lambda: pd.DataFrame(
            {"o": pd.Series([None, None], dtype=object), "f": [np.nan, np.nan]}
        ),
        "df_datetimes": lambda: pd.DataFrame(
            {
                "ns": pd.to_datetime(["2020-01-01", "2021-06-01"]).astype("datetime64[ns]"),
                "us": pd.to_datetime(["2020-01-01", "2021-06-01"]).astype("datetime64[us]"),
                "s": pd.to_datetime(["2020-01-01", "2021-06-01"]).astype("datetime64[s]"),
                "tz": pd.to_datetime(["2020-01-01", "2021-06-01"]).tz_localize("UTC"),
                "date": [dt.date(2020, 1, 1), dt.date(2020, 1, 2)],
            }
        ),
        "df_bytes": lambda: pd.DataFrame({"a": [b"x", b"y"], "b": [bytearray(b"1"), b"2"]}),
        "df_missing": lambda: pd.DataFrame({"a": ["x", None], "b": [1.0, np.nan], "c": [1, 2]}),
        "df_int_labels": lambda: pd.DataFrame([[1, 2.0], [3, 4.0]]),
        "df_nested": lambda: pd.DataFrame(
            {
                "l": [[1, 2], [3]],
                "o": [{"x": 1}, {"x": 2, "y": "s"}],
                "s": [["a"], []],
            }
        ),
        "df_object_str": lambda: pd.DataFrame({"a": pd.Series(["x", "y"], dtype=object)}),
        "series_named": lambda: pd.Series([1.0, 2.0], name="x"),
        "series_unnamed": lambda: pd.Series(["a", "b"]),
        "ndarray_2d": lambda: np.zeros((3, 4), dtype="float32"),
        "ndarray_3d": lambda: np.zeros((2, 3, 4), dtype="uint8"),
        "ndarray_str": lambda: np.array(["a", "bb"]),
        "ndarray_bytes": lambda: np.array([b"a"]),
        "ndarray_1d": lambda: np.array([1, 2, 3]),
        "ndarray_bool": lambda: np.array([[True, False]]),
        "dict_of_arrays": lambda: {"x": np.zeros((2, 3)), "y": np.array([1, 2])},
        "list_of_dicts": lambda: [{"a": 1, "b": "x"}, {"a": 2, "c": None}],
        "list_of_dicts_nested": lambda: [
            {"m": [{"role": "u", "content": "hi"}]},
            {"m": [{"role": "u", "content": "a", "n": 1}]},
        ],
        "df_array_column": lambda: pd.DataFrame(
            {"emb": [np.array([1.0, 2.0]), np.array([3.0])], "ids": [np.array([1]), None]}
        ),
        "list_of_dicts_arrays": lambda: [{"x": np.array([1, 2]), "y": np.float32(1)}],
        "dict_numpy_scalars": lambda: {"a": np.int32(1), "b": np.str_("s"), "c": [np.bool_(1)]},
        "list_of_arrays": lambda: [np.array([1, 2]), np.array([3])],
        "list_nested_empty": lambda: [[], ["a"], None],
        "list_of_str": lambda: ["a", "b"],
        "list_of_float": lambda: [1.5, None, 2.0],
        "list_empty": lambda: [],
        "scalar_str": lambda: "hello",
        "scalar_int": lambda: 3,
        "scalar_float": lambda: 3.5,
        "scalar_bool": lambda: True,
        "scalar_bytes": lambda: b"x",
        "scalar_datetime": lambda: dt.datetime(2020, 1, 1),
        "dict_of_values": lambda: {"a": "x", "b": [1, 2], "c": {"k": 1.5}, "d": None},
        "dict_chat": lambda: {"messages": [{"role": "user", "content": "hi"}]},
    }


def _params() -> dict[str, Callable[[], dict[str, Any]]]:
    import numpy as np

    return {
        "scalars": lambda: {
            "a": 1,
            "b": 1.5,
            "c": "s",
            "d": True,
            "h": np.float32(1),
            "i": np.int32(3),
        },
        "lists": lambda: {"e": [1, 2], "f": [1.5, 2.0], "g": ["x"], "k": np.array([1, 2])},
        "datetimes": lambda: {
            "t": dt.datetime(2020, 1, 1, 2, 3, 4, 5),
            "d": dt.date(2020, 1, 2),
            "l": [dt.datetime(2020, 1, 1)],
        },
        "object": lambda: {"o": {"x": 1, "y": ["a"], "z": {"q": True}}},
    }


def _dataclasses() -> dict[str, Any]:
    """Dataclasses built with real (not string) annotations, which MLflow needs."""
    from dataclasses import make_dataclass
    from typing import Optional

    inner = make_dataclass("Inner", [("k", str), ("v", Optional[float])])  # noqa: UP045
    return {
        "flat": make_dataclass(
            "Flat",
            [("a", int), ("b", float), ("c", str), ("d", bool), ("e", bytes), ("f", dt.date)],
        ),
        "nested": make_dataclass(
            "Nested",
            [
                ("tags", list[str]),
                ("inner", inner),
                ("maybe", Optional[int]),  # noqa: UP045
                ("many", list[inner]),
                ("opt_inner", Optional[inner]),  # noqa: UP045
            ],
        ),
    }


CASES = _cases
DATACLASSES = _dataclasses
PARAMS = _params
