"""Schema types of model signatures, encoded exactly as MLflow 3 encodes them.

Column-based schemas are lists of :class:`ColSpec` (a :class:`DataType` or a nested
:class:`Array`, :class:`Object`, :class:`Map` or :class:`AnyType`); tensor-based schemas are
lists of :class:`TensorSpec` (a numpy dtype and a shape, ``-1`` for variable dimensions).
:class:`ParamSchema` lists the inference parameters a model accepts. ``to_dict``/``to_json``
produce the JSON MLflow writes into ``MLmodel`` (same key order, ``required`` always written).
"""

from __future__ import annotations

import builtins
import datetime as _dt
import json
from typing import Any

from saveur.errors import SchemaError, SignatureError
from saveur.types._complex import _OBJECT, _coerce_type, _type_from_dict, _type_to_dict
from saveur.types._complex import AnyType as AnyType
from saveur.types._complex import Array as Array
from saveur.types._complex import Map as Map
from saveur.types._complex import Object as Object
from saveur.types._complex import Property as Property
from saveur.types._complex import SparkMLVector as SparkMLVector
from saveur.types._scalar import DataType as DataType

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
]

# Defined in private modules, public here: pickles and reprs name this path, so the files
# can move again without changing saved data (as httpx does).
for _cls in (AnyType, Array, DataType, Map, Object, Property, SparkMLVector):
    _cls.__module__ = __name__


def _json_default(value: Any) -> Any:
    # numpy scalars (a column label, a value inside an Object default) and dates are written
    # as the plain JSON value; MLflow fails on them, so no existing file differs.
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    raise SignatureError(
        f"{type(value).__name__} {value!r} cannot be written in a signature's JSON"
    )


class ColSpec:
    """One column of a column-based schema: a type, an optional name, and ``required``."""

    def __init__(self, type: Any, name: Any = None, required: bool = True) -> None:
        self.type = _coerce_type(type, "the type of a ColSpec")
        self.name = name
        self.required = required

    def to_dict(self) -> dict[str, Any]:
        """The MLmodel encoding: type (and its members), then name, then required."""
        d = _type_to_dict(self.type)
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        """Read one column entry of a schema's JSON."""
        if "type" not in kwargs:
            raise SignatureError(f"a column entry needs a 'type' key, got {sorted(kwargs)}")
        d = dict(kwargs)
        name = d.pop("name", None)
        # MLflow 2.x files may omit "required"; absent means required, as MLflow reads it.
        required = d.pop("required", True)
        if required is None:
            required = True
        return cls(_type_from_dict(d, f"column {name!r}"), name=name, required=required)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColSpec)
            and self.name == other.name
            and self.type == other.type
            and self.required == other.required
        )

    def __repr__(self) -> str:
        req = "required" if self.required else "optional"
        if self.name is None:
            return f"{self.type!r} ({req})"
        return f"{self.name!r}: {self.type!r} ({req})"


