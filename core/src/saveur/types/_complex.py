"""Nested signature types: :class:`Array`, :class:`Object`, :class:`Property`, :class:`Map`,
:class:`AnyType` (and Spark ML's vector), with their MLflow JSON encoding and merging."""

from __future__ import annotations

from typing import Any

from saveur.errors import SignatureError
from saveur.types._scalar import DataType

_ARRAY = "array"
_OBJECT = "object"
_MAP = "map"
_ANY = "any"
_SPARKML_VECTOR = "sparkml_vector"
_COMPLEX_TYPE_NAMES = (_ARRAY, _OBJECT, _MAP, _SPARKML_VECTOR, _ANY)


def _coerce_type(value: Any, what: str) -> DataType | Array | Object | Map | AnyType:
    if isinstance(value, str):
        return DataType.from_name(value)
    if not isinstance(value, (DataType, Array, Object, Map, AnyType)):
        raise SignatureError(
            f"{what} must be a DataType, Array, Object, Map, AnyType or a type name, got {value!r}"
        )
    return value


def _type_to_dict(t: DataType | Array | Object | Map | AnyType) -> dict[str, Any]:
    return {"type": t.name} if isinstance(t, DataType) else t.to_dict()


def _type_from_dict(d: Any, what: str) -> DataType | Array | Object | Map | AnyType:
    if not isinstance(d, dict) or "type" not in d:
        raise SignatureError(f"{what} must be a JSON object with a 'type' key, got {d!r}")
    kind = d["type"]
    if kind == _ARRAY:
        return Array.from_json_dict(**d)
    if kind == _OBJECT:
        return Object.from_json_dict(**d)
    if kind == _MAP:
        return Map.from_json_dict(**d)
    if kind == _ANY:
        return AnyType()
    if kind == _SPARKML_VECTOR:
        return SparkMLVector()
    return DataType.from_name(kind)


class Property:
    """A named, typed member of an :class:`Object`, required unless told otherwise."""

    def __init__(self, name: str, dtype: Any, required: bool = True) -> None:
        if not isinstance(name, str):
            raise SignatureError(f"a property name must be a string, got {type(name).__name__}")
        self.name = name
        self.dtype = _coerce_type(dtype, f"the type of property {name!r}")
        self.required = required

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Property)
            and self.name == other.name
            and self.dtype == other.dtype
            and self.required == other.required
        )

    def __lt__(self, other: Property) -> bool:
        return self.name < other.name

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        """``{name: {"type": ..., "required": ...}}`` as MLflow writes it."""
        d = _type_to_dict(self.dtype)
        d["required"] = self.required
        return {self.name: d}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Property:
        """Read ``{name: {"type": ..., "required": ...}}``."""
        if len(kwargs) != 1:
            raise SignatureError(f"a property must have exactly one name, got {list(kwargs)}")
        name, d = next(iter(kwargs.items()))
        if not isinstance(d, dict) or "type" not in d:
            raise SignatureError(f"property {name!r} must be a JSON object with a 'type' key")
        d = dict(d)
        required = d.pop("required", True)
        return cls(name, _type_from_dict(d, f"property {name!r}"), required=required)

    def _merge(self, other: Any) -> Property:
        if isinstance(other, AnyType):
            return Property(self.name, self.dtype, required=False)
        if not isinstance(other, Property) or other.name != self.name:
            raise SignatureError(f"cannot merge property {self.name!r} with {other!r}")
        required = self.required and other.required
        if isinstance(self.dtype, DataType):
            if self.dtype == other.dtype or isinstance(other.dtype, AnyType):
                return Property(self.name, self.dtype, required=required)
            raise SignatureError(
                f"property {self.name!r} has incompatible types {self.dtype!r} and {other.dtype!r}"
            )
        return Property(self.name, self.dtype._merge(other.dtype), required=required)


