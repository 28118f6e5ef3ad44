"""Enforcement of tensor-based schemas: shapes with ``-1`` wildcards and safe dtype casts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from saveur.enforce._values import short
from saveur.errors import SchemaError

_logger = logging.getLogger("saveur.enforce")


def safe_cast(actual: Any, expected: Any) -> bool:
    """True if every value of dtype ``actual`` is exactly representable in ``expected``.

    Widening within a kind, unsigned into a wider signed integer, and integers into a float
    whose mantissa holds them (int8/16 -> float32, int8..32 -> float64). int64 -> float64 is
    not safe (values above 2**53 change), matching the column rules.
    """
    a, e = actual.kind, expected.kind
    if a == e and a in "biuf":
        return actual.itemsize <= expected.itemsize
    if a == "u" and e == "i":
        return actual.itemsize < expected.itemsize
    if a in "iu" and e == "f":
        return actual.itemsize * 2 <= expected.itemsize
    if a == "b" and e in "iuf":
        return False
    return False


def _same_type(actual: Any, expected: Any) -> bool:
    # Flexible dtypes (str, bytes) match whatever their item size, as in MLflow.
    if expected.char in ("U", "S"):
        return actual.char == expected.char
    return actual == expected


def _array_fits(spec: Any) -> Callable[[Any], bool] | None:
    """A predicate true exactly for plain arrays of ``spec``'s dtype and shape, or None.

    None for str, bytes and object tensors, whose rules (any item size, ragged data) are the
    general path's. The predicate only reads ``type``, ``dtype``, ``ndim`` and ``shape``.
    """
    import numpy as np

    dtype = spec.type
    if dtype.char in ("U", "S", "O"):
        return None
    ndarray = np.ndarray
    shape = tuple(spec.shape)
    rank = len(shape)
    fixed = tuple(i for i, d in enumerate(shape) if d != -1)
    if not fixed:

        def fits_rank(arr: Any) -> bool:
            if type(arr) is not ndarray:
                return False
            actual = arr.dtype
            return (actual is dtype or actual == dtype) and arr.ndim == rank

        return fits_rank
    # itemgetter picks the fixed dimensions in C (one index gives a value, several a tuple).
    pick = itemgetter(*fixed)
    expected = pick(shape)

    def fits_shape(arr: Any) -> bool:
        if type(arr) is not ndarray:
            return False
        actual = arr.dtype
        return (
            (actual is dtype or actual == dtype)
            and arr.ndim == rank
            and pick(arr.shape) == expected
        )

    return fits_shape


def _is_sparse(x: Any) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("scipy.sparse") and hasattr(x, "data") and hasattr(x, "shape")


class TensorEnforcer:
    """Compiled enforcement of a tensor-based schema."""

    def __init__(self, schema: Any) -> None:
        self.specs = list(schema.inputs)
        self.named = self.specs[0].name is not None
        self.names = [s.name for s in self.specs]
        # The common case, arrays of the declared dtype and shape, is checked by these
        # predicates before anything else: a 1-row predict must cost microseconds, not a walk.
        self._fits = {id(spec): _array_fits(spec) for spec in self.specs}
        self.fits = self._compile_fits()

    def _compile_fits(self) -> Callable[[Any], bool] | None:
        """A predicate true only for input that :meth:`__call__` returns as it is (None: none)."""
        checks = [c for c in (self._fits[id(spec)] for spec in self.specs) if c is not None]
        if len(checks) != len(self.specs):
            return None
        if not self.named:
            return checks[0]
        names = self.names
        pairs = list(zip(names, checks, strict=True))

        def fits_dict(data: Any) -> bool:
            # The same keys in the signature's order: exactly the dict _named hands back.
            if type(data) is not dict or list(data) != names:
                return False
            for name, check in pairs:
                if not check(data[name]):
                    return False
            return True

        return fits_dict

    @staticmethod
    def _label(spec: Any) -> str:
        return f"tensor {spec.name!r}" if spec.name is not None else "input tensor"

    def check(self, arr: Any, spec: Any) -> Any:
        """Check one array against ``spec``: shape, then dtype (converted only when safe)."""
        import numpy as np

        fits = self._fits.get(id(spec))
        if fits is not None and fits(arr):
            return arr
        label = self._label(spec)
        if _is_sparse(arr):
            actual_type = arr.data.dtype
        elif isinstance(arr, np.ndarray):
            actual_type = arr.dtype
        else:
            raise SchemaError(f"{label} expects a numpy array, got {type(arr).__name__}")
        expected_shape, expected_type = tuple(spec.shape), spec.type
        # Ragged inputs, as MLflow allows them: an object tensor of shape (-1,) takes any
        # array, and a 1-D object array may stand for a batch of variable-size items.
        if expected_shape == (-1,) and expected_type == np.dtype("O"):
            return arr
        if (
            len(expected_shape) > 1
            and -1 in expected_shape[1:]
            and len(arr.shape) == 1
            and actual_type == np.dtype("O")
        ):
            return arr
        actual_shape = tuple(arr.shape)
        if len(actual_shape) != len(expected_shape) or any(
            e != -1 and e != a for e, a in zip(expected_shape, actual_shape, strict=True)
        ):
            raise SchemaError(
                f"{label} expects shape {expected_shape} (-1 = any size), got {actual_shape}"
            )
        if _same_type(actual_type, expected_type):
            return arr
        if safe_cast(actual_type, expected_type):
            return arr.astype(expected_type)
        raise SchemaError(
            f"{label} expects dtype {expected_type}, got {actual_type} "
            "(only conversions that keep every value exactly are made)"
        )

    def _from_column(self, series: Any, spec: Any) -> Any:
        """Turn one DataFrame column into a tensor of ``spec`` (MLflow's reshape rules)."""
        import numpy as np

        label = self._label(spec)
        shape = tuple(spec.shape)
        if not shape or shape[0] != -1 or -1 in shape[1:]:
            raise SchemaError(
                f"{label} has shape {shape}: a DataFrame column can feed a tensor only when "
                "the first dimension is -1 and the others are fixed"
            )
        if len(series) == 0:
            raise SchemaError(f"{label}: the input DataFrame has no rows")
        first = series.iloc[0]
        if np.isscalar(first) or first is None:
            if shape not in ((-1,), (-1, 1)):
                raise SchemaError(
                    f"{label} expects shape {shape}, got a column of scalars "
                    "(which fits only shape (-1,) or (-1, 1))"
                )
            return self.check(series.to_numpy().reshape(shape), spec)
        if isinstance(first, (list, np.ndarray)):
            try:
                stacked = np.vstack(series.tolist())
                arr = stacked.reshape(shape)
            except ValueError:
                raise SchemaError(
                    f"{label} expects shape {shape}: the column's values do not stack into it "
                    "(are all items the same length?)"
                ) from None
            if len(arr) != len(series):
                raise SchemaError(
                    f"{label} expects shape {shape}: the column's {len(series)} rows reshape "
                    f"into {len(arr)}"
                )
            if isinstance(first, list):
                # Python lists carry no dtype (JSON numbers): cast within the same kind.
                try:
                    arr = arr.astype(spec.type, casting="same_kind")
                except TypeError:
                    raise SchemaError(
                        f"{label} expects dtype {spec.type}, got lists of {arr.dtype}"
                    ) from None
            return self.check(arr, spec)
        raise SchemaError(
            f"{label}: a DataFrame column feeding a tensor must hold scalars, lists or arrays, "
            f"got {type(first).__name__}"
        )

    def __call__(self, data: Any) -> Any:
        fits = self.fits
        if fits is not None and fits(data):
            return data
        import numpy as np

        if type(data) is np.ndarray and not self.named:
            return self.check(data, self.specs[0])
        import pandas as pd

        if isinstance(data, pd.Series):
            data = data.to_frame()
        if self.named:
            return self._named(data, np, pd)
        spec = self.specs[0]
        if isinstance(data, np.ndarray) or _is_sparse(data):
            return self.check(data, spec)
        if isinstance(data, pd.DataFrame):
            ncols = len(data.columns)
            if data.empty:
                raise SchemaError("input tensor: the input DataFrame is empty")
            if ncols == 1:
                return self._from_column(data.iloc[:, 0], spec)
            shape = tuple(spec.shape)
            if len(shape) != 2 or shape[0] != -1 or shape[1] not in (-1, ncols):
                raise SchemaError(
                    f"input tensor expects shape {shape}, got a DataFrame of {ncols} columns "
                    f"(which fits only shape (-1, {ncols}))"
                )
            return self.check(data.to_numpy(), spec)
        if isinstance(data, (list, tuple)):
            try:
                arr = np.asarray(data)
            except ValueError:
                raise SchemaError("input tensor: the nested lists are ragged") from None
            return self.check(arr, spec)
        raise SchemaError(
            f"input tensor expects a numpy array (or DataFrame), got {type(data).__name__}"
        )

    def _named(self, data: Any, np: Any, pd: Any) -> Any:
        if isinstance(data, dict):
            missing = [n for n in self.names if n not in data]
            if missing:
                raise SchemaError(
                    f"input is missing tensor {missing[0]!r}; got {short(list(data))}"
                )
            extra = [k for k in data if k not in set(self.names)]
            if extra:
                _logger.warning("ignoring inputs not in the model signature: %s", short(extra))
            out = {}
            unchanged = True
            for spec in self.specs:
                value = given = data[spec.name]
                if isinstance(value, (list, tuple)):
                    try:
                        value = np.asarray(value)
                    except ValueError:
                        raise SchemaError(
                            f"tensor {spec.name!r}: the nested lists are ragged"
                        ) from None
                out[spec.name] = checked = self.check(value, spec)
                unchanged = unchanged and checked is given
            if unchanged and type(data) is dict and list(data) == self.names:
                # Nothing to convert, drop or reorder: the caller's dict, as an array that
                # fits is handed over as it is (and as :attr:`fits` promises).
                return data
            return out
        if isinstance(data, pd.DataFrame):
            missing = [n for n in self.names if n not in data.columns]
            if missing:
                raise SchemaError(
                    f"input is missing tensor {missing[0]!r}; got columns "
                    f"{short(list(data.columns))}"
                )
            return {s.name: self._from_column(data[s.name], s) for s in self.specs}
        if isinstance(data, np.ndarray) and len(self.specs) == 1:
            return {self.specs[0].name: self.check(data, self.specs[0])}
        raise SchemaError(
            f"input expects a dict of arrays named {short(self.names)}, got {type(data).__name__}"
        )
