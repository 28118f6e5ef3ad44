"""The scalar column type of signatures: :class:`DataType` (MLflow's names and ids)."""

from __future__ import annotations

import builtins
import datetime as _dt
from enum import Enum
from typing import TYPE_CHECKING, Any

from saveur.errors import SignatureError

if TYPE_CHECKING:
    import numpy as np


class DataType(Enum):
    """The scalar column types of a signature (MLflow's ``DataType``, same names and ids)."""

    # value, numpy dtype name, pandas dtype name ("object" for text and bytes, as MLflow)
    boolean = (1, "bool", "bool")
    integer = (2, "int32", "int32")
    long = (3, "int64", "int64")
    float = (4, "float32", "float32")
    double = (5, "float64", "float64")
    string = (6, "str", "object")
    binary = (7, "bytes", "object")
    datetime = (8, "datetime64[ns]", "datetime64[ns]")

    def __new__(cls, value: int, numpy_name: str, pandas_name: str) -> DataType:
        member = object.__new__(cls)
        member._value_ = value
        member._numpy_name = numpy_name  # type: ignore[attr-defined]
        member._pandas_name = pandas_name  # type: ignore[attr-defined]
        return member

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> np.dtype:
        """The numpy dtype of this type (``str`` and ``bytes`` for string and binary)."""
        import numpy as np

        return np.dtype(self._numpy_name)  # type: ignore[attr-defined]

    def to_pandas(self) -> Any:
        """The pandas dtype MLflow uses for this type (``object`` for string and binary)."""
        import numpy as np

        if self._pandas_name == "object":  # type: ignore[attr-defined]
            return object
        return np.dtype(self._pandas_name)  # type: ignore[attr-defined]

    def to_python(self) -> type:
        """The Python type of a value of this type."""
        return _PYTHON_TYPES[self.name]

    @classmethod
    def from_name(cls, name: str) -> DataType:
        """Look a type up by name, with an error that lists the valid names."""
        try:
            return cls[name]
        except (KeyError, TypeError):
            raise SignatureError(
                f"unsupported type {name!r}: expected one of {[t.name for t in cls]}, "
                "or array, object, map, any"
            ) from None

    @classmethod
    def from_numpy_type(cls, np_type: Any) -> DataType | None:
        """The type whose numpy dtype equals ``np_type``, or None."""
        return next((t for t in cls if t.to_numpy() == np_type), None)


_PYTHON_TYPES: dict[str, type] = {
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": builtins.float,
    "double": builtins.float,
    "string": str,
    "binary": bytes,
    "datetime": _dt.date,
}