class Object:
    """A JSON object with known properties (kept sorted by name, as MLflow does)."""

    def __init__(self, properties: list[Property]) -> None:
        if not isinstance(properties, list):
            raise SignatureError(
                f"Object properties must be a list, got {type(properties).__name__}"
            )
        if not properties:
            raise SignatureError("an Object needs at least one property")
        if not all(isinstance(p, Property) for p in properties):
            raise SignatureError("Object properties must all be Property instances")
        names = [p.name for p in properties]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SignatureError(f"duplicated property names in Object: {duplicates}")
        self.properties = sorted(properties)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self.properties == other.properties

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self.properties)) + "}"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "object", "properties": {...}}``."""
        props: dict[str, Any] = {}
        for p in self.properties:
            props.update(p.to_dict())
        return {"type": _OBJECT, "properties": props}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Object:
        """Read ``{"type": "object", "properties": {...}}``."""
        props = kwargs.get("properties")
        if kwargs.get("type") != _OBJECT or not isinstance(props, dict):
            raise SignatureError(
                "an Object must be a JSON object with type 'object' and a 'properties' object"
            )
        return cls([Property.from_json_dict(**{k: v}) for k, v in props.items()])

    def _merge(self, other: Any) -> Object:
        # Properties seen in only one of the two objects become optional.
        if isinstance(other, AnyType):
            return Object([Property(p.name, p.dtype, required=False) for p in self.properties])
        if not isinstance(other, Object):
            raise SignatureError(f"cannot merge an object with {type(other).__name__}")
        mine = {p.name: p for p in self.properties}
        theirs = {p.name: p for p in other.properties}
        merged = [
            mine[k]._merge(theirs[k]) if k in theirs else Property(k, mine[k].dtype, False)
            for k in mine
        ]
        merged += [Property(k, p.dtype, False) for k, p in theirs.items() if k not in mine]
        return Object(merged)


class Array:
    """A list whose items all have one type."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = _coerce_type(dtype, "the item type of an Array")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Array)
            and not isinstance(other, SparkMLVector)
            and (self.dtype == other.dtype)
        )

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "array", "items": {...}}``."""
        return {"type": _ARRAY, "items": _type_to_dict(self.dtype)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Array:
        """Read ``{"type": "array", "items": {...}}``."""
        if kwargs.get("type") != _ARRAY or "items" not in kwargs:
            raise SignatureError("an Array must be a JSON object with type 'array' and 'items'")
        return cls(_type_from_dict(kwargs["items"], "the items of an Array"))

    def _merge(self, other: Any) -> Array:
        if isinstance(other, AnyType) or self == other:
            return Array(self.dtype)
        if not isinstance(other, Array):
            raise SignatureError(f"cannot merge an array with {type(other).__name__}")
        if isinstance(self.dtype, DataType):
            if isinstance(other.dtype, AnyType):
                return Array(self.dtype)
            raise SignatureError(
                f"arrays have incompatible item types {self.dtype!r} and {other.dtype!r}"
            )
        return Array(self.dtype._merge(other.dtype))


class SparkMLVector(Array):
    """Spark ML's vector type (an array of doubles); read and written for compatibility."""

    def __init__(self) -> None:
        super().__init__(DataType.double)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparkMLVector)

    def __repr__(self) -> str:
        return "SparkML vector"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "sparkml_vector"}``."""
        return {"type": _SPARKML_VECTOR}

    def _merge(self, other: Any) -> SparkMLVector:
        if isinstance(other, SparkMLVector):
            return SparkMLVector()
        raise SignatureError("a SparkML vector cannot be merged with another array type")


class Map:
    """A JSON object with string keys and values of one type."""

    def __init__(self, value_type: Any) -> None:
        self.value_type = _coerce_type(value_type, "the value type of a Map")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self.value_type == other.value_type

    def __repr__(self) -> str:
        return f"Map(str -> {self.value_type!r})"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "map", "values": {...}}``."""
        return {"type": _MAP, "values": _type_to_dict(self.value_type)}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> Map:
        """Read ``{"type": "map", "values": {...}}``."""
        if kwargs.get("type") != _MAP or "values" not in kwargs:
            raise SignatureError("a Map must be a JSON object with type 'map' and 'values'")
        return cls(_type_from_dict(kwargs["values"], "the values of a Map"))

    def _merge(self, other: Any) -> Map:
        if isinstance(other, AnyType) or self == other:
            return Map(self.value_type)
        if not isinstance(other, Map):
            raise SignatureError(f"cannot merge a map with {type(other).__name__}")
        if isinstance(self.value_type, DataType):
            if isinstance(other.value_type, AnyType):
                return Map(self.value_type)
            raise SignatureError(
                f"maps have incompatible value types {self.value_type!r} and {other.value_type!r}"
            )
        return Map(self.value_type._merge(other.value_type))


class AnyType:
    """Any JSON value, None included; nothing is checked."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "any"}``."""
        return {"type": _ANY}

    def _merge(self, other: Any) -> Any:
        if isinstance(other, (AnyType, DataType)):
            return other
        # Merging with a concrete nested type makes that type's members optional.
        return other._merge(self)
