"""Adaptive batching: merging concurrent requests, splitting results, falling back one by one."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from saveur.serving.batching import Batcher
from saveur.serving.placement import Placement


class _Recorder:
    """A predict function that doubles column 'x' and records the sizes it was called with."""

    def __init__(self, fail_on=None, drop_row=False):
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.drop_row = drop_row

    def __call__(self, data, params):
        self.calls.append(len(data))
        if self.fail_on is not None and (data["x"] == self.fail_on).any():
            raise ValueError(f"x may not be {self.fail_on}")
        out = data["x"].to_numpy() * 2 + (params or {}).get("offset", 0)
        return out[:-1] if self.drop_row and len(out) > 1 else out


def _run(predict, frames, params=None, *, max_rows=100, delay=0.05):
    async def main():
        with ThreadPoolExecutor(1) as executor:
            batcher = Batcher(predict, Placement(executor), max_rows=max_rows,
                              max_delay_s=delay)
            params_list = params or [None] * len(frames)
            results = await asyncio.gather(
                *[batcher.submit(f, p) for f, p in zip(frames, params_list, strict=True)],
                return_exceptions=True,
            )
            await batcher.close()
            return results

    return asyncio.run(main())


def _frames(*values):
    return [pd.DataFrame({"x": list(v)}) for v in values]


def test_concurrent_requests_are_merged_into_one_predict_and_split_back():
    predict = _Recorder()
    results = _run(predict, _frames([1], [2, 3], [4]))
    assert predict.calls == [4]
    assert [r.tolist() for r in results] == [[2], [4, 6], [8]]


def test_only_requests_with_equal_params_are_merged():
    predict = _Recorder()
    results = _run(predict, _frames([1], [2], [3]),
                   params=[{"offset": 1}, {"offset": 10}, {"offset": 1}])
    assert sorted(predict.calls) == [1, 2]
    assert [r.tolist() for r in results] == [[3], [14], [7]]


def test_batches_hold_at_most_max_rows():
    predict = _Recorder()
    results = _run(predict, _frames([1, 2], [3, 4], [5, 6]), max_rows=4)
    assert predict.calls == [4, 2]
    assert [r.tolist() for r in results] == [[2, 4], [6, 8], [10, 12]]


def test_a_failing_request_fails_alone_and_its_neighbours_get_answers():
    predict = _Recorder(fail_on=13)
    results = _run(predict, _frames([1], [13], [2]))
    assert results[0].tolist() == [2]
    assert isinstance(results[1], ValueError)
    assert "x may not be 13" in str(results[1])
    assert results[2].tolist() == [4]


def test_output_without_one_row_per_input_row_is_predicted_one_by_one():
    predict = _Recorder(drop_row=True)
    results = _run(predict, _frames([1], [2]))
    assert predict.calls == [2, 1, 1]
    assert [r.tolist() for r in results] == [[2], [4]]


def test_numpy_inputs_are_merged_and_split():
    calls = []

    def predict(data, params):
        calls.append(data.shape)
        return data.sum(axis=1)

    arrays = [np.ones((1, 3)), np.ones((2, 3)) * 2]
    results = _run(predict, arrays)
    assert calls == [(3, 3)]
    assert [r.tolist() for r in results] == [[3.0], [6.0, 6.0]]


def test_dataframe_outputs_are_split_with_fresh_indexes():
    def predict(data, params):
        return pd.DataFrame({"y": data["x"] + 1})

    results = _run(predict, _frames([1], [2, 3]))
    assert results[1].index.tolist() == [0, 1]
    assert results[1]["y"].tolist() == [3, 4]


def test_inputs_that_cannot_be_merged_are_predicted_alone():
    calls = []

    def predict(data, params):
        calls.append(data)
        return "scalar output"

    results = _run(predict, ["a", "b"])
    assert calls == ["a", "b"]
    assert results == ["scalar output", "scalar output"]


def test_max_rows_below_one_is_refused():
    with ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="at least 1"):
        Batcher(lambda d, p: d, Placement(executor), max_rows=0, max_delay_s=0.0)


# ---- which params may share a predict call -------------------------------------------------

_DISTINCT_PARAMS = {
    "int-1": 1,
    "float-1": 1.0,
    "bool-true": True,
    "zero": 0.0,
    "minus-zero": -0.0,
    "inf": float("inf"),
    "minus-inf": float("-inf"),
    "nan": float("nan"),
    "list-int": [1],
    "list-float": [1.0],
    "list-minus-zero": [-0.0],
    "dict-int": {"a": {"b": [1, 2]}},
    "dict-float": {"a": {"b": [1, 2.0]}},
    "dict-bool": {"a": {"b": [True, 2]}},
    "string-1": "1",
    "null": None,
    "float32-1": np.float32(1.0),
    "array-nan": np.array([np.nan]),
    "array-inf": np.array([np.inf]),
}


def _key(value):
    from saveur.serving.batching import _params_key

    return _params_key({"scale": value})


def test_params_keys_tell_apart_values_that_json_or_equality_confuse():
    keys = {name: _key(value) for name, value in _DISTINCT_PARAMS.items()}
    for a, key_a in keys.items():
        for b, key_b in keys.items():
            if a != b:
                assert key_a != key_b, (a, b)


def test_params_keys_are_equal_for_identical_values_in_any_key_order():
    assert _key(float("nan")) == _key(float("nan"))
    assert _key([-0.0, {"x": 1, "y": [float("inf")]}]) == _key(
        [-0.0, {"y": [float("inf")], "x": 1}]
    )
    assert _key(np.array([1.5, np.nan])) == _key(np.array([1.5, np.nan]))


def test_params_of_an_unknown_type_are_never_merged():
    class Opaque:
        pass

    thing = Opaque()
    assert _key(thing) != _key(thing)


def test_concurrent_requests_get_answers_computed_with_their_own_params():
    seen: list[tuple[str, int]] = []

    def predict(data, params):
        scale = params["scale"]
        seen.append((repr(scale), len(data)))
        return [repr(scale)] * len(data)

    names = list(_DISTINCT_PARAMS)
    frames = _frames(*([i] for i in range(len(names))))
    results = _run(predict, frames, params=[{"scale": _DISTINCT_PARAMS[n]} for n in names])
    for name, result in zip(names, results, strict=True):
        assert result == [repr(_DISTINCT_PARAMS[name])], name
    # every call saw one request: no two of these params may share a call
    assert all(rows == 1 for _, rows in seen)


def test_identical_params_are_still_merged():
    calls = []

    def predict(data, params):
        calls.append(len(data))
        return data["x"].to_numpy() * params["scale"][0]

    params = [{"scale": [float("inf"), {"k": -0.0}]} for _ in range(3)]
    results = _run(predict, _frames([1], [2], [3]), params=params)
    assert calls == [3]
    assert [r.tolist() for r in results] == [[float("inf")]] * 3
