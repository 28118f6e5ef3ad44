"""Enforcement of column-based schemas on pandas DataFrames.

Each column spec compiles once into a :class:`ColumnRule`: the set of dtypes that already fit
(checked by a hash lookup, values untouched) and a converter for everything else. Values are
looked at only inside converters, where the conversion must touch them anyway; that is also
where the first offending row is found for the error message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from saveur.enforce._values import ValueProblem, compile_value_checker, short, type_name
from saveur.errors import SchemaError

_logger = logging.getLogger("saveur.enforce")

# Exactly-representable integer widths for each float target (bytes). MLflow allows
# int8..int32 into double; int8/int16 into float is exact too.
_INT_INTO_FLOAT = {"float64": 4, "float32": 2}
_NULLABLE_INT = {"int64": "Int64", "int32": "Int32"}
_DATETIME_UNITS = ("s", "ms", "us", "ns")


def _row_of(mask: Any) -> int:
    """Position of the first True in a boolean array."""
    import numpy as np

    return int(np.argmax(mask))


class ColumnRule:
    """How one column spec checks and converts a pandas Series."""

    __slots__ = ("name", "type", "required", "label", "fits", "convert", "null")

    def __init__(self, spec: Any, position: int) -> None:
        self.name = spec.name
        self.type = spec.type
        self.required = bool(spec.required)
        self.label = (
            f"column {spec.name!r}" if spec.name is not None else f"column {position} (unnamed)"
        )
        self.fits, self.convert, self.null = _compile_rule(self)

    def fail(self, got: str, row: int | None = None) -> SchemaError:
        """The one-line error for this column."""
        where = f" in row {row}" if row is not None else ""
        return SchemaError(f"{self.label} expects {type_name(self.type)}, got {got}{where}")

    def missing_value(self, series: Any, mask: Any) -> SchemaError:
        """The error for a missing value in a required column."""
        row = _row_of(mask)
        value = series.iloc[row]
        return self.fail(f"a missing value ({short(value)})", row)


def _compile_rule(rule: ColumnRule) -> tuple[frozenset, Callable[[Any], Any], Callable]:
    import numpy as np
    import pandas as pd

    from saveur.types import AnyType, DataType

    t = rule.type
    if not isinstance(t, DataType):
        if isinstance(t, AnyType):
            return frozenset(), lambda s: s, _object_nulls
        return frozenset(), _nested_converter(rule), _object_nulls
    name = t.name
    fits: set[Any] = set()
    if name in ("double", "float"):
        ftarget = np.dtype("float64" if name == "double" else "float32")
        return frozenset({ftarget}), _float_converter(rule, ftarget), _float_nulls(ftarget)
    if name in ("long", "integer"):
        itarget = np.dtype("int64" if name == "long" else "int32")
        nullable: Any = pd.api.types.pandas_dtype(_NULLABLE_INT[itarget.name])
        fits = {itarget} if rule.required else {itarget, nullable}
        return frozenset(fits), _int_converter(rule, itarget, nullable), _masked_nulls(nullable)
    if name == "boolean":
        nullable = pd.BooleanDtype()
        fits = {np.dtype(bool)} if rule.required else {np.dtype(bool), nullable}
        return frozenset(fits), _bool_converter(rule, nullable), _masked_nulls(nullable)
    if name == "datetime":
        if not rule.required:
            fits = {np.dtype(f"datetime64[{u}]") for u in _DATETIME_UNITS}
        return frozenset(fits), _datetime_converter(rule), _datetime_nulls
    if name == "string":
        if not rule.required:
            fits = _string_dtypes()
        return frozenset(fits), _text_converter(rule, str, "string", "str"), _object_nulls
    return frozenset(), _text_converter(rule, (bytes, bytearray), "bytes", "bytes"), _object_nulls


def _string_dtypes() -> set[Any]:
    """pandas' string dtypes (pandas 3's default ``str`` included) that can be built here."""
    import numpy as np
    import pandas as pd

    found: set[Any] = set()
    for storage in ("python", "pyarrow"):
        for na_value in (pd.NA, np.nan):
            try:
                found.add(pd.StringDtype(storage, na_value=na_value))
            except (ImportError, TypeError, ValueError):
                continue  # no pyarrow, or a pandas without na_value (2.2)
        try:
            found.add(pd.StringDtype(storage))
        except (ImportError, TypeError, ValueError):
            continue
    return found


# ---- nulls for missing optional columns ------------------------------------------------
def _object_nulls(n: int) -> Any:
    import numpy as np

    return np.full(n, None, dtype=object)


def _float_nulls(target: Any) -> Callable[[int], Any]:
    import numpy as np

    return lambda n: np.full(n, np.nan, dtype=target)


def _masked_nulls(dtype: Any) -> Callable[[int], Any]:
    import pandas as pd

    return lambda n: pd.array([None] * n, dtype=dtype)


def _datetime_nulls(n: int) -> Any:
    import numpy as np

    return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")


# ---- helpers over dtypes ---------------------------------------------------------------
def _numpy_dtype_of(dtype: Any) -> Any:
    """The numpy dtype behind ``dtype`` (masked and Arrow dtypes expose one), or None."""
    import numpy as np

    if isinstance(dtype, np.dtype):
        return dtype
    inner = getattr(dtype, "numpy_dtype", None)
    return inner if isinstance(inner, np.dtype) and inner.kind in "biuf" else None


def _first_non_null_text(rule: ColumnRule, s: Any) -> SchemaError:
    """Error for a text column sent where a number/bool is expected: name the first value."""
    na = s.isna().to_numpy()
    if na.all():
        return rule.fail(f"a {s.dtype} column with no values")
    row = _row_of(~na)
    value = s.iloc[row]
    return rule.fail(f"{type(value).__name__} {short(value)}", row)


def _scan_objects(rule: ColumnRule, s: Any, ok: Callable[[Any], bool]) -> Any:
    """Check every value of an object Series; return the null mask. Errors name the row."""
    na = s.isna().to_numpy()
    values = s.to_numpy()
    for i, v in enumerate(values):
        if not na[i] and not ok(v):
            raise rule.fail(f"{type(v).__name__} {short(v)}", i)
    return na


def _is_object(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _rebuild(s: Any, values: Any) -> Any:
    import pandas as pd

    return pd.Series(values, index=s.index, name=s.name, copy=False)


# ---- numeric targets -------------------------------------------------------------------
def _float_converter(rule: ColumnRule, target: Any) -> Callable[[Any], Any]:
    import numpy as np
    import pandas as pd

    def _is_number(v: Any) -> bool:
        import decimal

        return isinstance(v, (int, float, np.integer, np.floating, decimal.Decimal)) and not (
            isinstance(v, (bool, np.bool_))
        )

    def convert(s: Any) -> Any:
        dtype = s.dtype
        if _is_object(dtype):
            inferred = s.infer_objects()
            if inferred.dtype != object:
                return convert(inferred)
            _scan_objects(rule, s, _is_number)
            return _rebuild(s, s.to_numpy(dtype=target, na_value=np.nan))
        base = _numpy_dtype_of(dtype)
        if base is None:
            if isinstance(dtype, pd.StringDtype) or pd.api.types.is_string_dtype(dtype):
                raise _first_non_null_text(rule, s)
            raise rule.fail(str(dtype))
        kind, size = base.kind, base.itemsize
        if kind == "f" and size <= target.itemsize:
            pass
        elif kind in "iu" and size <= _INT_INTO_FLOAT[target.name]:
            pass
        elif base == np.dtype("int64"):
            # MLflow converts int64 into float/double only when every value is 0 or 1.
            values = s.to_numpy(dtype="float64", na_value=np.nan)
            bad = ~np.isin(values, (0.0, 1.0)) & ~np.isnan(values)
            if bad.any():
                row = _row_of(bad)
                raise rule.fail(
                    f"int64 value {s.iloc[row]} (int64 converts to {type_name(rule.type)} "
                    "only when all values are 0 or 1: send floats)",
                    row,
                )
        elif kind == "f":
            raise rule.fail(f"{dtype} (converting would lose precision)")
        else:
            raise rule.fail(str(dtype))
        if isinstance(dtype, np.dtype):
            return s.astype(target)
        return _rebuild(s, s.to_numpy(dtype=target, na_value=np.nan))

    return convert


def _int_converter(rule: ColumnRule, target: Any, nullable: Any) -> Callable[[Any], Any]:
    import numpy as np
    import pandas as pd

    info = np.iinfo(target)

    def _is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    def with_nulls(s: Any, na: Any) -> Any:
        if rule.required:
            raise rule.missing_value(s, na)
        return s.astype(nullable)

    def convert(s: Any) -> Any:
        dtype = s.dtype
        if _is_object(dtype):
            inferred = s.infer_objects()
            if inferred.dtype != object:
                return convert(inferred)
            na = _scan_objects(rule, s, _is_int)
            values = s[~na] if na.any() else s
            out_of_range = [
                i
                for i, v in zip(np.flatnonzero(~na), values, strict=True)
                if not info.min <= int(v) <= info.max
            ]
            if out_of_range:
                row = int(out_of_range[0])
                raise rule.fail(f"{short(s.iloc[row])} (out of range)", row)
            if na.any():
                return with_nulls(s, na)
            return s.astype(target)
        base = _numpy_dtype_of(dtype)
        if base is None:
            if pd.api.types.is_string_dtype(dtype):
                raise _first_non_null_text(rule, s)
            raise rule.fail(str(dtype))
        kind, size = base.kind, base.itemsize
        masked = not isinstance(dtype, np.dtype)
        if (kind == "i" and size <= target.itemsize) or (kind == "u" and size < target.itemsize):
            if masked:
                na = s.isna().to_numpy()
                if na.any():
                    return with_nulls(s, na)
            return s.astype(target)
        if kind == "f":
            # Integers with missing values arrive as floats: treat them as such (MLflow's hint).
            values = s.to_numpy(dtype="float64", na_value=np.nan)
            na = np.isnan(values)
            present = values[~na]
            if na.any() and bool(np.all(np.isfinite(present) & (present == np.floor(present)))):
                outside = ~na & ((values < info.min) | (values > info.max))
                if outside.any():
                    row = _row_of(outside)
                    raise rule.fail(f"{int(values[row])} (out of range)", row)
                return with_nulls(s, na)
            raise rule.fail(f"{dtype} (floats are not converted to integers)")
        raise rule.fail(str(dtype))

    return convert


def _bool_converter(rule: ColumnRule, nullable: Any) -> Callable[[Any], Any]:
    import numpy as np

    def _is_bool(v: Any) -> bool:
        return isinstance(v, (bool, np.bool_))

    def convert(s: Any) -> Any:
        dtype = s.dtype
        if _is_object(dtype):
            inferred = s.infer_objects()
            if inferred.dtype != object:
                return convert(inferred)
            na = _scan_objects(rule, s, _is_bool)
        elif dtype == np.dtype(bool):
            return s
        elif isinstance(dtype, type(nullable)):
            na = s.isna().to_numpy()
        else:
            import pandas as pd

            if pd.api.types.is_string_dtype(dtype):
                raise _first_non_null_text(rule, s)
            raise rule.fail(str(dtype))
        if na.any():
            if rule.required:
                raise rule.missing_value(s, na)
            return s.astype(nullable)
        return s.astype(bool)

    return convert


# ---- text, binary, datetime, nested ----------------------------------------------------
def _text_converter(
    rule: ColumnRule, types: Any, inferred_ok: str, what: str
) -> Callable[[Any], Any]:
    import pandas as pd

    def convert(s: Any) -> Any:
        dtype = s.dtype
        if _is_object(dtype):
            # infer_dtype is one C pass; it says "string"/"bytes" only when every value is.
            if pd.api.types.infer_dtype(s, skipna=False) == inferred_ok:
                return s
            na = _scan_objects(rule, s, lambda v: isinstance(v, types))
        elif what == "str" and (
            pd.api.types.infer_dtype(dtype.categories, skipna=True) in ("string", "empty")
            if isinstance(dtype, pd.CategoricalDtype)
            # pandas string dtypes (``string``, pandas 3's ``str``, Arrow strings) hold only str
            else pd.api.types.is_string_dtype(dtype)
        ):
            na = s.isna().to_numpy() if rule.required else None
        else:
            raise rule.fail(str(dtype))
        if rule.required and na is not None and na.any():
            raise rule.missing_value(s, na)
        return s

    return convert


def _datetime_converter(rule: ColumnRule) -> Callable[[Any], Any]:
    import numpy as np
    import pandas as pd

    check_value = compile_value_checker(rule.type, False)

    def locate_bad(s: Any) -> SchemaError:
        # Only on the error path: find the first value that is not a naive datetime.
        for i, v in enumerate(s.to_numpy()):
            try:
                check_value(v)
            except ValueProblem as exc:
                return SchemaError(f"{rule.label} {exc.reason} in row {i}")
        return rule.fail(f"{s.dtype} values that do not parse as one datetime column")

    def convert(s: Any) -> Any:
        dtype = s.dtype
        if isinstance(dtype, np.dtype) and dtype.kind == "M":
            if rule.required:
                na = np.isnat(s.to_numpy())
                if na.any():
                    raise rule.missing_value(s, na)
            return s
        if isinstance(dtype, pd.DatetimeTZDtype):
            raise SchemaError(
                f"{rule.label} expects a timezone-naive datetime, got {dtype}: "
                "convert with .dt.tz_convert(None)"
            )
        if not (_is_object(dtype) or pd.api.types.is_string_dtype(dtype)):
            raise rule.fail(str(dtype))
        na = s.isna().to_numpy()
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind not in ("string", "datetime", "datetime64", "date", "empty", "mixed"):
            raise locate_bad(s)
        try:
            parsed = pd.to_datetime(s, errors="coerce", format="ISO8601")
        except (ValueError, TypeError, OverflowError):
            raise locate_bad(s) from None
        if not isinstance(parsed.dtype, np.dtype):  # timezone-aware strings
            raise locate_bad(s)
        bad = parsed.isna().to_numpy() & ~na
        if bad.any():
            raise locate_bad(s)
        if rule.required and na.any():
            raise rule.missing_value(s, na)
        # MLflow hands datetime columns over in nanoseconds (pandas 3 parses to microseconds).
        if parsed.dtype != np.dtype("datetime64[ns]"):
            try:
                parsed = parsed.astype("datetime64[ns]")
            except (ValueError, OverflowError):
                pass  # out of the nanosecond range: keep the parsed resolution
        return parsed

    return convert


def _nested_converter(rule: ColumnRule) -> Callable[[Any], Any]:
    check = compile_value_checker(rule.type, rule.required)

    def convert(s: Any) -> Any:
        if s.dtype != object:
            raise rule.fail(str(s.dtype))
        out = []
        for i, v in enumerate(s.to_numpy()):
            try:
                out.append(check(v))
            except ValueProblem as exc:
                where = f" at {exc.path}" if exc.path else ""
                raise SchemaError(f"{rule.label}{where} {exc.reason} in row {i}") from None
        import numpy as np

        values = np.empty(len(out), dtype=object)
        values[:] = out
        return _rebuild(s, values)

    return convert


# ---- the DataFrame-level enforcer ------------------------------------------------------
def _dtypes(df: Any) -> list[Any]:
    """The column dtypes of ``df`` in order, without building a Series."""
    # ``df.dtypes`` builds a Series (~15 us); the block manager holds the same data under
    # names that have existed in every pandas from 1.x to 3.x. Fall back if they go. One
    # block (a frame built from one 2-D array) holds every column, all of its dtype.
    try:
        mgr = df._mgr
        blocks = mgr.blocks
        if len(blocks) == 1:
            return [blocks[0].dtype] * len(mgr.items)
        return mgr.get_dtypes().tolist()
    except AttributeError:  # pragma: no cover - future pandas
        return df.dtypes.tolist()


def _plain_dtype(fits: frozenset) -> Any:
    """The numpy dtype among ``fits`` (a column of it is used as it is), or None."""
    import numpy as np

    plain = [d for d in fits if isinstance(d, np.dtype)]
    return plain[0] if len(plain) == 1 else None


def _labels(cols: Any) -> Any:
    """The array behind a columns Index (read-only), or None (a MultiIndex has none)."""
    try:
        return cols.array
    except (ValueError, TypeError, AttributeError):
        return None


def _same_labels(labels: Any, known: Any) -> bool:
    """Whether a columns array equals ``known`` (one that passed the full check) exactly."""
    if known is None:
        return False
    if labels is known:
        return True
    try:
        return bool(labels.equals(known))
    except Exception:  # an exotic array type: the caller makes the full check
        return False


class ColumnEnforcer:
    """Compiled enforcement of a column-based schema on DataFrames."""

    def __init__(self, schema: Any) -> None:
        self.rules = [ColumnRule(spec, i) for i, spec in enumerate(schema.inputs)]
        self.named = schema.inputs[0].name is not None
        self.names = [r.name for r in self.rules]
        self._name_set = frozenset(self.names) if self.named else frozenset()
        self._n = len(self.rules)
        # The last columns Index seen in the exact schema order, and its array of labels
        # (Index objects are immutable, so identity means the same labels; a reference keeps
        # its id unique). A fresh Index with the same labels is recognised by comparing its
        # array with the kept one in one vectorised call (``ExtensionArray.equals``: same
        # dtype and values), not by building a list of labels (about 6 µs for 10 pandas 3
        # ``str`` labels). Each slot only ever holds a value that passed the full check.
        self._ok_columns: Any = None
        self._ok_labels: Any = None
        # One numpy dtype per column that fits it as it is: a DataFrame whose dtypes list
        # equals this one needs no per-column look-up (list equality compares identical dtype
        # objects by identity, in C). None when a column has no such dtype; never a None
        # inside, since numpy finds ``np.dtype("float64") == None`` true.
        plain = [_plain_dtype(r.fits) for r in self.rules]
        self._plain = None if any(d is None for d in plain) else plain

    def single(self) -> ColumnRule | None:
        """The only column of a one-column schema, else None."""
        return self.rules[0] if self._n == 1 else None

    def __call__(self, df: Any) -> Any:
        cols = df.columns
        if self.named:
            if cols is not self._ok_columns:
                if len(cols) != self._n:
                    return self._by_name(df)
                labels = _labels(cols)
                if labels is None or not _same_labels(labels, self._ok_labels):
                    if cols.tolist() != self.names:
                        return self._by_name(df)
                    if labels is not None:
                        self._ok_labels = labels
                self._ok_columns = cols
        elif len(cols) != self._n:
            return self._by_position(df)
        dtypes = _dtypes(df)
        if dtypes == self._plain:
            return df
        changed = None
        for i, (dtype, rule) in enumerate(zip(dtypes, self.rules, strict=True)):
            if dtype in rule.fits:
                continue
            s = df.iloc[:, i]
            new = rule.convert(s)
            if new is not s:
                if changed is None:
                    changed = {}
                changed[i] = new
        if changed is None:
            return df
        return self._assemble(df, [changed.get(i, None) for i in range(self._n)], None)

    def _assemble(self, df: Any, converted: list, labels: list | None) -> Any:
        import pandas as pd

        data = {}
        for i in range(self._n):
            label = labels[i] if labels is not None else df.columns[i]
            s = converted[i]
            data[label] = s if s is not None else df.iloc[:, i]
        return pd.DataFrame(data, index=df.index, copy=False)

    def _by_position(self, df: Any) -> Any:
        import pandas as pd

        ncols = len(df.columns)
        if ncols < self._n:
            raise SchemaError(
                f"input has {ncols} columns but the model signature declares {self._n} "
                "unnamed columns (they are matched by position)"
            )
        extra = [c for c in df.columns[self._n :]]
        _logger.warning(
            "ignoring %d input columns beyond the %d the model signature declares: %s",
            len(extra),
            self._n,
            short(extra),
        )
        data = {}
        for i, rule in enumerate(self.rules):
            s = df.iloc[:, i]
            data[df.columns[i]] = s if s.dtype in rule.fits else rule.convert(s)
        return pd.DataFrame(data, index=df.index, copy=False)

    def _by_name(self, df: Any) -> Any:
        import pandas as pd

        cols = df.columns
        present = set(cols)
        if not cols.is_unique:
            dups = [c for c in self.names if c in present and (cols == c).sum() > 1]
            if dups:
                raise SchemaError(
                    f"column {dups[0]!r} appears {int((cols == dups[0]).sum())} times in "
                    "the input: send each column once"
                )
        missing = [r.name for r in self.rules if r.required and r.name not in present]
        if missing:
            what = f"column {missing[0]!r}" if len(missing) == 1 else f"columns {missing}"
            raise SchemaError(f"input is missing required {what}; got columns {short(list(cols))}")
        extra = [c for c in cols if c not in self._name_set]
        if extra:
            _logger.warning("ignoring input columns not in the model signature: %s", short(extra))
        n = len(df)
        data = {}
        for rule in self.rules:
            if rule.name in present:
                s = df[rule.name]
                data[rule.name] = s if s.dtype in rule.fits else rule.convert(s)
            else:
                data[rule.name] = rule.null(n)
        return pd.DataFrame(data, index=df.index, copy=False)
