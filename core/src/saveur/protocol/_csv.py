"""CSV scoring requests: read a ``text/csv`` body into a DataFrame typed by the signature."""

from __future__ import annotations

from typing import Any

from saveur.enforce._values import one_line
from saveur.errors import ProtocolError
from saveur.protocol._json import bad_value
from saveur.protocol._spec import _check_width, _column_specs, max_width

_CSV_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "Int64",
    "integer": "Int32",
    "boolean": "boolean",
}


def _parse_csv(body: bytes, schema: Any) -> Any:
    import io

    import pandas as pd

    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"CSV body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at position "
            f"{exc.start})",
            field="body",
        ) from None
    _check_width(_header_width(body, max_width(schema)), "body", schema)
    _check_first_row(body)
    specs = _column_specs(schema)
    dtypes: dict[Any, Any] = {}
    from saveur.types import DataType

    for name, spec in specs.items():
        if isinstance(spec.type, DataType):
            # Nullable integer/boolean dtypes keep empty cells; enforcement decides on them.
            dtypes[name] = _CSV_DTYPES.get(spec.type.name, object)
        else:
            dtypes[name] = object
    try:
        frame = pd.read_csv(io.BytesIO(body), dtype=dtypes or None)
    except pd.errors.EmptyDataError:
        raise ProtocolError("CSV body is empty: send a header row and data rows",
                            field="body") from None
    except pd.errors.ParserError as exc:
        raise ProtocolError(f"CSV body is malformed: {one_line(exc)}", field="body") from None
    except (ValueError, TypeError, OverflowError) as exc:
        if not dtypes:
            raise ProtocolError(f"CSV body is malformed: {one_line(exc)}",
                                field="body") from None
    else:
        return frame
    # A value does not fit its column's dtype: read everything as text to name the row.
    raw = pd.read_csv(io.BytesIO(body), dtype=object, keep_default_na=True)
    for name in raw.columns:
        spec = specs.get(name)
        if spec is None or name not in dtypes or dtypes[name] is object:
            continue
        column = raw[name]
        for i, v in enumerate(column.tolist()):
            if v is None or (isinstance(v, float) and v != v):
                continue
            try:
                pd.array([v]).astype(dtypes[name])
            except (ValueError, TypeError, OverflowError):
                raise bad_value(spec, "body", i, v) from None
    raise ProtocolError("CSV body does not match the model's column types", field="body")


def _header_width(body: bytes, limit: int) -> int:
    """The number of fields of the header row, counted before pandas pays per column."""
    end = body.find(b"\n")
    header = body if end < 0 else body[:end]
    commas = header.count(b",")
    if commas < limit or b'"' not in header:
        return commas + 1  # exact, or an upper bound under the limit
    import csv

    # Quoted commas are not separators: count exactly before refusing a wide-looking header.
    try:
        return len(next(csv.reader([header.decode("utf-8")]), []))
    except csv.Error:
        return commas + 1


def _check_first_row(body: bytes) -> None:
    """Refuse a CSV whose first data row has more fields than the header names.

    pandas silently takes the extra leading fields of such a row as an index ("implicit
    index"), shifting every value into the wrong column; later rows with extra fields are
    parser errors already. Read without a header, the first two rows must have the same width.
    """
    import io

    import pandas as pd

    try:
        pd.read_csv(io.BytesIO(body), header=None, nrows=2, dtype=object)
    except pd.errors.ParserError as exc:
        raise ProtocolError(
            f"CSV header and first row do not match: {one_line(exc)}; send one value per "
            "header column in every row",
            field="body",
        ) from None
    except (pd.errors.EmptyDataError, ValueError):
        pass  # the full read below names what is wrong
