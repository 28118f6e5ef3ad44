"""CSV scoring requests: read a ``text/csv`` body into a DataFrame typed by the signature."""

from __future__ import annotations

from typing import Any

from saveur.enforce._values import one_line
from saveur.errors import ProtocolError
from saveur.protocol._json import bad_value
from saveur.protocol._spec import _check_width, _column_specs

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
    header_end = body.find(b"\n")
    # An upper bound (a quoted comma counts too): enough to refuse before pandas pays per column.
    _check_width(body.count(b",", 0, header_end if header_end >= 0 else len(body)) + 1, "body")
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
        return pd.read_csv(io.BytesIO(body), dtype=dtypes or None)
    except pd.errors.EmptyDataError:
        raise ProtocolError("CSV body is empty: send a header row and data rows",
                            field="body") from None
    except pd.errors.ParserError as exc:
        raise ProtocolError(f"CSV body is malformed: {one_line(exc)}", field="body") from None
    except (ValueError, TypeError, OverflowError) as exc:
        if not dtypes:
            raise ProtocolError(f"CSV body is malformed: {one_line(exc)}",
                                field="body") from None
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
