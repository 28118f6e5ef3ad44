"""Parquet scoring requests: read a Parquet body into a DataFrame, refusing decompression bombs."""

from __future__ import annotations

from typing import Any

from saveur.enforce._values import one_line
from saveur.errors import ProtocolError, UnsupportedContentTypeError
from saveur.protocol._spec import CONTENT_TYPE_PARQUET, PARQUET_CELLS_PER_BYTE, _check_width


def _parse_parquet(body: bytes, schema: Any = None) -> Any:
    import io

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UnsupportedContentTypeError(
            f"{CONTENT_TYPE_PARQUET} needs pyarrow on the server: pip install pyarrow",
            field="content-type",
        ) from None
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        # Parquet compresses runs of equal values to almost nothing: a few KB can declare
        # 10^9 rows. The footer gives the table's size before anything is decoded.
        meta = pq.ParquetFile(io.BytesIO(body)).metadata
        _check_width(meta.num_columns, "body", schema)
        limit = max(1_000_000, PARQUET_CELLS_PER_BYTE * len(body))
        if meta.num_rows * meta.num_columns > limit:
            raise ProtocolError(
                f"the Parquet body ({len(body)} bytes) declares {meta.num_rows} rows x "
                f"{meta.num_columns} columns, over the limit of {limit} values for its size "
                "(a decompression bomb?); send the data less compressed or in smaller files",
                field="body",
            )
        return pd.read_parquet(io.BytesIO(body), engine="pyarrow")
    except ProtocolError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError... for bad files
        raise ProtocolError(
            f"body is not a valid Parquet file: {one_line(exc)}", field="body"
        ) from None
