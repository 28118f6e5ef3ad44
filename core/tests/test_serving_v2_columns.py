"""Named inputs of a column model decoded in one pass: the same frames and the same errors as
decoding them one by one, and one shared columns Index per signature."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from saveur.errors import ProtocolError
from saveur.serving import v2
from saveur.signature import ModelSignature
from saveur.types import ColSpec, Schema

NAMES = [f"f{i}" for i in range(10)]
DOUBLES = ModelSignature(Schema([ColSpec("double", n) for n in NAMES]))
MIXED = ModelSignature(Schema([ColSpec("double", "a"), ColSpec("long", "b")]))


def _t(name, shape, datatype, data, **extra):
    return {"name": name, "shape": shape, "datatype": datatype, "data": data, **extra}


def _payload(*tensors):
    return {"inputs": list(tensors)}


def _row(datatype="FP64", values=None, rows=1):
    values = values or [[0.05 + 0.09 * i] * rows for i in range(10)]
    return _payload(*[_t(n, [rows], datatype, v) for n, v in zip(NAMES, values, strict=True)])


def _decode(payload, signature, one_by_one, monkeypatch):
    """decode_payload, on the one-pass path or (``one_by_one``) with that path turned off."""
    with monkeypatch.context() as m:
        if one_by_one:
            m.setattr(v2, "_column_block", lambda inputs: None)
        return v2.decode_payload(copy.deepcopy(payload), memoryview(b""), False, signature)


def _outcome(payload, signature, one_by_one, monkeypatch):
    try:
        return _decode(payload, signature, one_by_one, monkeypatch).data
    except ProtocolError as exc:
        return exc


ACCEPTED = [
    pytest.param(_row(), DOUBLES, id="ten FP64 one-row"),
    pytest.param(_row(rows=3), DOUBLES, id="ten FP64 three rows"),
    pytest.param(_row(values=[[i, 0.5] for i in range(10)], rows=2), DOUBLES, id="ints into FP64"),
    pytest.param(_row("FP32", rows=2), DOUBLES, id="FP32"),
    pytest.param(_row("FP16"), DOUBLES, id="FP16"),
    pytest.param(_row("INT64", [[i, -i] for i in range(10)], 2), DOUBLES, id="INT64"),
    pytest.param(_row("INT8", [[i] for i in range(10)]), DOUBLES, id="INT8"),
    pytest.param(_row("UINT16", [[i] for i in range(10)]), DOUBLES, id="UINT16"),
    pytest.param(_row(values=[[]] * 10, rows=0), DOUBLES, id="no rows"),
    pytest.param(
        _payload(_t("b", [1], "FP64", [2.0]), _t("a", [1], "FP64", [1.0])),
        MIXED,
        id="signature order differs",
    ),
    pytest.param(
        _payload(_t("a", [1], "FP64", [1.0]), _t("zz", [1], "FP64", [1.0])),
        MIXED,
        id="a name outside the signature",
    ),
    pytest.param(_payload(_t("a", [1], "FP64", [1.0], extra=1)), MIXED, id="an unknown key"),
]


@pytest.mark.parametrize(("payload", "signature"), ACCEPTED)
def test_one_pass_builds_the_frame_one_by_one_decoding_builds(payload, signature, monkeypatch):
    fast = _decode(payload, signature, False, monkeypatch).data
    slow = _decode(payload, signature, True, monkeypatch).data
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast.columns.equals(slow.columns) and fast.columns.dtype == slow.columns.dtype
    # the block the model (or saveur-sklearn's fast path) reads: same layout, same bytes
    assert fast.to_numpy().flags.c_contiguous == slow.to_numpy().flags.c_contiguous
    assert fast.to_numpy().tobytes() == slow.to_numpy().tobytes()


def test_one_pass_is_taken_for_plain_named_inputs(monkeypatch):
    names, block = v2._column_block(_row(rows=2)["inputs"])
    assert names == NAMES
    assert block.shape == (10, 2) and block.dtype == np.float64

    def one_by_one(*args):
        raise AssertionError("decoded tensor by tensor")

    monkeypatch.setattr(v2, "_decode_tensor", one_by_one)
    frame = v2.decode_payload(_row(rows=2), memoryview(b""), False, DOUBLES).data
    assert frame.columns.tolist() == NAMES and frame.shape == (2, 10)


REFUSED_OR_ODD = [
    pytest.param(_t("X", [1], "FP64", [True]), "FP64 data must be numbers", id="a bool"),
    pytest.param(_t("X", [1], "FP64", ["1.5"]), "FP64 data must be numbers", id="a string"),
    pytest.param(_t("X", [1], "FP64", [None]), "FP64 data must be numbers", id="a null"),
    pytest.param(_t("X", [1], "FP64", [[1.0]]), "nested deeper than shape [1]", id="nested"),
    pytest.param(_t("X", [True], "FP64", [1.0]), "shape must be a list", id="a bool dimension"),
    pytest.param(_t("X", [1.0], "FP64", [1.0]), "shape must be a list", id="a float dimension"),
    pytest.param(_t("X", [-1], "FP64", [1.0]), "shape must be a list", id="a negative dimension"),
    pytest.param(_t("X", 1, "FP64", [1.0]), "shape must be a list", id="a shape not a list"),
    pytest.param(_t("X", [2], "FP64", [1.0]), "shape [2] needs 2 values, got 1", id="too few"),
    pytest.param(_t("X", [2], "FP64", [1.0, 2.0]), "rows, the other inputs have", id="other rows"),
    pytest.param(_t("X", [1, 1], "FP64", [1.0]), None, id="a [n, 1] column"),
    pytest.param(_t("X", [1], "FP32", [1.0]), None, id="another datatype"),
    pytest.param(_t("X", [1], "FP32x", [1.0]), "datatype must be one of", id="unknown datatype"),
    pytest.param(_t("X", [1], "FP64", [10**400]), "too large", id="an int beyond float64"),
    pytest.param(_t("", [1], "FP64", [1.0]), "name must be a non-empty string", id="no name"),
    pytest.param(
        _t(3, [1], "FP64", [1.0]), "name must be a non-empty string", id="a name not text"
    ),
    pytest.param(_t("X", [1], "FP64", (1.0,)), "data must be a list", id="data a tuple"),
    pytest.param(_t("X", [1], "FP64", "1.0"), "data must be a list", id="data not a list"),
    pytest.param(_t("X", [1], "FP64", [1.0], parameters={}), None, id="empty parameters"),
    pytest.param(
        _t("X", [1], "FP64", [1.0], parameters=[]),
        "parameters must be an object",
        id="parameters not an object",
    ),
    pytest.param(
        _t("X", [1], "FP64", [1.0], parameters={"binary_data_size": 8}),
        "has both data and parameters.binary_data_size",
        id="data and binary data",
    ),
    pytest.param(
        {"name": "X", "shape": [1], "datatype": "FP64", "parameters": {"binary_data_size": 8}},
        "no Inference-Header-Content-Length",
        id="binary data",
    ),
    pytest.param([1.0], "must be an object with name", id="an input not an object"),
]


@pytest.mark.parametrize(("second", "message"), REFUSED_OR_ODD)
@pytest.mark.parametrize("first_is_odd", [False, True])
def test_anything_else_gets_the_one_by_one_answer(second, message, first_is_odd, monkeypatch):
    """The one-pass path takes no request the per-tensor path would refuse: every odd input,
    first or among the others, gets exactly the per-tensor answer (frame or error)."""
    inputs = _row()["inputs"]
    slot = 0 if first_is_odd else 1
    odd = copy.deepcopy(second)
    if isinstance(odd, dict) and odd["name"] == "X":
        odd["name"] = NAMES[slot]
    inputs[slot] = odd
    payload = {"inputs": inputs}
    assert v2._column_block(copy.deepcopy(inputs)) is None
    fast = _outcome(payload, DOUBLES, False, monkeypatch)
    slow = _outcome(payload, DOUBLES, True, monkeypatch)
    if isinstance(slow, ProtocolError):
        assert isinstance(fast, ProtocolError)
        assert (str(fast), fast.field) == (str(slow), slow.field)
        assert message is not None and message in str(fast)
    else:
        assert message is None
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@pytest.mark.parametrize(
    ("datatype", "value", "message"),
    [
        ("FP32", 1e39, "FP32 data has numbers out of its range"),
        ("FP16", 1e10, "FP16 data has numbers out of its range"),
        ("INT8", 128, "INT8 data out of range [-128, 127]"),
        ("UINT8", -1, "UINT8 data out of range [0, 255]"),
        ("INT64", 2**63, "INT64 data out of range"),
        ("INT32", 1.5, "INT32 data must be integers"),
    ],
)
def test_values_a_datatype_cannot_hold_are_refused_naming_the_input(
    datatype, value, message, monkeypatch
):
    inputs = _row(datatype, [[1]] * 10)["inputs"]
    inputs[4]["data"] = [value]
    payload = {"inputs": inputs}
    assert v2._column_block(copy.deepcopy(inputs)) is None
    for one_by_one in (False, True):
        with pytest.raises(ProtocolError) as info:
            _decode(payload, DOUBLES, one_by_one, monkeypatch)
        assert message in str(info.value) and "input 'f4'" in str(info.value)
        assert info.value.field == "inputs[4].data"


def test_a_nan_sent_as_a_float_keeps_its_value(monkeypatch):
    inputs = [_t(n, [1], "FP32", [float("nan") if n == "f3" else 1.0]) for n in NAMES]
    for one_by_one in (False, True):
        with monkeypatch.context() as m:
            if one_by_one:
                m.setattr(v2, "_column_block", lambda inputs: None)
            frame = v2.decode_payload({"inputs": inputs}, memoryview(b""), False, DOUBLES).data
        assert np.isnan(frame["f3"].iloc[0]) and frame["f0"].iloc[0] == 1.0


def test_repeated_names_are_refused_after_one_pass_decoding():
    inputs = _row()["inputs"]
    inputs[3]["name"] = "f7"
    assert v2._column_block(copy.deepcopy(inputs)) is not None
    with pytest.raises(ProtocolError, match="tensor names in 'inputs' must be unique"):
        v2.decode_payload({"inputs": inputs}, memoryview(b""), False, DOUBLES)


def test_binary_data_no_input_claims_is_still_refused():
    with pytest.raises(ProtocolError, match="8 bytes of binary data that no input claims"):
        v2.decode_payload(_row(), memoryview(b"\0" * 8), True, DOUBLES)


def test_the_signature_columns_share_one_index_per_signature():
    first = v2.decode_payload(_row(), memoryview(b""), False, DOUBLES).data
    second = v2.decode_payload(_row(), memoryview(b""), False, DOUBLES).data
    assert first.columns is second.columns
    assert first.columns.tolist() == NAMES


def test_names_that_are_not_the_signature_columns_are_not_kept(monkeypatch):
    monkeypatch.setattr(v2, "_LABELS", {})
    request = _payload(_t("b", [1], "FP64", [2.0]), _t("a", [1], "FP64", [1.0]))
    frame = v2.decode_payload(request, memoryview(b""), False, MIXED).data
    assert frame.columns.tolist() == ["b", "a"]
    assert v2._LABELS == {}


def test_an_index_a_model_renamed_is_not_handed_out_again(monkeypatch):
    monkeypatch.setattr(v2, "_LABELS", {})
    frame = v2.decode_payload(_row(), memoryview(b""), False, DOUBLES).data
    frame.columns.name = "renamed by a model"
    again = v2.decode_payload(_row(), memoryview(b""), False, DOUBLES).data
    assert again.columns.name is None and again.columns is not frame.columns
    assert v2.decode_payload(_row(), memoryview(b""), False, DOUBLES).data.columns is again.columns


def test_the_index_table_is_bounded(monkeypatch):
    monkeypatch.setattr(v2, "_LABELS", {})
    for i in range(v2._MAX_LABELS + 5):
        signature = ModelSignature(Schema([ColSpec("double", f"c{i}")]))
        payload = _payload(_t(f"c{i}", [1], "FP64", [1.0]))
        assert v2.decode_payload(
            payload, memoryview(b""), False, signature
        ).data.columns.tolist() == [f"c{i}"]
    assert len(v2._LABELS) == v2._MAX_LABELS
