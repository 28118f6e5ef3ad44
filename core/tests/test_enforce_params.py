"""Params enforcement: defaults, unknown params, conversions and rejections."""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pandas as pd
import pytest

from saveur.enforce import compile_enforcer
from saveur.errors import SchemaError
from saveur.signature import ModelSignature
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema


def enforcer(*params, inputs=None):
    return compile_enforcer(ModelSignature(inputs=inputs, params=ParamSchema(list(params))))


def params_of(value, *params):
    return enforcer(*params)(None, value)[1]


def test_defaults_fill_missing_params():
    spec = [ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)]
    assert params_of(None, *spec) == {"k": 3, "t": 0.5}
    assert params_of({"t": 0.9}, *spec) == {"k": 3, "t": 0.9}


def test_default_dict_is_fresh_each_call():
    enforce = enforcer(ParamSpec("k", "long", 3))
    first = enforce(None, None)[1]
    first["k"] = 99
    assert enforce(None, None)[1] == {"k": 3}


def test_unknown_params_are_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        out = params_of({"k": 1, "bogus": 2}, ParamSpec("k", "long", 3))
    assert out == {"k": 1}
    assert "bogus" in caplog.text and "['k']" in caplog.text


def test_int_param_converts_to_double():
    out = params_of({"t": 1}, ParamSpec("t", "double", 0.5))
    assert out == {"t": 1.0} and isinstance(out["t"], float)


def test_numpy_scalar_param_becomes_python():
    out = params_of({"k": np.int32(4)}, ParamSpec("k", "long", 3))
    assert out == {"k": 4} and type(out["k"]) is int


def test_string_param_for_double_is_rejected_naming_it():
    with pytest.raises(SchemaError) as info:
        params_of({"t": "hot"}, ParamSpec("t", "double", 0.5))
    message = str(info.value)
    assert message.startswith("param 't'") and "double" in message and "'hot'" in message


def test_bool_param_for_long_is_rejected():
    with pytest.raises(SchemaError, match=r"^param 'k'"):
        params_of({"k": True}, ParamSpec("k", "long", 3))


def test_list_param_for_scalar_is_rejected():
    with pytest.raises(SchemaError, match=r"^param 'k'"):
        params_of({"k": [1, 2]}, ParamSpec("k", "long", 3))


def test_array_param_converts_items():
    out = params_of({"w": [1, 2]}, ParamSpec("w", "double", [0.0], shape=(-1,)))
    assert out == {"w": [1.0, 2.0]}


def test_array_param_rejects_scalar():
    with pytest.raises(SchemaError, match=r"^param 'w'"):
        params_of({"w": 1.0}, ParamSpec("w", "double", [0.0], shape=(-1,)))


def test_datetime_param_parses_iso_string():
    out = params_of({"d": "2024-01-02"}, ParamSpec("d", "datetime", None))
    assert out["d"] == datetime.date(2024, 1, 2) or out["d"] == datetime.datetime(2024, 1, 2)


def test_params_must_be_a_dict():
    with pytest.raises(SchemaError) as info:
        params_of([1, 2], ParamSpec("k", "long", 3))
    assert str(info.value) == "params must be a dict, got list"


def test_non_string_keys_are_read_as_strings():
    assert params_of({1: 5}, ParamSpec("1", "long", 3)) == {"1": 5}


def test_params_without_a_params_schema_are_dropped_with_a_warning(caplog):
    enforce = compile_enforcer(ModelSignature(Schema([ColSpec("double", "a")])))
    df = pd.DataFrame({"a": [1.0]})
    with caplog.at_level(logging.WARNING, logger="saveur.enforce"):
        _, params = enforce(df, {"x": 1})
    assert params == {}
    assert "declares no params" in caplog.text
    assert enforce(df, None)[1] is None


def test_params_only_signature_passes_data_through():
    data = object()
    out_data, out_params = enforcer(ParamSpec("k", "long", 3))(data, {"k": 2})
    assert out_data is data and out_params == {"k": 2}


def test_inputs_and_params_are_enforced_together():
    enforce = enforcer(ParamSpec("k", "long", 3), inputs=Schema([ColSpec("double", "a")]))
    data, params = enforce(pd.DataFrame({"b": [1], "a": [0.5]}), {"k": 7})
    assert list(data.columns) == ["a"] and params == {"k": 7}
