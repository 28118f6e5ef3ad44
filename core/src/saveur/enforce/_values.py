"""Value-level checks shared by enforcement and request parsing.

Here live the helpers that look at single Python values: short reprs for error messages,
type names as a signature writes them, and compiled validators for the nested column types
(``Array``, ``Object``, ``Map``, ``AnyType``) and for scalars inside them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

_MAX_REPR = 40


class ValueProblem(Exception):
    """A value does not fit a nested type; ``path`` locates it inside the value."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def at(self, step: str) -> ValueProblem:
        """Return a copy with ``step`` prepended to the path (used while unwinding)."""
        return ValueProblem(self.reason, step + self.path)


def short(value: Any) -> str:
    """A repr of ``value`` cut to a few dozen characters, so messages never dump input."""
    try:
        import numpy as np

        if isinstance(value, np.generic):
            value = value.item()  # "nan", not "np.float64(nan)"
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception's text on one line, cut to ``limit`` characters (library messages vary)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(t: Any) -> str:
    """The name of a column type as the signature spells it: ``double``, ``Array(long)``..."""
    from saveur.types import AnyType, Array, DataType, Map, Object

    if isinstance(t, DataType):
        return t.name
    if isinstance(t, Array):
        return f"Array({type_name(t.dtype)})"
    if isinstance(t, Map):
        return f"Map({type_name(t.value_type)})"
    if isinstance(t, Object):
        return "Object"
    if isinstance(t, AnyType):
        return "Any"
    return str(t)


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas NA and NaT (the values a column reads as null)."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return True
    try:
        import numpy as np

        if isinstance(value, (np.floating, np.datetime64)):
            return bool(np.isnan(value)) if isinstance(value, np.floating) else bool(
                np.isnat(value)
            )
    except Exception:
        return False
    return False


def _scalar_checker(name: str) -> Callable[[Any], Any]:
    """Return a function converting one scalar to the DataType ``name`` or raising."""
    import numpy as np

    def reject(value: Any) -> Any:
        raise ValueProblem(f"expects {name}, got {type(value).__name__} {short(value)}")

    if name in ("double", "float"):

        def check_float(value: Any) -> Any:
            # JSON numbers carry no width: ints and floats are both numbers here.
            if isinstance(value, (bool, np.bool_)):
                reject(value)
            if isinstance(value, (int, float, np.integer, np.floating)):
                return float(value)
            return reject(value)

        return check_float
    if name in ("long", "integer"):
        lo, hi = (-(2**63), 2**63 - 1) if name == "long" else (-(2**31), 2**31 - 1)

        def check_int(value: Any) -> Any:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                reject(value)
            if not lo <= int(value) <= hi:
                raise ValueProblem(f"expects {name}, got {short(value)} (out of range)")
            return int(value)

        return check_int
    if name == "boolean":

        def check_bool(value: Any) -> Any:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            return reject(value)

        return check_bool
    if name == "string":

        def check_str(value: Any) -> Any:
            if isinstance(value, str):
                return value
            return reject(value)

        return check_str
    if name == "binary":

        def check_bytes(value: Any) -> Any:
            if isinstance(value, (bytes, bytearray)):
                return value
            return reject(value)

        return check_bytes

    def check_datetime(value: Any) -> Any:
        import pandas as pd

        if isinstance(value, (_dt.date, np.datetime64)):
            return pd.Timestamp(value)
        if isinstance(value, str):
            try:
                ts = pd.Timestamp(value)
            except ValueError:
                raise ValueProblem(
                    f"expects datetime, got {short(value)} (not an ISO 8601 string)"
                ) from None
            if ts.tzinfo is not None:
                raise ValueProblem(f"expects a timezone-naive datetime, got {short(value)}")
            return ts
        return reject(value)

    return check_datetime


def compile_value_checker(t: Any, required: bool) -> Callable[[Any], Any]:
    """Compile a checker for one value of type ``t`` (DataType or nested type).

    The checker returns the value converted as MLflow would (a new object: the caller's
    data is never mutated) or raises :class:`ValueProblem`. Missing values follow MLflow:
    they pass where the type is optional, or where an Array/Map holds ``AnyType``.
    """
    from saveur.types import AnyType, Array, DataType, Map, Object

    if isinstance(t, AnyType):
        return lambda value: value
    if isinstance(t, DataType):
        convert = _scalar_checker(t.name)

        def check_scalar(value: Any) -> Any:
            if is_missing(value):
                if required:
                    raise ValueProblem(f"expects {t.name}, got a missing value ({short(value)})")
                return None
            return convert(value)

        return check_scalar
    if isinstance(t, Array):
        item = compile_value_checker(t.dtype, required)
        lenient = not required or isinstance(t.dtype, AnyType)

        def check_array(value: Any) -> Any:
            import numpy as np

            if lenient and (
                value is None or (isinstance(value, (list, np.ndarray)) and len(value) == 0)
            ):
                return value
            if not isinstance(value, (list, tuple, np.ndarray)):
                raise ValueProblem(
                    f"expects {type_name(t)} (a list), got {type(value).__name__} {short(value)}"
                )
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(item(v))
                except ValueProblem as exc:
                    raise exc.at(f"[{i}]") from None
            return np.array(out) if isinstance(value, np.ndarray) else out

        return check_array
    if isinstance(t, Map):
        inner = compile_value_checker(t.value_type, required)
        lenient = not required or isinstance(t.value_type, AnyType)

        def check_map(value: Any) -> Any:
            if lenient and (value is None or value == {}):
                return value
            if not isinstance(value, dict):
                raise ValueProblem(
                    f"expects {type_name(t)} (a dict), got {type(value).__name__} {short(value)}"
                )
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ValueProblem(f"expects string keys, got key {short(k)}")
                try:
                    out[k] = inner(v)
                except ValueProblem as exc:
                    raise exc.at(f"[{k!r}]") from None
            return out

        return check_map
    if isinstance(t, Object):
        props = {p.name: (p, compile_value_checker(p.dtype, p.required)) for p in t.properties}
        needed = [p.name for p in t.properties if p.required]

        def check_object(value: Any) -> Any:
            if not required and (value is None or value == {}):
                return value
            if not isinstance(value, dict):
                raise ValueProblem(
                    f"expects Object (a dict), got {type(value).__name__} {short(value)}"
                )
            missing = [k for k in needed if k not in value]
            if missing:
                raise ValueProblem(f"is missing required properties {missing}")
            unknown = [k for k in value if k not in props]
            if unknown:
                raise ValueProblem(f"has properties not in the schema: {short(unknown)}")
            out = {}
            for k, v in value.items():
                try:
                    out[k] = props[k][1](v)
                except ValueProblem as exc:
                    raise exc.at(f"[{k!r}]") from None
            return out

        return check_object
    raise TypeError(f"not a column type: {t!r}")
