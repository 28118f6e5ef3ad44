"""Hostile signatures must not blow up the generated document."""

from __future__ import annotations

import json

import numpy as np

from saveur.serving.openapi import _tensor_sample, _v2_example
from saveur.types import Schema, TensorSpec


def test_huge_declared_tensor_shape_gives_an_empty_example_not_a_memory_error():
    spec = TensorSpec(np.dtype("float64"), (-1, 99_999_999_999))
    assert _tensor_sample(spec) == []
    example = _v2_example(Schema([spec]))
    assert example["inputs"][0]["data"] == []
    assert len(json.dumps(example)) < 1000


def test_small_tensor_shape_still_gets_a_full_example():
    spec = TensorSpec(np.dtype("float32"), (-1, 2, 3))
    assert _tensor_sample(spec) == [[[0, 0, 0], [0, 0, 0]]]
    assert len(_v2_example(Schema([spec]))["inputs"][0]["data"]) == 6
