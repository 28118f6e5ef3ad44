"""MLflow's scoring protocol as plain functions: request bytes in, model input out.

:func:`parse_request` reads the bodies ``mlflow models serve`` accepts (JSON with exactly one
of ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs`` plus optional
``params``; CSV; Parquet) into ``ParsedRequest(data, params)``, typed by the model's
signature as MLflow types them. :func:`predictions_to_json` and :func:`error_body` write
MLflow's response shapes. No web framework is imported here: the server and batch scoring
share this module.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from saveur.enforce._values import one_line, short
from saveur.errors import ProtocolError, UnsupportedContentTypeError
from saveur.protocol._csv import _parse_csv
from saveur.protocol._json import (
    block_dtype,
    columns_index,
    float_block,
    json_column,
    json_tensor,
    object_array,
    same_width_frame,
)
from saveur.protocol._parquet import _parse_parquet
from saveur.protocol._response import error_body as error_body
from saveur.protocol._response import parse_error_body as parse_error_body
from saveur.protocol._response import predictions_to_json as predictions_to_json
from saveur.protocol._spec import _MAX_SPARSE_CELLS, _SPLIT_KEYS, _check_width, _column_specs
from saveur.protocol._spec import CONTENT_TYPE_CSV as CONTENT_TYPE_CSV
from saveur.protocol._spec import CONTENT_TYPE_JSON as CONTENT_TYPE_JSON
from saveur.protocol._spec import CONTENT_TYPE_PARQUET as CONTENT_TYPE_PARQUET
from saveur.protocol._spec import CONTENT_TYPES as CONTENT_TYPES
from saveur.protocol._spec import MAX_COLUMNS as MAX_COLUMNS
from saveur.protocol._spec import PARQUET_CELLS_PER_BYTE as PARQUET_CELLS_PER_BYTE
from saveur.protocol._spec import PAYLOAD_KEYS as PAYLOAD_KEYS

__all__ = [
    "CONTENT_TYPES",
    "PAYLOAD_KEYS",
    "ColumnBlock",
    "ParsedRequest",
    "error_body",
    "parse_error_body",
    "parse_request",
    "predictions_to_json",
]


class ParsedRequest(NamedTuple):
    """A parsed scoring request: the model input and the params (None when absent)."""

    data: Any
    params: dict[str, Any] | None


class ColumnBlock(NamedTuple):
    """A table parsed as its values only: a 2-D ndarray, one column per name of ``columns``.

    :func:`parse_request` returns one (as ``ParsedRequest.data``) only to a caller that passed
    ``array_columns``, and only when the DataFrame it would otherwise build has exactly those
    columns, in that order, one float dtype and the default index. ``values`` is what that
    frame holds; :meth:`frame` builds the frame itself.
    """

    values: Any
    columns: tuple[str, ...]

    def frame(self) -> Any:
        """The DataFrame :func:`parse_request` builds for this request without ``array_columns``."""
        import pandas as pd

        return pd.DataFrame(self.values, columns=columns_index(self.columns), copy=False)


# ---- entry point -------------------------------------------------------------------------
def parse_request(
    body: bytes | bytearray | memoryview | str,
    content_type: str | None,
    signature: Any = None,
    array_columns: tuple[str, ...] | None = None,
) -> ParsedRequest:
    """Parse a scoring request body into model input and params.

    ``signature`` (a ModelSignature or an input Schema) types the columns as MLflow's server
    does (JSON numbers into the column's width, base64 into bytes, CSV dtypes). Raises
    ProtocolError (HTTP 400) with a one-line message and ``field`` naming the part at fault,
    or UnsupportedContentTypeError (HTTP 415).

    With ``array_columns`` (a model's :attr:`saveur.pyfunc.PyFuncModel.array_columns`), a
    ``dataframe_split`` of exactly those columns, in order, of numbers only, with no index and
    no params, comes back as a :class:`ColumnBlock` instead of a DataFrame: the same values,
    checked the same way, without the frame.
    """
    mime = _media_type(content_type)
    schema = _input_schema(signature)
    if isinstance(body, (bytearray, memoryview)):
        body = bytes(body)
    elif isinstance(body, str):  # batch scoring may hand over text it already decoded
        body = body.encode("utf-8")
    if mime == CONTENT_TYPE_JSON:
        return _parse_json_request(body, schema, array_columns)
    if mime == CONTENT_TYPE_CSV:
        return ParsedRequest(_parse_csv(body, schema), None)
    return ParsedRequest(_parse_parquet(body, schema), None)


def _media_type(content_type: str | None) -> str:
    if not content_type or not content_type.strip():
        raise UnsupportedContentTypeError(
            f"missing Content-Type: send one of {list(CONTENT_TYPES)}", field="content-type"
        )
    mime, *parameters = (part.strip() for part in content_type.split(";"))
    mime = mime.lower()
    if mime not in CONTENT_TYPES:
        raise UnsupportedContentTypeError(
            f"unsupported content type {short(mime)}: send one of {list(CONTENT_TYPES)}",
            field="content-type",
        )
    for parameter in parameters:
        if not parameter:
            continue
        key, _, value = parameter.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"').lower()
        if key != "charset":
            # MLflow answers 415 to parameters such as the 1.x "format=pandas-split".
            raise UnsupportedContentTypeError(
                f"unrecognized content type parameter {short(key)}: only charset is accepted",
                field="content-type",
            )
        if value not in ("utf-8", "utf8"):
            raise UnsupportedContentTypeError(
                f"unsupported charset {short(value)}: the scoring protocol is UTF-8 only",
                field="content-type",
            )
    return mime


def _input_schema(signature: Any) -> Any:
    if signature is None:
        return None
    from saveur.types import Schema

    if isinstance(signature, Schema):
        return signature
    return getattr(signature, "inputs", None)


# ---- JSON --------------------------------------------------------------------------------
def _loads(body: bytes) -> Any:
    """Decode JSON; orjson when installed, the standard library for NaN/Infinity tokens."""
    try:
        import orjson

        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # NaN/Infinity (written by MLflow's own client), bad UTF-8, or bad JSON
    except ImportError:  # pragma: no cover - orjson is a serve extra
        pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"request body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at position "
            f"{exc.start})",
            field="body",
        ) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="body",
        ) from None
    except RecursionError:
        raise ProtocolError(
            "request body is not valid JSON: nested too deeply", field="body"
        ) from None
    except ValueError as exc:  # an integer over Python's 4300-digit conversion limit
        raise ProtocolError(
            f"request body holds a number that cannot be read: {one_line(exc)}", field="body"
        ) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(payload):
        # The standard library decodes "\ud800" into a string no encoder can write back
        # (orjson refuses it, which is how we got here): refuse it at the door.
        raise ProtocolError(
            "request body is not valid JSON: a string holds an unpaired UTF-16 surrogate "
            "escape (\\ud800-\\udfff)",
            field="body",
        )
    return payload


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a decoded JSON document holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
    return False


def _parse_json_request(
    body: bytes, schema: Any, array_columns: tuple[str, ...] | None = None
) -> ParsedRequest:
    payload = _loads(body)
    if not isinstance(payload, dict):
        raise ProtocolError(
            f"request body must be a JSON object with exactly one of {list(PAYLOAD_KEYS)}, "
            f"got {_json_type(payload)}",
            field="body",
        )
    keys = [k for k in PAYLOAD_KEYS if k in payload]
    if len(keys) != 1:
        got = (
            f"both {keys}" if keys else f"keys {short(list(payload))}"
        )
        raise ProtocolError(
            f"request body must hold exactly one of {list(PAYLOAD_KEYS)}, got {got}",
            field="body",
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise ProtocolError(
            f"'params' must be a JSON object, got {_json_type(params)}", field="params"
        )
    key = keys[0]
    value = payload[key]
    if key == "dataframe_split":
        data = _parse_split(value, schema, array_columns if params is None else None)
    elif key == "dataframe_records":
        data = _parse_records(value, schema)
    elif key == "instances":
        data = _parse_instances(value, schema)
    else:
        data = _parse_inputs(value, schema, "inputs")
    return ParsedRequest(data, params)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _parse_split(value: Any, schema: Any, array_columns: tuple[str, ...] | None = None) -> Any:
    field = "dataframe_split"
    if not isinstance(value, dict):
        raise ProtocolError(
            f"'dataframe_split' must be an object with 'columns' and 'data', got "
            f"{_json_type(value)}",
            field=field,
        )
    keys = set(value)
    if "data" not in keys or keys - _SPLIT_KEYS:
        raise ProtocolError(
            "'dataframe_split' must have a 'data' field and optionally 'columns' and 'index', "
            f"got keys {short(sorted(map(str, keys)))}",
            field=field,
        )
    data, columns, index = value["data"], value.get("columns"), value.get("index")
    if not isinstance(data, list):
        raise ProtocolError(
            f"'dataframe_split.data' must be a list of rows, got {_json_type(data)}", field=field
        )
    if columns is not None and not isinstance(columns, list):
        raise ProtocolError(
            f"'dataframe_split.columns' must be a list of names, got {_json_type(columns)}",
            field=field,
        )
    for i, name in enumerate(columns or ()):
        if isinstance(name, (list, dict)):
            raise ProtocolError(
                f"'dataframe_split.columns' item {i} must be a column name (a string or a "
                f"number), got {_json_type(name)}",
                field=field,
            )
    for i, row in enumerate(data):
        # A row that is an object or a scalar makes pandas guess (records, one column), and
        # an object row would bring its own, unchecked, number of columns.
        if not isinstance(row, list):
            raise ProtocolError(
                f"'dataframe_split.data' row {i} must be a list of values (one per column), "
                f"got {_json_type(row)}",
                field=field,
            )
    width = len(columns) if columns is not None else max(map(len, data), default=0)
    _check_width(width, field, schema)
    if index is not None:
        _check_index(index, len(data))
    # Ragged rows are refused with or without 'columns' (pandas pads short rows with NaN, a
    # behaviour it has deprecated): the table a client sends is the table the model gets.
    for i, row in enumerate(data):
        if len(row) != width:
            raise ProtocolError(
                f"'dataframe_split.data' row {i} has {len(row)} values, expected {width} "
                "(one per column)",
                field=field,
            )
    if columns is not None:
        if array_columns is not None and index is None and data and (
            tuple(columns) == array_columns
        ):
            target = block_dtype(schema, array_columns)
            block = None if target is None else float_block(data, target, width)
            if block is not None:
                return ColumnBlock(block, array_columns)
        if len(set(map(_hashable, columns))) == width:
            if data:
                fast = same_width_frame(data, columns, _column_specs(schema), index,
                                         by_rows=True)
                if fast is not None:
                    return fast
            cols = list(zip(*data, strict=True)) if data else [()] * width
            named = dict(zip(columns, (list(c) for c in cols), strict=True))
            return _frame(named, schema, field, index)
    import pandas as pd

    try:
        df = pd.DataFrame(data=data, columns=columns, index=index)
    except Exception as exc:  # pandas raises several types for malformed shapes
        raise ProtocolError(
            f"'dataframe_split' is not a valid split-oriented table: {one_line(exc)}",
            field=field,
        ) from None
    return _cast_frame(df, schema, field)


_LABEL_TYPES = (str, int, float, bool, type(None))


def _check_index(index: Any, rows: int) -> None:
    """``dataframe_split.index``: one scalar label per row, before pandas sees it.

    pandas builds a MultiIndex from nested labels, fails deep in its internals on labels of
    the wrong length, and copies whatever it is given: every shape but a flat list of
    scalars of the right length is refused here, naming the field.
    """
    field = "dataframe_split"
    if not isinstance(index, list):
        raise ProtocolError(
            f"'dataframe_split.index' must be a list of row labels, got {_json_type(index)}",
            field=field,
        )
    if len(index) != rows:
        raise ProtocolError(
            f"'dataframe_split.index' has {len(index)} labels for {rows} rows; send one label "
            "per row",
            field=field,
        )
    for i, label in enumerate(index):
        if not isinstance(label, _LABEL_TYPES):
            raise ProtocolError(
                f"'dataframe_split.index' item {i} must be a row label (a string, a number, a "
                f"boolean or null), got {_json_type(label)}",
                field=field,
            )


def _hashable(x: Any) -> Any:
    return x if isinstance(x, (str, int, float, bool, type(None))) else repr(x)


def _parse_records(value: Any, schema: Any) -> Any:
    field = "dataframe_records"
    if not isinstance(value, list):
        raise ProtocolError(
            f"'dataframe_records' must be a list of records (objects), got {_json_type(value)}",
            field=field,
        )
    return _records_frame(value, schema, field)


def _records_frame(records: list, schema: Any, field: str) -> Any:
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise ProtocolError(
                f"'{field}' item {i} must be an object (a record), got {_json_type(record)}",
                field=field,
            )
    names = dict.fromkeys(k for record in records for k in record)
    _check_width(len(names), field, schema)
    cells = len(names) * len(records)
    if cells > _MAX_SPARSE_CELLS:
        present = sum(len(record) for record in records)
        if cells > 10 * present:
            raise ProtocolError(
                f"'{field}' has {len(records)} records naming {len(names)} different keys in "
                f"all, so the table would be mostly missing values ({present} of {cells} "
                "cells given); send records with the same keys",
                field=field,
            )
    columns = {name: [record.get(name) for record in records] for name in names}
    return _frame(columns, schema, field, None)


def _frame(columns: dict, schema: Any, field: str, index: Any) -> Any:
    """Build a DataFrame from JSON columns, typing each as the schema says."""
    import pandas as pd

    _check_width(len(columns), field, schema)
    specs = _column_specs(schema)
    fast = same_width_frame(list(columns.values()), list(columns), specs, index)
    if fast is not None:
        return fast
    data = {}
    for name, values in columns.items():
        spec = specs.get(name)
        data[name] = json_column(values, spec, field) if spec is not None else _plain(values)
    n = len(next(iter(columns.values()))) if columns else 0
    if index is None:
        index = pd.RangeIndex(n)
    try:
        frame = pd.DataFrame(data, index=index, copy=False)
    except Exception as exc:
        raise ProtocolError(
            f"'{field}' is not a valid table: {one_line(exc)}", field=field
        ) from None
    if all(isinstance(name, str) for name in columns):
        frame.columns = columns_index(columns)
    return frame


def _plain(values: list) -> Any:
    """A column of a name the schema does not know: let pandas infer it as MLflow does."""
    import pandas as pd

    try:
        return pd.Series(values)
    except Exception:
        return object_array(values)


def _cast_frame(df: Any, schema: Any, field: str) -> Any:
    """Type the columns of a DataFrame built by pandas (MLflow's cast by schema)."""
    specs = _column_specs(schema)
    if schema is not None and not schema.is_tensor_spec() and not specs:
        # unnamed column schema: the first columns, by position
        specs = dict(zip(df.columns, schema.inputs, strict=False))
    if not specs:
        return df
    df = df.copy(deep=False)
    for name in df.columns:
        spec = specs.get(name)
        if spec is not None and df[name].ndim == 1:
            df[name] = json_column(df[name].tolist(), spec, field)
    return df


# ---- instances / inputs ------------------------------------------------------------------
def _parse_instances(value: Any, schema: Any) -> Any:
    field = "instances"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        if schema is not None and not schema.is_tensor_spec():
            return _records_frame(value, schema, field)
        for i, record in enumerate(value):
            if not isinstance(record, dict):
                raise ProtocolError(
                    f"'instances' item {i} must be an object like item 0, got "
                    f"{_json_type(record)}",
                    field=field,
                )
        columns: dict[Any, list] = {}
        for record in value:
            for k, v in record.items():
                columns.setdefault(k, []).append(v)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ProtocolError(
                "'instances' records must all have the same keys (the inputs have different "
                "lengths)",
                field=field,
            )
        return _tensor_dict(columns, schema, field)
    return _parse_inputs(value, schema, field)


def _tensor_dict(columns: dict, schema: Any, field: str) -> dict:
    import numpy as np

    _check_width(len(columns), field, schema)
    specs = {}
    if schema is not None and schema.is_tensor_spec() and schema.inputs[0].name is not None:
        specs = {s.name: s for s in schema.inputs}
    out = {}
    for name, values in columns.items():
        spec = specs.get(name)
        if spec is not None:
            out[name] = json_tensor(values, spec.type, f"tensor {name!r}", field)
        else:
            try:
                out[name] = np.array(values)
            except ValueError:
                out[name] = object_array(values)
    return out


def _parse_inputs(value: Any, schema: Any, field: str) -> Any:
    import numpy as np

    if schema is None:
        if isinstance(value, dict):
            return _tensor_dict(value, None, field)
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            return [_tensor_dict(x, None, field) for x in value]
        try:
            return np.array(value)
        except ValueError:
            return object_array(value) if isinstance(value, list) else value
    if schema.is_tensor_spec():
        specs = schema.inputs
        if specs[0].name is None:
            if isinstance(value, dict):
                raise ProtocolError(
                    f"'{field}' must be a (nested) list: the model takes one unnamed tensor, "
                    "got an object",
                    field=field,
                )
            return json_tensor(value, specs[0].type, "input tensor", field)
        if isinstance(value, dict):
            return _tensor_dict(value, schema, field)
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            return _parse_instances(value, schema)
        if len(specs) == 1:
            return {specs[0].name: json_tensor(value, specs[0].type,
                                                f"tensor {specs[0].name!r}", field)}
        raise ProtocolError(
            f"'{field}' must be an object mapping tensor names {short([s.name for s in specs])} "
            f"to lists, got {_json_type(value)}",
            field=field,
        )
    specs = _column_specs(schema)
    if not specs:
        # unnamed columns: one (nested) list typed as the first column, as MLflow does
        if isinstance(value, dict):
            raise ProtocolError(
                f"'{field}' must be a (nested) list: the model's columns are unnamed, "
                "got an object",
                field=field,
            )
        return _unnamed_columns(value, schema, field)
    if isinstance(value, dict):
        return _dict_frame(value, schema, specs, field)
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return _records_frame(value, schema, field)
    if len(specs) == 1 and isinstance(value, list):
        (name,) = specs
        return _frame({name: value}, schema, field, None)
    try:
        return np.array(value)
    except ValueError:
        raise ProtocolError(
            f"'{field}' must be an object of columns or a list of records for a model with "
            f"named columns, got {_json_type(value)}",
            field=field,
        ) from None


def _dict_frame(value: dict, schema: Any, specs: dict, field: str) -> Any:
    from saveur.types import Array, Object

    record = any(isinstance(s.type, (Array, Object)) for s in schema.inputs) or all(
        not isinstance(v, list) for v in value.values()
    )
    if record:
        return _frame({k: [v] for k, v in value.items()}, schema, field, None)
    lengths = {len(v) for v in value.values() if isinstance(v, list)}
    # A scalar next to lists is repeated down the column, as pandas broadcasts it for MLflow.
    n = next(iter(lengths)) if len(lengths) == 1 else 1
    columns = {k: (v if isinstance(v, list) else [v] * n) for k, v in value.items()}
    if len(lengths) > 1:
        raise ProtocolError(
            f"'{field}' columns have different lengths {sorted(lengths)}", field=field
        )
    return _frame(columns, schema, field, None)


def _unnamed_columns(value: Any, schema: Any, field: str) -> Any:
    import numpy as np

    from saveur.types import DataType

    first = schema.inputs[0].type
    if isinstance(first, DataType) and first.name not in ("string", "binary", "datetime"):
        return json_tensor(value, first.to_numpy(), "input", field)
    try:
        return np.array(value, dtype=object)
    except ValueError:
        raise ProtocolError(f"'{field}': the nested lists are ragged", field=field) from None
