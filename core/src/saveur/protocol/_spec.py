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
#: records of one distinct key each, 280 KB, make 4*10^8 cells: about a minute).
MAX_COLUMNS = 50_000
_MAX_SPARSE_CELLS = 1_000_000
#: A Parquet body may declare at most this many values per byte (a million at least).
PARQUET_CELLS_PER_BYTE = 50


def _column_specs(schema: Any) -> dict[Any, Any]:
    """Name -> ColSpec for a named column schema, else an empty dict."""
    if schema is None or schema.is_tensor_spec() or schema.inputs[0].name is None:
        return {}
    return {spec.name: spec for spec in schema.inputs}


def _check_width(width: int, field: str) -> None:
    if width > MAX_COLUMNS:
        raise ProtocolError(
            f"'{field}' describes a table of {width} columns; at most {MAX_COLUMNS} are "
            "accepted (send a tensor with 'inputs' for wide numeric input)",
            field=field,
        )
