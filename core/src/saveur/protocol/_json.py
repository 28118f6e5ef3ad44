"""Typing JSON payload values by a signature, as MLflow's scoring server does at parse time.

JSON numbers carry no width and bytes travel as base64, so before enforcement the request
parser casts each column (or tensor) to its signature type: numbers into the column's numpy
dtype, numeric strings too (MLflow's ``astype``), integers with nulls into nullable ``Int64``,
base64 strings into bytes. Values that cannot be cast raise ProtocolError naming the column
and the row. Used by :mod:`saveur.protocol`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from saveur.enforce._values import one_line, short
from saveur.errors import ProtocolError
from saveur.protocol._spec import _column_specs

_FLOAT_TYPES = {"double": "float64", "float": "float32"}


def _common_float(names: Any, specs: dict) -> Any:
    """The numpy float dtype shared by all these columns, or None."""
    import numpy as np

    from saveur.types import DataType

    kinds = set()
    for name in names:
        spec = specs.get(name)
        if spec is None or not isinstance(spec.type, DataType):
            return None
        kinds.add(spec.type.name)
    if len(kinds) != 1 or next(iter(kinds)) not in _FLOAT_TYPES:
        return None
    return np.dtype(_FLOAT_TYPES[next(iter(kinds))])


def same_width_frame(
    values: list, names: Any, specs: dict, index: Any, *, by_rows: bool = False
) -> Any:
    """One 2-D conversion when every column is the same float type (the common case).

    A single block is much cheaper to build than a frame of separate columns; anything
    unusual (a null in a list, a string that is not a number) returns None and the per-column
    path takes over, which also names the offending row. ``values`` holds the columns, or
    the rows when ``by_rows``.
    """
    if not names or len(specs) < len(names):
        return None
    target = _common_float(names, specs)
    if target is None:
        return None
    block = float_block(values, target, len(names), by_rows=by_rows)
    if block is None:
        return None
    import pandas as pd

    return pd.DataFrame(block, columns=columns_index(names), index=index, copy=False)


def float_block(values: list, target: Any, width: int, *, by_rows: bool = True) -> Any:
    """``values`` (rows, or columns unless ``by_rows``) as a (rows, ``width``) array of the
    float dtype ``target``, or None when a value is not a plain number."""
    import numpy as np

    try:
        with np.errstate(over="raise", invalid="ignore"):
            block = np.array(values, dtype=target)
    except (ValueError, TypeError, OverflowError, FloatingPointError):
        return None
    if block.ndim != 2 or block.shape[1 if by_rows else 0] != width:
        return None
    # A (columns, rows) block transposed is what pandas stores: one block, no copy.
    return block if by_rows else block.T


_BLOCK_DTYPES: dict[tuple[int, tuple], tuple[Any, Any]] = {}


def block_dtype(schema: Any, names: tuple) -> Any:
    """The float dtype all of ``names`` share in ``schema`` (None if they do not), remembered
    per schema object: the server asks this on every request."""
    key = (id(schema), names)
    hit = _BLOCK_DTYPES.get(key)
    if hit is not None and hit[0] is schema:  # the schema itself is kept: its id stays its own
        return hit[1]
    specs = _column_specs(schema)
    target = _common_float(names, specs) if names and len(specs) >= len(names) else None
    if len(_BLOCK_DTYPES) >= 64:
        _BLOCK_DTYPES.clear()
    _BLOCK_DTYPES[key] = (schema, target)
    return target


_INDEX_CACHE: dict[tuple, Any] = {}
_INDEX_CACHE_SIZE = 256


def columns_index(names: Any) -> Any:
    """A pandas Index of column names, shared between requests with the same columns.

    Building a string Index costs more than the rest of a 1-row request under pandas 3; an
    Index is immutable, so one per column list is reused (and lets the enforcer recognise
    the columns by identity).
    """
    import pandas as pd

    key = tuple(names)
    index = _INDEX_CACHE.get(key)
    if index is None:
        index = pd.Index(list(key))
        if len(_INDEX_CACHE) >= _INDEX_CACHE_SIZE:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = index
    return index


# ---- typing one JSON column --------------------------------------------------------------
def object_array(values: list) -> Any:
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr


def bad_value(spec: Any, field: str, row: int, value: Any, why: str = "") -> ProtocolError:
    from saveur.enforce._values import type_name

    label = f"column {spec.name!r}" if spec.name is not None else "column"
    return ProtocolError(
        f"{label} expects {type_name(spec.type)}, got {short(value)} in row {row}{why}",
        field=field,
    )


def json_column(values: list, spec: Any, field: str) -> Any:
    """Type a list of JSON values as the column spec says (MLflow's per-column astype)."""
    import numpy as np

    from saveur.types import DataType

    t = spec.type
    if not isinstance(t, DataType):
        return object_array(values)  # nested types are checked by enforcement
    name = t.name
    if name in ("double", "float"):
        target = np.dtype("float64" if name == "double" else "float32")
        try:
            arr = np.array(values, dtype=target)
            if arr.ndim == 1:
                return arr
        except (ValueError, TypeError, OverflowError):
            pass
        for i, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, (list, dict)):
                raise bad_value(spec, field, i, v)
            try:
                float(v)
            except (ValueError, TypeError, OverflowError):
                raise bad_value(spec, field, i, v) from None
        raise ProtocolError(f"column {spec.name!r} cannot be read as {name}", field=field)
    if name in ("long", "integer"):
        return _json_ints(values, spec, field, np.dtype("int64" if name == "long" else "int32"))
    if name == "boolean":
        flags: Any
        try:  # ragged nested lists make numpy refuse: the loop below names the bad value
            flags = np.array(values) if values else np.array([], dtype=bool)
        except (ValueError, TypeError, OverflowError):
            flags = None
        if flags is not None and flags.dtype == np.dtype(bool) and flags.ndim == 1:
            return flags
        has_null = False
        for i, v in enumerate(values):
            if v is None:
                has_null = True
            elif not isinstance(v, bool):
                raise bad_value(spec, field, i, v)
        import pandas as pd

        return pd.array(values, dtype="boolean") if has_null else np.array(values, dtype=bool)
    if name == "binary":
        out: list[bytes | None] = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            if not isinstance(v, str):
                raise bad_value(spec, field, i, v, " (binary values are base64 strings)")
            try:
                # MLflow's encoder wraps lines (encodebytes): whitespace is not an error.
                out.append(base64.b64decode("".join(v.split()).encode("ascii"), validate=True))
            except (binascii.Error, UnicodeEncodeError):
                raise bad_value(spec, field, i, v, " (not valid base64)") from None
        return object_array(out)
    # string and datetime: kept as the JSON strings; enforcement checks and parses them.
    return object_array(values)


