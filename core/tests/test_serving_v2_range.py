from __future__ import annotations

import pytest

from saveur.errors import ProtocolError
from saveur.serving.v2 import _decode_tensor


def test_fp32_value_beyond_range_is_refused_not_turned_into_inf():
    with pytest.raises(ProtocolError, match="FP32 data has numbers out of its range"):
        _decode_tensor({"name": "x", "shape": [3], "datatype": "FP32", "data": [1e39, 2, 3]}, 0)


def test_fp16_value_beyond_range_is_refused():
    with pytest.raises(ProtocolError, match="FP16 data has numbers out of its range"):
        _decode_tensor({"name": "x", "shape": [1], "datatype": "FP16", "data": [1e10]}, 0)


def test_fp32_in_range_is_accepted():
    name, array = _decode_tensor({"name": "x", "shape": [2], "datatype": "FP32", "data": [1.5, 2]}, 0)
    assert name == "x" and array.dtype.name == "float32" and array.tolist() == [1.5, 2.0]