class TensorSpec:
    """One tensor of a tensor-based schema: a numpy dtype, a shape (-1 = any) and a name."""

    def __init__(self, type: Any, shape: Any, name: str | None = None) -> None:
        import numpy as np

        try:
            dtype = type if isinstance(type, np.dtype) else np.dtype(type)
        except TypeError as exc:
            raise SignatureError(f"tensor {name!r}: {type!r} is not a numpy dtype") from exc
        if dtype.char in ("U", "S") and not dtype.name.isalpha():
            raise SignatureError(
                f"tensor {name!r}: give flexible dtypes without a size, as "
                f"np.dtype({dtype.name.rstrip('0123456789')!r}), not {dtype.name!r}"
            )
        if not isinstance(shape, (tuple, list)):
            raise SignatureError(
                f"tensor {name!r}: shape must be a tuple or list, got {builtins.type(shape)}"
            )
        self.type = dtype
        self.shape = tuple(shape)
        self.name = name

    @property
    def required(self) -> bool:
        """Tensors are always required."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """``{"name"?, "type": "tensor", "tensor-spec": {"dtype", "shape"}}``."""
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.type.name, "shape": self.shape}}
        return spec if self.name is None else {"name": self.name, **spec}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        """Read one tensor entry of a schema's JSON."""
        spec = kwargs.get("tensor-spec")
        if kwargs.get("type") != "tensor" or not isinstance(spec, dict):
            raise SignatureError("a tensor entry needs type 'tensor' and a 'tensor-spec' object")
        if "dtype" not in spec or "shape" not in spec:
            raise SignatureError("a 'tensor-spec' needs 'dtype' and 'shape' keys")
        return cls(spec["dtype"], tuple(spec["shape"]), kwargs.get("name"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.name == other.name
            and self.type == other.type
            and self.shape == other.shape
        )

    def __repr__(self) -> str:
        info = f"Tensor({self.type.name!r}, {self.shape!r})"
        return info if self.name is None else f"{self.name!r}: {info}"


class Schema:
    """An ordered list of :class:`ColSpec` or of :class:`TensorSpec` (never both)."""

    def __init__(self, inputs: list[Any]) -> None:
        if not isinstance(inputs, list):
            raise SignatureError(f"Schema inputs must be a list, got {type(inputs).__name__}")
        if not inputs:
            raise SignatureError("a Schema needs at least one input")
        if not (
            all(isinstance(x, ColSpec) for x in inputs)
            or all(isinstance(x, TensorSpec) for x in inputs)
        ):
            raise SignatureError(
                "a Schema holds either ColSpec or TensorSpec entries, not a mix: "
                f"got {[type(x).__name__ for x in inputs]}"
            )
        named = [x.name is not None for x in inputs]
        if any(named) and not all(named):
            raise SignatureError(
                "a Schema's inputs must be all named or all unnamed, got names "
                f"{[x.name for x in inputs]}"
            )
        if isinstance(inputs[0], TensorSpec) and len(inputs) > 1 and not all(named):
            raise SignatureError("a Schema with several tensors must name each of them")
        if not any(named) and not all(x.required for x in inputs):
            raise SignatureError("unnamed inputs cannot be optional: name them or require them")
        self.inputs: list[Any] = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def __iter__(self) -> Any:
        return iter(self.inputs)

    def is_tensor_spec(self) -> bool:
        """True if this schema lists tensors."""
        return isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[Any]:
        """Input names, or positions where the inputs are unnamed (MLflow's rule)."""
        return [i if x.name is None else x.name for i, x in enumerate(self.inputs)]

    def required_input_names(self) -> list[Any]:
        """Names (or positions) of the required inputs."""
        return [i if x.name is None else x.name for i, x in enumerate(self.inputs) if x.required]

    def optional_input_names(self) -> list[Any]:
        """Names (or positions) of the optional inputs."""
        return [i if x.name is None else x.name for i, x in enumerate(self.inputs) if not x.required]

    def has_input_names(self) -> bool:
        """True if the inputs are named."""
        return self.inputs[0].name is not None

    def input_types(self) -> list[Any]:
        """The type of each input (DataType/Array/... or numpy dtype for tensors)."""
        return [x.type for x in self.inputs]

    def input_types_dict(self) -> dict[Any, Any]:
        """Name -> type; only for named schemas."""
        return {x.name: x.type for x in self._named("input_types_dict")}

    def input_dict(self) -> dict[Any, ColSpec | TensorSpec]:
        """Name -> spec; only for named schemas."""
        return {x.name: x for x in self._named("input_dict")}

    def _named(self, what: str) -> list[Any]:
        if not self.has_input_names():
            raise SignatureError(f"{what}() needs a schema with named inputs")
        return list(self.inputs)

    def numpy_types(self) -> list[Any]:
        """The numpy dtype of each input; fails if a column has a nested type."""
        if self.is_tensor_spec():
            return [x.type for x in self.inputs]
        if all(isinstance(x.type, DataType) for x in self.inputs):
            return [x.type.to_numpy() for x in self.inputs]
        raise SignatureError("numpy_types(): some columns have types that are not DataType")

    def pandas_types(self) -> list[Any]:
        """The pandas dtype of each column; not for tensor schemas."""
        if self.is_tensor_spec():
            raise SignatureError("pandas_types() is not defined for tensors: use numpy_types()")
        if all(isinstance(x.type, DataType) for x in self.inputs):
            return [x.type.to_pandas() for x in self.inputs]
        raise SignatureError("pandas_types(): some columns have types that are not DataType")

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list MLflow writes."""
        return [x.to_dict() for x in self.inputs]

    def to_json(self) -> str:
        """The JSON string MLflow writes into MLmodel (``json.dumps`` defaults)."""
        return json.dumps(self.to_dict(), default=_json_default)

    @classmethod
    def from_json(cls, json_str: str) -> Schema:
        """Parse the JSON written by :meth:`to_json` or by MLflow."""
        try:
            entries = json.loads(json_str)
        except (TypeError, ValueError) as exc:
            raise SignatureError(f"schema is not valid JSON: {exc}") from exc
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise SignatureError("a schema's JSON must be a list of objects")
        return cls(
            [
                TensorSpec.from_json_dict(**e)
                if e.get("type") == "tensor"
                else ColSpec.from_json_dict(**e)
                for e in entries
            ]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return repr(self.inputs)


# --- params ----------------------------------------------------------------------------

# Safe conversions for param values: target type -> source types (MLflow's table).
_PARAM_UPCASTS = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


def _value_has_type(value: Any, dtype: DataType) -> bool:
    # Same test as MLflow: the value's exact Python type equals the numpy, pandas or Python
    # type of ``dtype`` (numpy scalar types compare equal to their dtype; bool is not an int).
    import numpy as np

    candidates: list[Any] = [dtype.to_numpy(), dtype.to_pandas(), dtype.to_python()]
    if dtype is DataType.datetime:
        candidates += [np.datetime64, _dt.datetime]
    if dtype is DataType.binary:
        candidates.append(bytearray)
    return type(value) in candidates


def _show(value: Any) -> str:
    # repr for text (quotes show what was sent), str for numbers: "1.5", not "np.float64(1.5)".
    return repr(value) if isinstance(value, (str, bytes)) else str(value)


def _convert_scalar_param(value: Any, dtype: DataType) -> Any:
    import numpy as np

    if value is None:
        return None
    if dtype is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"cannot convert {_show(value)} to datetime") from exc
        if isinstance(converted, int):  # nanosecond or integer input: not a date
            raise SchemaError(f"cannot convert {_show(value)} to datetime")
        return converted
    if not np.isscalar(value):
        raise SchemaError(f"expects a scalar {dtype.name}, got {_show(value)}")
    if _value_has_type(value, dtype) or any(
        _value_has_type(value, t) for t in _PARAM_UPCASTS.get(dtype, ())
    ):
        converted = dtype.to_python()(value)
        bits = {DataType.integer: 32, DataType.long: 64}.get(dtype)
        # A Python int has no size; one that overflows the declared width is refused here
        # rather than wrapping around in the model.
        if bits and not -(2 ** (bits - 1)) <= converted < 2 ** (bits - 1):
            raise SchemaError(f"int {converted} does not fit in {dtype.name} ({bits}-bit)")
        return converted
    raise SchemaError(
        f"cannot safely convert {type(value).__name__} {_show(value)} to {dtype.name}"
    )


def _check_object_param(value: Any, dtype: Object) -> None:
    """Check a JSON-like param value against an Object type with the one nested-type
    validator that request enforcement uses; raises SchemaError naming the key."""
    from saveur.enforce._values import ValueProblem, compile_value_checker

    try:
        compile_value_checker(dtype, True)(value)
    except ValueProblem as problem:
        raise SchemaError(f"value{problem.path} {problem.reason}") from None


def _depth(value: Any) -> int:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.ndim
    if isinstance(value, (list, tuple)):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


class ParamSpec:
    """One inference parameter: name, type, default and shape (None scalar, (-1,) 1-D list).

    The default is validated (and converted, e.g. int to float for a double) on construction.
    """

    def __init__(self, name: str, dtype: Any, default: Any, shape: Any = None) -> None:
        self.name = str(name)
        self.shape = tuple(shape) if shape is not None else None
        if isinstance(dtype, str):
            if dtype == _OBJECT:
                raise SignatureError(f"param {self.name!r}: give an Object instance, not 'object'")
            dtype = DataType.from_name(dtype)
        if not isinstance(dtype, (DataType, Object)):
            raise SignatureError(
                f"param {self.name!r}: dtype must be a DataType, an Object or a type name, "
                f"got {dtype!r}"
            )
        if dtype is DataType.binary:
            raise SignatureError(f"param {self.name!r}: binary params are not supported")
        self.dtype = dtype
        try:
            self.default = self._convert(default)
        except SchemaError as exc:
            raise SignatureError(
                f"param {self.name!r} ({self.dtype!r}): invalid default {_show(default)}: {exc}"
            ) from None

    def validate(self, value: Any) -> Any:
        """Check ``value`` against this spec and return it converted (MLflow's rules).

        Raises SchemaError naming the param. Used for params at predict time.
        """
        try:
            return self._convert(value)
        except SchemaError as exc:
            raise SchemaError(f"param {self.name!r} ({self.dtype!r}): {exc}") from None

    def _convert(self, value: Any) -> Any:
        import numpy as np

        if self.shape not in (None, (-1,)):
            raise SchemaError(
                f"param {self.name!r}: shape must be None (scalar) or (-1,) (1-D list), "
                f"got {self.shape}"
            )
        if self.shape == (-1,):
            if not isinstance(value, (list, np.ndarray)) or _depth(value) != 1:
                raise SchemaError(
                    f"expects a 1-D list (shape (-1,)), got {type(value).__name__} "
                    f"with ndim {_depth(value)}"
                )
            if isinstance(self.dtype, Object):
                raise SchemaError("Object params cannot have a shape")
            return [_convert_scalar_param(v, self.dtype) for v in value]
        if isinstance(self.dtype, Object):
            _check_object_param(value, self.dtype)
            return value
        return _convert_scalar_param(value, self.dtype)

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "default", "shape", "type"(, "properties")}`` as MLflow writes it."""
        default = self.default
        if self.dtype is DataType.datetime and default is not None:
            default = (
                [v.isoformat() if v is not None else None for v in default]
                if self.shape == (-1,)
                else default.isoformat()
            )
        result: dict[str, Any] = {"name": self.name, "default": default, "shape": self.shape}
        result.update(_type_to_dict(self.dtype))
        return result

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        """Read one param entry (``type`` or the older ``dtype`` key)."""
        kind = kwargs.get("type") or kwargs.get("dtype")
        if "name" not in kwargs or "default" not in kwargs or kind is None:
            raise SignatureError(
                f"a param entry needs 'name', 'type' and 'default' keys, got {sorted(kwargs)}"
            )
        dtype = Object.from_json_dict(**kwargs) if kind == _OBJECT else DataType.from_name(kind)
        return cls(str(kwargs["name"]), dtype, kwargs["default"], kwargs.get("shape"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ParamSpec)
            and self.name == other.name
            and self.dtype == other.dtype
            and self.default == other.default
            and self.shape == other.shape
        )

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype!r} (default: {self.default}){shape}"


class ParamSchema:
    """The list of :class:`ParamSpec` a model accepts at inference."""

    def __init__(self, params: list[ParamSpec]) -> None:
        if not all(isinstance(p, ParamSpec) for p in params):
            raise SignatureError("ParamSchema takes a list of ParamSpec")
        names = [p.name for p in params]
        duplicates = [n for i, n in enumerate(names) if n in names[:i]]
        if duplicates:
            raise SignatureError(f"duplicated params in schema: {duplicates}")
        self.params = list(params)

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Any:
        return iter(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list MLflow writes."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        """The JSON string MLflow writes into MLmodel."""
        return json.dumps(self.to_dict(), default=_json_default)

    @classmethod
    def from_json(cls, json_str: str) -> ParamSchema:
        """Parse the JSON written by :meth:`to_json` or by MLflow."""
        try:
            entries = json.loads(json_str)
        except (TypeError, ValueError) as exc:
            raise SignatureError(f"params schema is not valid JSON: {exc}") from exc
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise SignatureError("a params schema's JSON must be a list of objects")
        return cls([ParamSpec.from_json_dict(**e) for e in entries])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return repr(self.params)
