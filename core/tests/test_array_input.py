"""A numeric table handed to a flavor as its values (``ArrayInput``), never built as a frame.

A flavor's predict function may offer to take a table of its exact columns as one 2-D
ndarray. The host takes the offer only where the signature's enforcement would pass the
frame through untouched, and the answer must be the one the frame gets: here the parser
(``parse_request(..., array_columns)``), the pyfunc model (``array_columns``,
``predict_array``) and the scoring server are checked against the frame path.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pandas as pd
import pytest

import saveur
from saveur.errors import ProtocolError, SaveurError, SchemaError
from saveur.hookspecs import ArrayInput
from saveur.protocol import ColumnBlock, parse_request
from saveur.pyfunc import PyFuncModel
from saveur.serving.app import app_for_model
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

COLUMNS = ("a", "b", "c")
JSON = "application/json"


def _signature(*types, names=COLUMNS, params=None):
    types = types or ("double",) * len(names)
    return ModelSignature(Schema([ColSpec(t, n) for t, n in zip(types, names, strict=True)]),
                          params=params)


SIGNATURE = _signature()


class Offering:
    """A predict function that sums each row, offering to take the values as an array."""

    def __init__(self, columns=COLUMNS):
        self.calls: list[tuple[str, object]] = []
        self.array_input = ArrayInput(tuple(columns), self.values)

    def __call__(self, data, params=None):
        self.calls.append(("frame", data))
        return data.to_numpy().sum(axis=1)

    def values(self, block):
        self.calls.append(("values", block))
        return block.sum(axis=1)


@pytest.fixture
def saved(tmp_path, echo_model):
    """The metadata and folder of a saved model; the tests bring their own predict function."""
    def save(signature):
        path = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        saveur.save_model(echo_model, path, signature=signature)
        return saveur.pyfunc.load_model(path)

    return save


def _model(loaded, predict_fn):
    return PyFuncModel(metadata=loaded.metadata, predict_fn=predict_fn, raw_model=None,
                       model_dir=loaded.model_dir)


def _split(columns=COLUMNS, data=((1.0, 2.0, 3.0),), index=None, **extra):
    body = {"dataframe_split": {"columns": list(columns), "data": [list(r) for r in data]}}
    if index is not None:
        body["dataframe_split"]["index"] = index
    body.update(extra)
    return json.dumps(body).encode()


# --- the pyfunc model -------------------------------------------------------------------


def test_array_columns_are_the_signature_columns_when_the_flavor_offers_them(saved):
    model = _model(saved(SIGNATURE), Offering())
    assert model.array_columns == COLUMNS


@pytest.mark.parametrize(
    "signature, offer",
    [
        (_signature(), ("a", "c", "b")),  # the estimator's columns in another order
        (_signature(), ("a", "b")),  # the estimator reads fewer columns
        (_signature("double", "double", "long"), COLUMNS),  # a column enforcement converts
        (_signature("double", "float", "double"), COLUMNS),  # two float widths
        (_signature("string", "string", "string"), COLUMNS),
        (_signature(params=ParamSchema([ParamSpec("k", "long", 1)])), COLUMNS),  # defaults
        (ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, 3))])), COLUMNS),
        (ModelSignature(Schema([ColSpec("double")] * 3)), COLUMNS),  # unnamed columns
        (None, COLUMNS),
    ],
    ids=["order", "fewer", "long", "mixed-float", "string", "params", "tensor", "unnamed",
         "no-signature"],
)
def test_no_array_columns_where_the_frame_would_not_pass_untouched(saved, signature, offer):
    model = _model(saved(signature), Offering(offer))
    assert model.array_columns is None
    with pytest.raises(SaveurError, match=r"predict_array\(\) needs a model whose "
                                          r"array_columns is set"):
        model.predict_array(np.zeros((1, 3)))


def test_no_array_columns_without_an_offer_or_with_a_malformed_one(saved):
    loaded = saved(SIGNATURE)
    plain = Offering()
    del plain.array_input
    assert _model(loaded, plain).array_columns is None
    odd = Offering()
    odd.array_input = (COLUMNS, odd.values)  # not an ArrayInput
    assert _model(loaded, odd).array_columns is None


def test_predict_array_hands_the_values_themselves_to_the_flavor(saved):
    fn = Offering()
    model = _model(saved(SIGNATURE), fn)
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])
    np.testing.assert_array_equal(model.predict_array(values), [6.0, 15.5])
    assert [kind for kind, _ in fn.calls] == ["values"]
    assert fn.calls[0][1] is values
    # and the frame path, on the frame of those values, agrees
    np.testing.assert_array_equal(model.predict(pd.DataFrame(values, columns=list(COLUMNS))),
                                  model.predict_array(values))


def test_float_columns_take_float32_values(saved):
    fn = Offering()
    model = _model(saved(_signature("float", "float", "float")), fn)
    values = np.ones((2, 3), dtype="float32")
    model.predict_array(values)
    assert fn.calls[-1][0] == "values"
    # float64 values for float columns: enforced as their frame is, and refused
    with pytest.raises(SchemaError, match="column 'a' expects float, got float64"):
        model.predict_array(values.astype("float64"))
    assert len(fn.calls) == 1


def test_other_arrays_are_enforced_as_their_frame_would_be(saved):
    fn = Offering()
    model = _model(saved(SIGNATURE), fn)
    small_ints = np.array([[1, 2, 3]], dtype="int32")  # safe into double: converted
    np.testing.assert_array_equal(model.predict_array(small_ints), [6.0])
    kind, frame = fn.calls[-1]
    assert kind == "frame" and (frame.dtypes == "float64").all()
    with pytest.raises(SchemaError, match="column 'a' expects double, got int64 value 2"):
        model.predict_array(np.array([[2, 3, 4]], dtype="int64"))  # may lose precision


def test_an_array_of_the_wrong_width_is_a_schema_error_naming_the_columns(saved):
    model = _model(saved(SIGNATURE), Offering())
    with pytest.raises(SchemaError, match=r"predict_array\(\) takes a 2-D array with one "
                                          r"column per name of array_columns \(3\)"):
        model.predict_array(np.zeros((1, 2)))


# --- the parser -------------------------------------------------------------------------


def test_a_split_of_exactly_the_columns_parses_into_its_values():
    parsed = parse_request(_split(data=[(1, 2.5, "3")]), JSON, SIGNATURE, COLUMNS)
    assert type(parsed.data) is ColumnBlock and parsed.params is None
    assert parsed.data.columns == COLUMNS
    assert parsed.data.values.dtype == np.float64
    # the frame it stands for is the one parsed without array_columns, exactly
    pd.testing.assert_frame_equal(parsed.data.frame(),
                                  parse_request(_split(data=[(1, 2.5, "3")]), JSON,
                                                SIGNATURE).data)


def test_nulls_become_nan_as_in_the_frame():
    body = _split(data=[(None, 1.0, 2.0), (3.0, None, 4.0)])
    block = parse_request(body, JSON, SIGNATURE, COLUMNS).data
    pd.testing.assert_frame_equal(block.frame(), parse_request(body, JSON, SIGNATURE).data)
    assert np.isnan(block.values[0, 0]) and np.isnan(block.values[1, 1])


@pytest.mark.parametrize(
    "body",
    [
        _split(columns=("a", "c", "b")),
        _split(columns=("a", "b"), data=[(1.0, 2.0)]),
        _split(columns=("a", "b", "c", "d"), data=[(1.0, 2.0, 3.0, 4.0)]),
        _split(index=[7]),
        _split(params={"k": 1}),
        _split(data=[(1.0, "x", 3.0)]),  # not a number: the per-column path names it
        _split(data=[]),
        json.dumps({"dataframe_records": [{"a": 1.0, "b": 2.0, "c": 3.0}]}).encode(),
        json.dumps({"inputs": {"a": [1.0], "b": [2.0], "c": [3.0]}}).encode(),
    ],
    ids=["order", "fewer", "extra", "index", "params", "text", "no-rows", "records", "inputs"],
)
def test_anything_else_parses_into_the_frame_it_always_did(body):
    try:
        expected = parse_request(body, JSON, SIGNATURE)
    except ProtocolError as exc:
        with pytest.raises(ProtocolError) as got:
            parse_request(body, JSON, SIGNATURE, COLUMNS)
        assert str(got.value) == str(exc)
        return
    parsed = parse_request(body, JSON, SIGNATURE, COLUMNS)
    assert isinstance(parsed.data, pd.DataFrame)
    pd.testing.assert_frame_equal(parsed.data, expected.data)
    assert parsed.params == expected.params


def test_array_columns_the_signature_does_not_type_as_one_float_give_a_frame():
    longs = _signature("long", "long", "long")
    parsed = parse_request(_split(data=[(1, 2, 3)]), JSON, longs, COLUMNS)
    assert isinstance(parsed.data, pd.DataFrame)
    assert list(parsed.data.dtypes) == [np.dtype("int64")] * 3


def test_csv_is_parsed_into_a_frame_whatever_the_array_columns():
    parsed = parse_request(b"a,b,c\n1.0,2.0,3.0\n", "text/csv", SIGNATURE, COLUMNS)
    assert isinstance(parsed.data, pd.DataFrame)


@pytest.mark.parametrize(
    "body, message",
    [
        (_split(data=[(1.0, 2.0)]), "'dataframe_split.data' row 0 has 2 values, expected 3"),
        (json.dumps({"dataframe_split": {"columns": list(COLUMNS), "data": [{"a": 1}]}}
                    ).encode(), "'dataframe_split.data' row 0 must be a list of values"),
        (json.dumps({"dataframe_split": {"columns": list(COLUMNS), "data": 3}}).encode(),
         "'dataframe_split.data' must be a list of rows"),
    ],
)
def test_bad_splits_get_the_same_error_with_array_columns(body, message):
    for columns in (None, COLUMNS):
        with pytest.raises(ProtocolError, match=message):
            parse_request(body, JSON, SIGNATURE, columns)


# --- the scoring server -----------------------------------------------------------------


def _post(app, body, path="/invocations"):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=body, headers={"Content-Type": JSON})

    return asyncio.run(go())


def test_the_server_predicts_a_matching_split_from_its_values(saved):
    fn = Offering()
    app = app_for_model(_model(saved(SIGNATURE), fn))
    response = _post(app, _split(data=[(1.0, 2.0, 3.0), (0.5, 0.25, 0.125)]))
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [6.0, 0.875]}
    assert [kind for kind, _ in fn.calls] == ["values"]
    # the same request in another column order takes the frame, with the same answer
    response = _post(app, _split(columns=("c", "b", "a"), data=[(3.0, 2.0, 1.0)]))
    assert response.json() == {"predictions": [6.0]}
    assert fn.calls[-1][0] == "frame"


def test_the_batching_server_keeps_the_frame(saved):
    fn = Offering()
    app = app_for_model(_model(saved(SIGNATURE), fn), max_batch_size=8)
    response = _post(app, _split())
    assert response.json() == {"predictions": [6.0]}
    assert [kind for kind, _ in fn.calls] == ["frame"]


def test_a_failure_of_the_array_predict_is_answered_as_any_model_failure(saved):
    fn = Offering()

    def broken(block):
        raise ZeroDivisionError("the model divided by zero")

    fn.array_input = ArrayInput(COLUMNS, broken)
    response = _post(app_for_model(_model(saved(SIGNATURE), fn)), _split())
    assert response.status_code == 400
    assert response.json() == {"error_code": "BAD_REQUEST",
                               "message": "ZeroDivisionError: the model divided by zero"}


# --- Open Inference v2 ------------------------------------------------------------------


def _v2_body(names=COLUMNS, rows=((1.0, 2.0, 3.0),), datatype="FP64", **extra):
    inputs = [{"name": name, "shape": [len(rows)], "datatype": datatype,
               "data": [row[i] for row in rows]} for i, name in enumerate(names)]
    return json.dumps({"inputs": inputs, **extra}).encode()


def test_v2_named_inputs_of_exactly_the_columns_are_predicted_from_their_values(saved):
    fn = Offering()
    app = app_for_model(_model(saved(SIGNATURE), fn), name="m")
    rows = ((1.0, 2.0, 3.0), (0.5, 0.25, 0.125))
    response = _post(app, _v2_body(rows=rows), "/v2/models/m/infer")
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [6.0, 0.875]
    assert [kind for kind, _ in fn.calls] == ["values"]
    np.testing.assert_array_equal(fn.calls[0][1], np.array(rows))
    assert fn.calls[0][1].flags.c_contiguous
    # in another order: the frame, with the same answer
    response = _post(app, _v2_body(names=("c", "b", "a"), rows=((3.0, 2.0, 1.0),)),
                     "/v2/models/m/infer")
    assert response.json()["outputs"][0]["data"] == [6.0]
    assert fn.calls[-1][0] == "frame"
    # parameters a signature without params ignores (v2 drops them) change nothing
    response = _post(app, _v2_body(parameters={"k": 1}), "/v2/models/m/infer")
    assert response.json()["outputs"][0]["data"] == [6.0]
    assert fn.calls[-1][0] == "values"


def test_v2_decoding_with_array_columns_gives_the_values_of_the_frame():
    from types import SimpleNamespace

    from saveur.serving import v2

    scorer = SimpleNamespace(signature=SIGNATURE)
    body = _v2_body(rows=((1.0, 2.0, 3.0), (4.0, 5.0, 6.0)))
    frame = v2.decode_request(body, scorer).data
    block = v2.decode_request(body, scorer, None, COLUMNS).data
    assert type(block) is ColumnBlock
    pd.testing.assert_frame_equal(block.frame(), frame)
    # int inputs into double columns: the frame converts them, so they come as the frame
    ints = v2.decode_request(_v2_body(rows=((1, 2, 3),), datatype="INT32"), scorer, None,
                             COLUMNS).data
    assert type(ints) is ColumnBlock and ints.values.dtype == np.int32
