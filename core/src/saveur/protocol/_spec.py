"""What the scoring protocol accepts: content types, payload keys, and limits on the table a
request describes, with the column lookup and width check the JSON, CSV and Parquet readers
share."""

from __future__ import annotations

from typing import Any

from saveur.errors import ProtocolError

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV, CONTENT_TYPE_PARQUET)
PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
#: Limits on the table a request describes, against bodies that are small for the work they
#: cause: pandas pays per column (a 1-row request with 10^6 columns costs seconds), and
#: records that each name different keys fill a rows x keys table mostly with nulls (20,000
#: records of one distinct key each, 280 KB, make 4*10^8 cells: about a minute). Without a
#: signature to compare with, MAX_COLUMNS is the only bound: 10,000 untyped columns cost
#: pandas about a second on the worker thread (50,000 cost 19 s).
MAX_COLUMNS = 10_000
#: A signature with named (or positional) columns bounds the width further: columns it does
#: not declare are ignored by enforcement (as MLflow does), so a client may send a few extra
#: (an id column), but each costs pandas about 0.1 ms whatever its size: a 16 KiB CSV header
#: of 8,192 one-letter columns cost a second. Anything wider than the declared columns plus
#: this many is refused before a parser runs.
MAX_EXTRA_COLUMNS = 64
_MAX_SPARSE_CELLS = 1_000_000
#: A Parquet body may declare at most this many values per byte (a million at least).
PARQUET_CELLS_PER_BYTE = 50


def _column_specs(schema: Any) -> dict[Any, Any]:
    """Name -> ColSpec for a named column schema, else an empty dict."""
    if schema is None or schema.is_tensor_spec() or schema.inputs[0].name is None:
        return {}
    return {spec.name: spec for spec in schema.inputs}


def max_width(schema: Any) -> int:
    """The most columns (or named tensors) a request may describe for this input schema."""
    if schema is None:
        return MAX_COLUMNS
    declared = _declared_width(schema)
    return MAX_COLUMNS if declared is None else min(MAX_COLUMNS, declared + MAX_EXTRA_COLUMNS)


def _declared_width(schema: Any) -> int | None:
    """Columns a table for this schema has: one per column, or a tensor's fixed row size."""
    if not schema.is_tensor_spec():
        return len(schema.inputs)
    total = 0
    for spec in schema.inputs:
        row = 1
        for dim in spec.shape[1:]:
            if dim < 0:
                return None  # a variable row size: only the global limit applies
            row *= dim
        total += row
    return total


def _check_width(width: int, field: str, schema: Any = None) -> None:
    limit = max_width(schema)
    if width <= limit:
        return
    if limit < MAX_COLUMNS:
        why = (
            f"the model's signature declares {limit - MAX_EXTRA_COLUMNS} and at most "
            f"{MAX_EXTRA_COLUMNS} undeclared ones are accepted; send only the declared columns"
        )
    else:
        why = "send a tensor with 'inputs' for wide numeric input"
    raise ProtocolError(
        f"'{field}' describes a table of {width} columns; at most {limit} are accepted ({why})",
        field=field,
    )
