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
