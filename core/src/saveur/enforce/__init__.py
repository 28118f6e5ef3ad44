"""Checking and converting model inputs and params against a signature.

:func:`compile_enforcer` turns a :class:`~saveur.signature.ModelSignature` into a function
``enforce(data, params) -> (data, params)``, built once per loaded model and called on every
``predict``. The rules are MLflow's (see ``docs/enforcement.md`` for the conversion table);
every failure is one :class:`~saveur.errors.SchemaError` with a one-line message naming the
column, tensor or param, what was expected and what was received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from saveur.enforce._values import one_line, short
from saveur.errors import SchemaError

__all__ = ["Enforcer", "compile_enforcer", "compile_fit_check", "compile_params"]

_logger = logging.getLogger("saveur.enforce")

if TYPE_CHECKING:
    from saveur.signature import ModelSignature
    from saveur.types import ParamSchema, Schema

Enforcer = Callable[..., tuple[Any, Any]]


def _passthrough(data: Any, params: dict[str, Any] | None = None) -> tuple[Any, Any]:
    return data, params


def compile_enforcer(signature: ModelSignature | Schema | None) -> Enforcer:
    """Compile ``signature`` into ``enforce(data, params=None) -> (data, params)``.

    ``signature`` is a ``ModelSignature`` (or None: inputs and params pass through
    unchanged). Data may be a DataFrame, Series, ndarray, dict of arrays or lists, list of
    dicts, a single dict or a scalar; the result has the form the model expects (a DataFrame
    for column schemas, an array or dict of arrays for tensor schemas). Raises SchemaError.
    """
    if signature is None:
        return _passthrough
    from saveur.types import Schema

    inputs = signature if isinstance(signature, Schema) else getattr(signature, "inputs", None)
    param_schema = None if isinstance(signature, Schema) else getattr(signature, "params", None)
    enforce_data = _compile_inputs(inputs)
    enforce_params = _compile_params(param_schema)

    if enforce_data is None:

        def enforce_params_only(data: Any, params: dict[str, Any] | None = None) -> tuple:
            return data, enforce_params(params)

        return enforce_params_only

    def enforce(data: Any, params: dict[str, Any] | None = None) -> tuple[Any, Any]:
        try:
            if params is None and param_schema is None:
                return enforce_data(data), None  # what enforce_params(None) gives: no call
            return enforce_data(data), enforce_params(params)
        except UnicodeError as exc:  # text pandas cannot store (an unpaired surrogate, say)
            raise SchemaError(
                f"input holds text that is not valid Unicode ({type(exc).__name__}: "
                f"{getattr(exc, 'reason', exc)})"
            ) from None

    return enforce


def compile_fit_check(signature: ModelSignature | Schema | None) -> Callable[[Any], bool] | None:
    """Compile ``fits(data)``: true only when ``enforce(data, None)`` is ``(data, None)``.

    The predicate lets a caller skip enforcement for input that already fits exactly, at the
    cost of a few attribute reads: a plain ndarray (or, for named tensors, a dict of them
    keyed in the signature's order) of each tensor's dtype and shape. Anything else, and
    every column-based signature or one that declares params, gets False or None (no
    predicate): such input goes through the enforcer, which gives the same result.
    """
    if signature is None:
        return _always
    from saveur.types import Schema

    inputs = signature if isinstance(signature, Schema) else getattr(signature, "inputs", None)
    param_schema = None if isinstance(signature, Schema) else getattr(signature, "params", None)
    if param_schema is not None:
        return None  # the enforcer fills in the declared defaults: never (data, None)
    if inputs is None:
        return _always
    if not inputs.is_tensor_spec():
        return None
    from saveur.enforce._tensors import TensorEnforcer

    return TensorEnforcer(inputs).fits


def _always(data: Any) -> bool:
    return True


def compile_params(schema: ParamSchema | None) -> Callable[[Any], Any]:
    """Compile a signature's params schema alone into ``enforce_params(params) -> params``.

    For callers that check params once, apart from any data (batch scoring checks them before
    the first row, so a bad param is never blamed on a row). Raises SchemaError.
    """
    return _compile_params(schema)


# ---- inputs ------------------------------------------------------------------------------
def _compile_inputs(schema: Any) -> Callable[[Any], Any] | None:
    if schema is None:
        return None
    if schema.is_tensor_spec():
        from saveur.enforce._tensors import TensorEnforcer

        return TensorEnforcer(schema)
    import pandas as pd

    from saveur.enforce._columns import ColumnEnforcer

    columns = ColumnEnforcer(schema)
    nested = _has_record_types(schema)
    frame = pd.DataFrame

    def enforce_columns(data: Any) -> Any:
        if type(data) is frame or isinstance(data, frame):
            return columns(data)
        return columns(_to_frame(data, columns, nested))

    return enforce_columns


def _has_record_types(schema: Any) -> bool:
    # MLflow reads a dict as one record when any column is an Array or an Object.
    from saveur.types import Array, Object

    return any(isinstance(spec.type, (Array, Object)) for spec in schema.inputs)


def _is_scalar(x: Any) -> bool:
    import numpy as np

    return x is None or np.isscalar(x)


def _to_frame(data: Any, columns: Any, nested: bool) -> Any:
    """Turn any input a pyfunc accepts into a DataFrame for a column schema."""
    import numpy as np
    import pandas as pd

    single = columns.single()
    if isinstance(data, pd.Series):
        if single is not None and single.name is not None and data.name in (None, 0):
            return data.to_frame(name=single.name)
        return data.to_frame()
    if isinstance(data, dict):
        return _dict_to_frame(data, nested, np, pd)
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(x, dict) for x in data):
            try:
                return pd.DataFrame.from_records(list(data))
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"list of records is not a table: {one_line(exc)}") from None
        if single is not None and single.name is not None and all(_is_scalar(x) for x in data):
            return pd.DataFrame({single.name: list(data)})
        rows = [x for x in data if isinstance(x, (list, tuple, np.ndarray))]
        if rows and len(rows) == len(data):
            width = len(rows[0])
            for i, row in enumerate(rows):
                if len(row) != width:
                    raise SchemaError(
                        f"list input rows have different lengths: row {i} has {len(row)} "
                        f"values, row 0 has {width}"
                    )
        try:
            return pd.DataFrame(list(data))
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"list input is not a table: {one_line(exc)}") from None
    if isinstance(data, np.ndarray) and data.ndim == 0:
        data = data.item()
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and single is not None and single.name is not None:
            return pd.DataFrame({single.name: data})
        if data.ndim > 2:
            raise SchemaError(
                f"a column-based model takes a table, got an array of shape {data.shape}"
            )
        return pd.DataFrame(data)
    if _is_scalar(data):
        if single is not None and single.name is not None:
            return pd.DataFrame({single.name: [data]})
        return pd.DataFrame([data])
    raise SchemaError(
        "a column-based model takes a DataFrame, a dict of columns, a list of records or an "
        f"array, got {type(data).__name__}"
    )


def _dict_to_frame(data: dict, nested: bool, np: Any, pd: Any) -> Any:
    # A dict of scalars is one record; a dict of lists/arrays is columns. Where the schema
    # has Array/Object/Map columns a list is a value, so the dict is one record (MLflow).
    if nested or all(_is_scalar(v) for v in data.values()):
        row = {k: [v] for k, v in data.items()}
        return pd.DataFrame(row) if row else pd.DataFrame(index=[0])
    cols = {}
    for key, value in data.items():
        if isinstance(value, np.ndarray) and value.ndim > 1:
            # DataFrames cannot hold 2-D arrays: keep rows as lists, rejected by the types.
            value = list(value.tolist())
        elif _is_scalar(value):
            value = [value]
        cols[key] = value
    try:
        return pd.DataFrame(cols)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"dict input is not a table of columns: {one_line(exc)}") from None


# ---- params ------------------------------------------------------------------------------
def _compile_params(schema: Any) -> Callable[[Any], Any]:
    if schema is None:

        def no_params(params: Any) -> Any:
            if params is None or params == {}:
                return params
            names = list(params) if isinstance(params, dict) else type(params).__name__
            _logger.warning(
                "ignoring params %s: the model signature declares no params", short(names)
            )
            return {}

        return no_params

    specs = {p.name: p for p in schema.params}
    defaults = {p.name: p.default for p in schema.params}

    def enforce_params(params: Any) -> dict[str, Any]:
        if not params:
            if params is None or isinstance(params, dict):
                return dict(defaults)
        if not isinstance(params, dict):
            raise SchemaError(f"params must be a dict, got {type(params).__name__}")
        if any(not isinstance(k, str) for k in params):
            params = {str(k): v for k, v in params.items()}
        unknown = [k for k in params if k not in specs]
        if unknown:
            _logger.warning(
                "ignoring params not in the model signature: %s (known: %s)",
                short(unknown),
                short(list(specs)),
            )
        out = dict(defaults)
        for name, value in params.items():
            spec = specs.get(name)
            if spec is None:
                continue
            try:
                out[name] = spec.validate(value)
            except SchemaError as exc:
                raise SchemaError(one_line(exc)) from None
            except (TypeError, ValueError) as exc:
                raise SchemaError(
                    f"param {name!r} expects {spec.dtype!r}, got {short(value)}: {one_line(exc)}"
                ) from None
        return out

    return enforce_params
