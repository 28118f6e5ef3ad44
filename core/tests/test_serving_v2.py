"""The Open Inference Protocol v2 codec: tensors to model input and predictions to tensors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import orjson
import pandas as pd
import pytest

from saveur.errors import ProtocolError
from saveur.serving import v2
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


def _scorer(signature=None, name="m"):
    return SimpleNamespace(signature=signature, name=name)


COLUMNS = ModelSignature(
    Schema([ColSpec("double", "a"), ColSpec("long", "b")]),
    Schema([ColSpec("double", "y")]),
    ParamSchema([ParamSpec("offset", "double", 0.0)]),
)
TENSOR = ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 2))]))
NAMED = ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 2), "img"),
                               TensorSpec(np.dtype("int64"), (-1,), "ids")]))


def _body(*tensors, **extra):
    return orjson.dumps({"inputs": list(tensors), **extra})


def _t(name, shape, datatype, data):
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_columns_become_a_dataframe_by_name():
    request = v2.decode_request(
        _body(_t("a", [2], "FP64", [1.5, 2.5]), _t("b", [2, 1], "INT64", [[1], [2]]),
              parameters={"offset": 1.0, "content_type": "pd"}),
        _scorer(COLUMNS),
    )
    assert isinstance(request.data, pd.DataFrame)
    assert request.data.to_dict("list") == {"a": [1.5, 2.5], "b": [1, 2]}
    assert request.params == {"offset": 1.0}


def test_unnamed_tensor_signature_takes_one_array_with_its_shape():
    request = v2.decode_request(_body(_t("x", [2, 2], "FP32", [1, 2, 3, 4])), _scorer(TENSOR))
    assert request.data.shape == (2, 2)
    assert request.data.dtype == np.float32


def test_named_tensors_map_one_to_one():
    request = v2.decode_request(
        _body(_t("img", [1, 2], "FP32", [[1, 2]]), _t("ids", [1], "INT64", [7])), _scorer(NAMED)
    )
    assert set(request.data) == {"img", "ids"}
    assert request.data["ids"].tolist() == [7]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b"[1]", "JSON object with 'inputs'"),
        (b'{"inputs": []}', "non-empty list"),
        (_body({"shape": [1]}), "name must be a non-empty string"),
        (_body(_t("a", [1], "FLOAT", [1])), "datatype must be one of"),
        (_body(_t("a", [-1], "FP64", [1])), "shape must be a list of 1 to 32 integers"),
        (_body(_t("a", [], "FP64", [1])), "shape must be a list of 1 to 32 integers"),
        (_body(_t("a", [1] * 33, "FP64", [1])), "shape must be a list of 1 to 32 integers"),
        (_body(_t("a", [0, 2**40], "FP64", [])), "integers from 0 to 2147483647"),
        (_body(_t("a", [2**62], "FP64", [1])), "integers from 0 to 2147483647"),
        (_body(_t("a", [2], "FP64", [[1], [2]])), "nested deeper than shape [2]"),
        (_body(_t("a", [1, 2], "FP64", [[[1], [2]]])), "nested deeper than shape [1, 2]"),
        (_body(_t("a", [2, 1], "FP64", [[1], 2])), "nested less deeply than shape [2, 1]"),
        (_body(_t("a", [2, 2], "FP64", [[1, 2], [3]])), "a list at depth 1 has 1 items"),
        (_body(_t("a", [2, 2], "FP64", [[1, 2, 3], [4]])), "a list at depth 1 has 3 items"),
        (_body(_t("a", [1, 4], "FP64", [[1, 2], [3, 4]])), "a list at depth 0 has 2 items"),
        (_body(_t("a", [3], "FP64", [1, 2])), "shape [3] needs 3 values, got 2"),
        (_body(_t("a", [1], "INT64", ["x"])), "INT64 data must be numbers"),
        (_body(_t("a", [1], "INT64", [1.5])), "INT64 data must be integers"),
        (_body(_t("a", [1], "INT32", [2**40])), "out of range"),
        (_body(_t("a", [1], "BOOL", [1])), "BOOL data must be true or false"),
        (_body(_t("a", [1], "BYTES", [1])), "BYTES data must be strings"),
        (_body(_t("a", [1], "FP64", [1]), _t("a", [1], "FP64", [1])), "must be unique"),
        (_body(_t("a", [1], "FP64", [1]), id=3), "'id' must be a string"),
        (_body(_t("a", [1], "FP64", [1]), outputs=["y"]), "'outputs' must be a list"),
    ],
)
def test_malformed_requests_are_refused_with_the_field_at_fault(body, message):
    with pytest.raises(ProtocolError) as info:
        v2.decode_request(body, _scorer(COLUMNS))
    assert message in str(info.value)
    assert info.value.field is not None


def test_a_column_must_be_a_1d_tensor():
    with pytest.raises(ProtocolError, match="input 'a': a column is a 1-D tensor"):
        v2.decode_request(_body(_t("a", [1, 2], "FP64", [1, 2])), _scorer(COLUMNS))


def test_columns_must_have_the_same_number_of_rows():
    with pytest.raises(ProtocolError, match="input 'b' has 1 rows, the other inputs have 2"):
        v2.decode_request(
            _body(_t("a", [2], "FP64", [1, 2]), _t("b", [1], "INT64", [1])), _scorer(COLUMNS)
        )


def test_unnamed_tensor_model_refuses_several_inputs():
    with pytest.raises(ProtocolError, match="one unnamed tensor, got 2 inputs"):
        v2.decode_request(
            _body(_t("a", [1], "FP32", [1]), _t("b", [1], "FP32", [1])), _scorer(TENSOR)
        )


def test_params_are_dropped_for_a_model_without_params():
    request = v2.decode_request(
        _body(_t("x", [1, 2], "FP32", [1, 2]), parameters={"offset": 1}), _scorer(TENSOR)
    )
    assert request.params is None


def test_predictions_are_encoded_as_typed_tensors_named_by_the_output_signature():
    request = v2.InferenceRequest(None, None, "req-1", None)
    response = v2.encode_response(np.array([1.0, np.nan]), request, _scorer(COLUMNS))
    assert response == {
        "model_name": "m",
        "id": "req-1",
        "outputs": [{"name": "y", "datatype": "FP64", "shape": [2], "data": [1.0, None]}],
    }


def test_dataframe_predictions_give_one_tensor_per_column():
    request = v2.InferenceRequest(None, None, None, ["label"])
    frame = pd.DataFrame({"score": [0.5], "label": ["cat"]})
    response = v2.encode_response(frame, request, _scorer(None))
    assert response["outputs"] == [
        {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["cat"]}
    ]


def test_unknown_requested_outputs_are_refused():
    request = v2.InferenceRequest(None, None, None, ["nope"])
    with pytest.raises(ProtocolError, match="requested output\\(s\\) 'nope' do not exist"):
        v2.encode_response(np.array([1]), request, _scorer(None))


def test_the_registry_version_is_reported():
    scorer = SimpleNamespace(signature=None, name="fraud", model_version="3")
    assert v2.model_metadata(scorer)["versions"] == ["3"]
    request = v2.InferenceRequest(None, None, None, None)
    assert v2.encode_response(np.array([1]), request, scorer)["model_version"] == "3"


def test_model_metadata_lists_columns_as_1d_tensors():
    metadata = v2.model_metadata(_scorer(COLUMNS))
    assert metadata["inputs"] == [
        {"name": "a", "datatype": "FP64", "shape": [-1]},
        {"name": "b", "datatype": "INT64", "shape": [-1]},
    ]
    assert v2.model_metadata(_scorer(NAMED))["inputs"][0] == {
        "name": "img", "datatype": "FP32", "shape": [-1, 2]}


@pytest.mark.parametrize(
    "data", [[1, 2, 3, 4, 5, 6], [[1, 2, 3], [4, 5, 6]]], ids=["flat", "nested-as-shape"]
)
def test_data_flat_or_nested_exactly_as_the_shape_is_accepted(data):
    request = v2.decode_request(_body(_t("a", [2, 3], "FP64", data)), _scorer(None))
    assert request.data.tolist() == [[1, 2, 3], [4, 5, 6]]


# --- binary tensor data extension ---------------------------------------------------------


def _binary_body(tensors, chunks, **extra):
    """A body of the binary extension and its Inference-Header-Content-Length value."""
    head = orjson.dumps({"inputs": tensors, **extra})
    return head + b"".join(chunks), str(len(head))


def _bt(name, shape, datatype, size):
    return {"name": name, "shape": shape, "datatype": datatype,
            "parameters": {"binary_data_size": size}}


def _strings(*values):
    return b"".join(len(v).to_bytes(4, "little") + v for v in values)


def test_binary_inputs_are_read_in_order_next_to_json_ones():
    a = np.array([1.5, 2.5]).astype("<f8").tobytes()
    body, length = _binary_body([_bt("a", [2], "FP64", 16), _t("b", [2], "INT64", [3, 4])], [a])
    request = v2.decode_request(body, _scorer(COLUMNS), length)
    pd.testing.assert_frame_equal(request.data, pd.DataFrame({"a": [1.5, 2.5], "b": [3, 4]}))


def test_binary_tensor_keeps_its_shape_and_dtype_and_is_writable():
    x = np.arange(4, dtype="<f4").tobytes()
    body, length = _binary_body([_bt("x", [2, 2], "FP32", 16)], [x])
    request = v2.decode_request(body, _scorer(TENSOR), length)
    assert request.data.dtype == np.float32 and request.data.shape == (2, 2)
    request.data[0, 0] = 9.0  # a copy, not a view of the read-only body
    np.testing.assert_array_equal(request.data[1], [2.0, 3.0])


def test_binary_bytes_elements_are_length_prefixed_utf8_strings():
    words = _strings("caf\u00e9".encode(), b"")
    body, length = _binary_body([_bt("s", [2], "BYTES", len(words))], [words])
    request = v2.decode_request(body, _scorer(None), length)
    assert request.data.tolist() == ["caf\u00e9", ""]


def test_binary_bool_is_one_byte_each():
    body, length = _binary_body([_bt("f", [3], "BOOL", 3)], [b"\x01\x00\x01"])
    assert v2.decode_request(body, _scorer(None), length).data.tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("tensors", "chunks", "length", "message"),
    [
        ([_bt("a", [1], "FP64", 8)], [b"\0" * 8], "12x", "Inference-Header-Content-Length"),
        ([_bt("a", [1], "FP64", 8)], [b"\0" * 8], "999999", "Inference-Header-Content-Length"),
        ([_bt("a", [1], "FP64", 800)], [b"\0" * 8], None, "input 'a': binary_data_size is 800"),
        ([_bt("a", [1], "FP64", -1)], [], None, "input 'a': parameters.binary_data_size"),
        ([_bt("a", [1], "FP64", True)], [b"\0"], None, "input 'a': parameters.binary_data_size"),
        ([_bt("a", [2], "FP64", 8)], [b"\0" * 8], None, "input 'a': shape and datatype FP64"),
        ([_bt("a", [2147483647, 4], "FP64", 8)], [b"\0" * 8], None, "input 'a': shape"),
        ([_bt("a", [1], "FP64", 8)], [b"\0" * 9], None, "1 bytes of binary data that no input"),
        ([_bt("s", [1], "BYTES", 5)], [b"\xff\xff\xff\xff\0"], None,
         "input 's': BYTES element 0 says 4294967295 bytes"),
        ([_bt("s", [1000], "BYTES", 5)], [_strings(b"a")], None,
         "input 's': 1000 BYTES elements need at least 4000 bytes"),
        ([_bt("s", [1], "BYTES", 6)], [_strings(b"a") + b"z"], None,
         "input 's': shape holds 1 BYTES elements, and 1 bytes"),
        ([_bt("s", [1], "BYTES", 5)], [_strings(b"\xff")], None, "input 's': BYTES element 0"),
        ([_bt("f", [1], "BOOL", 1)], [b"\x02"], None, "input 'f': BOOL binary data"),
        ([{**_bt("a", [1], "FP64", 8), "data": [1.0]}], [b"\0" * 8], None,
         "input 'a' has both data and parameters.binary_data_size"),
    ],
)
def test_lying_binary_sizes_are_protocol_errors_naming_the_tensor(tensors, chunks, length, message):
    body, real_length = _binary_body(tensors, chunks)
    with pytest.raises(ProtocolError, match=_re(message)):
        v2.decode_request(body, _scorer(None), length or real_length)


def _re(text):
    import re

    return re.escape(text)


def test_binary_data_without_the_length_header_is_refused():
    body, _ = _binary_body([_bt("a", [1], "FP64", 8)], [])
    with pytest.raises(ProtocolError, match="no Inference-Header-Content-Length"):
        v2.decode_request(body, _scorer(None))


def test_outputs_asked_as_binary_follow_the_json_part():
    frame = pd.DataFrame({"score": [0.5, 1.5], "label": ["cat", "d\u00f6g"]})
    request = v2.InferenceRequest(None, None, None, ["score", "label"], frozenset({"label"}))
    body, length = v2.encode_response_body(frame, request, _scorer(None))
    head = orjson.loads(body[:length])
    assert head["outputs"][0] == {"name": "score", "datatype": "FP64", "shape": [2],
                                  "data": [0.5, 1.5]}
    words = _strings(b"cat", "d\u00f6g".encode())
    assert head["outputs"][1] == {"name": "label", "datatype": "BYTES", "shape": [2],
                                  "parameters": {"binary_data_size": len(words)}}
    assert body[length:] == words


def test_binary_data_output_makes_every_output_binary():
    request = v2.InferenceRequest(None, None, None, None, all_binary=True)
    body, length = v2.encode_response_body(np.array([[1, 2]], dtype=np.int32), request,
                                           _scorer(None))
    assert orjson.loads(body[:length])["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert np.frombuffer(body[length:], "<i4").tolist() == [1, 2]


def test_json_only_answers_have_no_binary_part():
    request = v2.InferenceRequest(None, None, None, None)
    body, length = v2.encode_response_body(np.array([1.0]), request, _scorer(None))
    assert length is None and orjson.loads(body)["outputs"][0]["data"] == [1.0]


def test_binary_data_output_is_not_a_model_param():
    request = v2.decode_request(
        _body(_t("a", [1], "FP64", [1.0]), _t("b", [1], "INT64", [1]),
              parameters={"binary_data_output": True, "offset": 1.0}),
        _scorer(COLUMNS),
    )
    assert request.all_binary and request.params == {"offset": 1.0}


def test_metadata_names_an_unnamed_output_as_the_response_does():
    scorer = _scorer(ModelSignature(Schema([ColSpec("double", "a")]), Schema([ColSpec("long")])))
    name = v2.model_metadata(scorer)["outputs"][0]["name"]
    request = v2.InferenceRequest(None, None, None, [name])
    assert v2.encode_response(np.array([1]), request, scorer)["outputs"][0]["name"] == name


def test_named_inputs_make_the_same_frame_as_a_dict_would():
    """One-dtype columns are stacked into one block: same frame as pandas builds from a dict."""
    import numpy as np
    import pandas as pd

    from saveur.serving.v2 import _columns_frame

    same = [("a", np.array([1.5, 2.0])), ("b", np.array([[3.0], [4.0]])), ("c", np.array([5.0, 6.0]))]
    frame = _columns_frame(same, pd)
    expected = pd.DataFrame({"a": [1.5, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0]})
    pd.testing.assert_frame_equal(frame, expected)
    assert frame["b"].dtype == np.float64
    ints = [("a", np.array([1, 2], dtype=np.int32)), ("b", np.array([3, 4], dtype=np.int32))]
    pd.testing.assert_frame_equal(_columns_frame(ints, pd), pd.DataFrame(
        {"a": np.array([1, 2], dtype=np.int32), "b": np.array([3, 4], dtype=np.int32)}))
    mixed = [("a", np.array([1.5])), ("b", np.array([1], dtype=np.int64)),
             ("s", np.array(["x"], dtype=object))]
    pd.testing.assert_frame_equal(_columns_frame(mixed, pd), pd.DataFrame(dict(mixed)))
