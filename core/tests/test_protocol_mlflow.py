"""Side by side with real MLflow: same payloads, same model input; same response bodies.

Runs where MLflow is importable (the benchmark/compat env: ``$(python benchmarks/_envs.py)
-m pytest core/tests/test_protocol_mlflow.py``); skipped elsewhere.
"""

from __future__ import annotations

import datetime
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow")

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models.utils import _enforce_schema  # noqa: E402
from mlflow.pyfunc import scoring_server  # noqa: E402
from mlflow.types import Schema as MlflowSchema  # noqa: E402

from saveur.enforce import compile_enforcer  # noqa: E402
from saveur.errors import ProtocolError, SchemaError  # noqa: E402
from saveur.protocol import parse_request, predictions_to_json  # noqa: E402
from saveur.signature import ModelSignature  # noqa: E402
from saveur.types import ColSpec, Schema, TensorSpec  # noqa: E402

pytestmark = pytest.mark.mlflow

COLUMNS = ModelSignature(Schema([
    ColSpec("double", "x"), ColSpec("long", "n"), ColSpec("string", "s"),
    ColSpec("boolean", "b"),
]))
TENSOR = ModelSignature(Schema([TensorSpec(np.dtype("float32"), (-1, 2))]))


def mlflow_input(body: bytes, content_type: str, signature: ModelSignature):
    schema = MlflowSchema.from_json(signature.inputs.to_json())
    if content_type == "text/csv":
        data = scoring_server.parse_csv_input(io.StringIO(body.decode()), schema=schema)
    else:
        payload = json.loads(body)
        data = scoring_server.infer_and_parse_data(payload, schema)
    return _enforce_schema(data, schema)


def saveur_input(body: bytes, content_type: str, signature: ModelSignature):
    parsed = parse_request(body, content_type, signature)
    return compile_enforcer(signature)(parsed.data, parsed.params)[0]


def plain(value):
    """Comparable Python values: numpy scalars unwrapped, NaN as a marker."""
    if isinstance(value, pd.DataFrame):
        return {c: [plain(v) for v in value[c].tolist()] for c in value.columns}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


RECORDS = [{"x": 1.5, "n": 2, "s": "a", "b": True}, {"x": 3, "n": 4, "s": "b", "b": False}]
AGREE = [
    ({"dataframe_split": {"columns": ["x", "n", "s", "b"],
                          "data": [[r["x"], r["n"], r["s"], r["b"]] for r in RECORDS]}}, COLUMNS),
    ({"dataframe_records": RECORDS}, COLUMNS),
    ({"dataframe_records": [{**r, "extra": 1} for r in RECORDS]}, COLUMNS),
    ({"instances": RECORDS}, COLUMNS),
    ({"inputs": {"x": [1.5, 3], "n": [2, 4], "s": ["a", "b"], "b": [True, False]}}, COLUMNS),
    ({"inputs": [[1, 2], [3.5, 4]]}, TENSOR),
    ({"instances": [[1, 2], [3.5, 4]]}, TENSOR),
]


@pytest.mark.parametrize(("payload", "signature"), AGREE)
def test_json_payloads_give_the_same_model_input(payload, signature):
    body = json.dumps(payload).encode()
    ours = saveur_input(body, "application/json", signature)
    theirs = mlflow_input(body, "application/json", signature)
    assert plain(ours) == plain(theirs)


def test_csv_gives_the_same_model_input():
    body = b"x,n,s,b\n1.5,2,a,True\n3,4,b,False\n"
    assert plain(saveur_input(body, "text/csv", COLUMNS)) == plain(
        mlflow_input(body, "text/csv", COLUMNS)
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_records": [{"x": "abc", "n": 1, "s": "a", "b": True}]},
        {"dataframe_records": [{"x": 1.0, "s": "a", "b": True}]},
        {"dataframe_split": {"columns": ["x"], "data": [[1.0]], "bogus": 1}},
        {"inputs": [1], "instances": [1]},
    ],
)
def test_payloads_mlflow_rejects_are_rejected(payload):
    body = json.dumps(payload).encode()
    with pytest.raises(MlflowException):
        mlflow_input(body, "application/json", COLUMNS)
    with pytest.raises((ProtocolError, SchemaError)):
        saveur_input(body, "application/json", COLUMNS)


PREDICTIONS = [
    np.array([1, 0, 1]),
    np.array([[0.25, 0.75]]),
    np.array([1.0, np.nan]),
    pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]}),
    pd.DataFrame({"t": pd.to_datetime(["2024-01-02 03:04:05"])}),
    pd.Series([1, 2], name="p"),
    pd.Series([0.5]),
    {"a": np.array([1, 2]), "b": [1.5]},
    [1, "a", None],
    np.float32(0.5),
    [b"ab"],
    [datetime.date(2024, 1, 2)],
]


@pytest.mark.parametrize("predictions", PREDICTIONS, ids=lambda p: type(p).__name__)
def test_predictions_json_matches_mlflow(predictions):
    out = io.StringIO()
    scoring_server.predictions_to_json(predictions, out)
    # Parse both with the standard library (it reads MLflow's NaN token) and compare.
    ours = json.loads(predictions_to_json(predictions))
    theirs = json.loads(out.getvalue())
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
