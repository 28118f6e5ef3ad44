"""Scoring responses: MLflow's ``{"predictions": ...}`` and error bodies, written and read."""

from __future__ import annotations

import base64
import json
from typing import Any

from saveur.errors import ProtocolError


def _jsonable(data: Any) -> Any:
    """MLflow's ``_get_jsonable_obj``: arrays to lists, DataFrames and Series to records."""
    import numpy as np
    import pandas as pd

    if isinstance(data, np.ndarray):
        return data.tolist()
    if isinstance(data, pd.DataFrame):
        return data.to_dict(orient="records")
    if isinstance(data, pd.Series):
        return pd.DataFrame(data).to_dict(orient="records")
    return data


def _encode_binary(x: bytes) -> str:
    return base64.encodebytes(x).decode("ascii")


def _default(o: Any) -> Any:
    """MLflow's NumpyEncoder: numpy values, bytes (base64) and dates (ISO 8601)."""
    import datetime

    import numpy as np
    import pandas as pd

    if isinstance(o, np.ndarray):
        if o.dtype == object:
            return [_default(x) if not isinstance(x, (str, int, float, bool, type(None),
                                                      list, dict)) else x for x in o.tolist()]
        if o.dtype.kind == "S":
            return [_encode_binary(x) for x in o.ravel().tolist()]
        return o.tolist()
    if isinstance(o, np.datetime64):
        return str(np.datetime_as_string(o))
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (bytes, bytearray)):
        return _encode_binary(bytes(o))
    if isinstance(o, (pd.Timestamp, datetime.date, datetime.datetime, datetime.time)):
        return o.isoformat()
    if o is pd.NA or o is pd.NaT:
        return None
    raise TypeError(f"predictions hold a value of type {type(o).__name__} that is not JSON")


def _all_finite_numeric(predictions: Any) -> bool:
    """True if the predictions are numeric arrays/frames without NaN or infinity."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, np.ndarray):
        if predictions.dtype.kind in "biu":
            return True
        return predictions.dtype.kind == "f" and bool(np.isfinite(predictions).all())
    if isinstance(predictions, (pd.DataFrame, pd.Series)):
        frame = predictions.to_frame() if isinstance(predictions, pd.Series) else predictions
        for dtype in frame.dtypes:
            if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf"):
                return False
        values = frame.to_numpy()
        return values.dtype.kind in "biu" or bool(np.isfinite(values).all())
    return False


def _dumps(obj: Any, fast: bool) -> bytes:
    if fast:
        try:
            import orjson

            return orjson.dumps(
                obj,
                default=_default,
                option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
                | orjson.OPT_PASSTHROUGH_DATETIME,
            )
        except ImportError:  # pragma: no cover - orjson is a serve extra
            pass
    # The standard library writes NaN and Infinity as MLflow does (bare tokens).
    return json.dumps(obj, default=_default, allow_nan=True).encode("utf-8")


def predictions_to_json(predictions: Any) -> bytes:
    """Encode predictions as MLflow's ``{"predictions": ...}`` response body.

    Arrays become (nested) lists, DataFrames and Series lists of records, numpy scalars
    Python numbers, bytes base64, datetimes ISO 8601 strings; NaN and infinity are written
    as the bare ``NaN``/``Infinity`` tokens MLflow's server writes.
    """
    import numpy as np

    if isinstance(predictions, np.ndarray) and _all_finite_numeric(predictions):
        # orjson writes C-contiguous numeric arrays natively, without tolist()
        array = np.ascontiguousarray(predictions)
        if array.ndim >= 1 and len(array) > _CHUNK_ROWS:
            return _dumps_rows(array, True)
        return _dumps({"predictions": array}, True)
    fast = _all_finite_numeric(predictions)
    value = _jsonable(predictions)
    if isinstance(value, list) and len(value) > _CHUNK_ROWS:
        return _dumps_rows(value, fast)
    return _dumps({"predictions": value}, fast)


#: Large answers are encoded this many rows at a time: one orjson call on 200,000 rows held
#: the interpreter lock for most of a second, and the server's health checks with it.
_CHUNK_ROWS = 4096


def _dumps_rows(rows: Any, fast: bool) -> bytes:
    """``{"predictions": rows}`` encoded chunk by chunk, byte for byte as one call would."""
    parts = [
        _dumps(rows[i : i + _CHUNK_ROWS], fast)[1:-1] for i in range(0, len(rows), _CHUNK_ROWS)
    ]
    if fast:
        return b'{"predictions":[' + b",".join(parts) + b"]}"
    return b'{"predictions": [' + b", ".join(parts) + b"]}"


def error_body(error_code: str, message: str) -> bytes:
    """MLflow's error response body: ``{"error_code": ..., "message": ...}``."""
    return _dumps({"error_code": error_code, "message": message}, True)


def parse_error_body(body: bytes) -> tuple[str, str]:
    """Read an MLflow error body back into ``(error_code, message)``; for clients and tests."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("error body is not JSON", field="body") from None
    if not isinstance(payload, dict) or "error_code" not in payload or "message" not in payload:
        raise ProtocolError("error body lacks 'error_code' or 'message'", field="body")
    return str(payload["error_code"]), str(payload["message"])