def _json_ints(values: list, spec: Any, field: str, target: Any) -> Any:
    import numpy as np

    info = np.iinfo(target)
    if values:
        try:
            arr = np.array(values)
        except (ValueError, OverflowError):
            arr = None
        if arr is not None and arr.ndim == 1 and arr.dtype.kind == "i":
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                row = int(np.argmax((arr < info.min) | (arr > info.max)))
                raise bad_value(spec, field, row, values[row], " (out of range)")
            return arr.astype(target)
    out: list = []
    has_null = False
    for i, v in enumerate(values):
        if v is None:
            has_null = True
            out.append(None)
            continue
        if isinstance(v, bool) or isinstance(v, (list, dict)):
            raise bad_value(spec, field, i, v)
        if isinstance(v, float):
            if v != v:
                has_null = True
                out.append(None)
                continue
            if not v.is_integer():
                raise bad_value(spec, field, i, v, " (not an integer)")
            v = int(v)
        elif isinstance(v, str):
            try:
                v = int(v.strip())
            except ValueError:
                raise bad_value(spec, field, i, v) from None
        if not info.min <= v <= info.max:
            raise bad_value(spec, field, i, v, " (out of range)")
        out.append(v)
    if has_null:
        import pandas as pd

        # Nullable: enforcement passes it for optional columns and names the row otherwise.
        return pd.array(out, dtype="Int64" if target == np.dtype("int64") else "Int32")
    return np.array(out, dtype=target)


def _holds_text(array: Any) -> bool:
    if array.dtype.kind in "US":
        return True
    if array.dtype.kind == "O":
        return any(isinstance(v, (str, bytes)) for v in array.reshape(-1).tolist())
    return False


def json_tensor(value: Any, dtype: Any, label: str, field: str) -> Any:
    """A JSON value as an array of the tensor's dtype (MLflow: ``np.array(value, dtype)``)."""
    import numpy as np

    if dtype.kind in "iufcb":
        try:
            natural = np.asarray(value)
        except ValueError:
            natural = None
        if natural is not None and _holds_text(natural):
            # numpy would parse "1.5" into a number: a tensor has no text form, so a string
            # is the client's mistake (column inputs name the row the same way).
            raise ProtocolError(
                f"{label} expects {dtype} numbers, got strings; send JSON numbers"
                + (" or booleans" if dtype.kind == "b" else ""),
                field=field,
            )
    if dtype.kind in "iu":
        if natural is not None and natural.dtype.kind == "f":
            if not np.all(np.isfinite(natural)) or not np.all(natural == np.floor(natural)):
                raise ProtocolError(
                    f"{label} expects {dtype}, got non-integer numbers", field=field
                )
    try:
        with np.errstate(over="raise", invalid="ignore"):
            return np.array(value, dtype=dtype)
    except FloatingPointError:
        raise ProtocolError(f"{label} expects {dtype}, got numbers out of its range",
                            field=field) from None
    except (ValueError, TypeError, OverflowError) as exc:
        why = (
            "the nested lists are ragged (rows of different lengths)"
            if "inhomogeneous" in str(exc) or "sequence" in str(exc)
            else one_line(exc)
        )
        raise ProtocolError(f"{label} expects {dtype} values: {why}", field=field) from None
