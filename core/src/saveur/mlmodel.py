"""The ``MLmodel`` file: read, write and validate it, compatible with MLflow 3.

The file is YAML with sorted keys (as MLflow's ``yaml.safe_dump`` writes it). Keys saveur
does not know are kept untouched on a round trip, so a model saved by a newer MLflow or by a
third-party tool survives being read and written by saveur.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import MLmodelError, UnsafePathError

if TYPE_CHECKING:
    from saveur.signature import ModelSignature
    from saveur.types import ParamSchema, Schema

MLMODEL_FILE_NAME = "MLmodel"
PYFUNC_FLAVOR = "python_function"
#: saveur's own key in MLmodel: ``{version: ..., plugin: {distribution: ..., version: ...},
#: digests: {relative_path: sha256}}``; ``plugin`` names what wrote the model (informational:
#: nothing installs or trusts what it says).
SAVEUR_KEY = "saveur"

_UUID_RE = re.compile(r"^[0-9a-f]{32}$")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
#: Limits for a hostile MLmodel. Real ones are a few KiB, nest fewer than ten levels and use
#: no YAML aliases (a signature is one JSON string). libyaml's composer recurses in C, so a
#: deeply nested document crashes the process (a segfault, not an exception): depth is
#: checked on the event stream first. Aliases are expanded by reference, so a "billion
#: laughs" document loads instantly and then explodes in whatever walks it (json.dumps,
#: a deep copy), and a self-referencing alias makes a cycle: both are refused.
MAX_MLMODEL_BYTES = 64 << 20
MAX_YAML_DEPTH = 100
MAX_YAML_NODES = 1_000_000
#: Integers must fit in 64 bits. PyYAML turns a hexadecimal or octal literal of any length
#: into an int, and Python then refuses to print one of over 4,300 digits (``show``, JSON,
#: writing MLmodel back): the file is refused when read instead. Decimal ones that long
#: fail inside PyYAML already (ValueError), which is reported the same way.
_MAX_INT = 1 << 64


def _yaml():  # PyYAML's C loader is much faster; fall back where it was built without it.
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml, loader, dumper


def utc_now_string() -> str:
    """Return the current UTC time as MLflow writes ``utc_time_created``."""
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None).strftime(_TIME_FORMAT)


class Model:
    """The parsed ``MLmodel`` file of a model directory.

    Known keys are attributes (``flavors``, ``signature``, ``saved_input_example_info``,
    ``metadata``, ``run_id``, ``artifact_path``...); unknown keys are kept in ``extra`` and
    written back unchanged. ``signature`` is parsed on first access.
    """

    _KNOWN = (
        "flavors",
        "model_uuid",
        "utc_time_created",
        "signature",
        "saved_input_example_info",
        "metadata",
        "model_size_bytes",
        "run_id",
        "artifact_path",
        SAVEUR_KEY,
    )

    def __init__(
        self,
        *,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        utc_time_created: str | None = None,
        model_size_bytes: int | None = None,
        run_id: str | None = None,
        artifact_path: str | None = None,
        saveur: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.flavors: dict[str, dict[str, Any]] = flavors if flavors is not None else {}
        self._signature: ModelSignature | None = signature
        self._signature_raw: dict[str, Any] | None = None
        self._source = MLMODEL_FILE_NAME  # the file it was read from, named in errors
        self.saved_input_example_info = saved_input_example_info
        self.metadata = metadata
        self.model_uuid = model_uuid if model_uuid is not None else uuid.uuid4().hex
        self.utc_time_created = utc_time_created or utc_now_string()
        self.model_size_bytes = model_size_bytes
        self.run_id = run_id
        self.artifact_path = artifact_path
        self.saveur: dict[str, Any] = saveur if saveur is not None else {}
        self.extra: dict[str, Any] = extra if extra is not None else {}

    # --- signature -------------------------------------------------------------------
    @property
    def signature(self) -> ModelSignature | None:
        """The model signature, parsed lazily from the MLmodel encoding."""
        if self._signature is None and self._signature_raw is not None:
            from saveur.signature import ModelSignature

            try:
                self._signature = ModelSignature.from_dict(self._signature_raw)
            except MLmodelError:
                raise
            except Exception as e:
                raise MLmodelError(f"{self._source} has an invalid 'signature': {e}") from e
        return self._signature

    @signature.setter
    def signature(self, value: ModelSignature | None) -> None:
        self._signature = value
        self._signature_raw = None

    def get_input_schema(self) -> Schema | None:
        """The input schema, or ``None``."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        """The output schema, or ``None``."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        """The params schema, or ``None``."""
        return getattr(self.signature, "params", None) if self.signature is not None else None

    # --- convenience -----------------------------------------------------------------
    @property
    def digests(self) -> dict[str, str] | None:
        """``{relative_path: sha256}`` recorded by saveur, or ``None`` (e.g. saved by MLflow)."""
        digests = self.saveur.get("digests") if isinstance(self.saveur, dict) else None
        return digests if isinstance(digests, dict) else None

    @property
    def pyfunc_conf(self) -> dict[str, Any] | None:
        """The ``python_function`` flavor configuration, or ``None``."""
        return self.flavors.get(PYFUNC_FLAVOR)

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) a flavor entry; returns ``self`` for chaining, as MLflow does."""
        self.flavors[name] = params
        return self

    def load_input_example(self, model_dir: str | os.PathLike[str]) -> Any:
        """Load the saved input example from ``model_dir``, or ``None`` if there is none."""
        if not self.saved_input_example_info:
            return None
        from saveur.examples import read_input_example

        return read_input_example(
            Path(model_dir), self.saved_input_example_info, schema=self.get_input_schema()
        )

    # --- (de)serialization -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the MLmodel content as a plain dict (the YAML document)."""
        res: dict[str, Any] = dict(self.extra)
        res["flavors"] = self.flavors
        res["model_uuid"] = self.model_uuid
        res["utc_time_created"] = self.utc_time_created
        if self._signature is not None:
            res["signature"] = self._signature.to_dict()
        elif self._signature_raw is not None:
            res["signature"] = self._signature_raw
        if "signature" in res:
            # MLflow 3 writes these two flags beside every signature and reads them back.
            res.setdefault("is_signature_from_type_hint", False)
            res.setdefault("type_hint_from_example", False)
        for key in ("saved_input_example_info", "metadata", "model_size_bytes", "run_id",
                    "artifact_path"):
            value = getattr(self, key)
            if value is not None:
                res[key] = value
        if self.saveur:
            res[SAVEUR_KEY] = self.saveur
        return res

    def to_yaml(self) -> str:
        """Return the MLmodel YAML text, keys sorted as MLflow writes them."""
        yaml, _, dumper = _yaml()
        return yaml.dump(self.to_dict(), Dumper=dumper, default_flow_style=False, sort_keys=True)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the MLmodel YAML to ``path`` (a file path)."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "MLmodel") -> Model:
        """Build a :class:`Model` from the YAML document, validating known keys."""
        if not isinstance(data, dict):
            raise MLmodelError(f"{source}: expected a YAML mapping, got {type(data).__name__}")
        data = dict(data)
        flavors = data.pop("flavors", None)
        if flavors is None:
            raise MLmodelError(f"{source}: missing the required key 'flavors'")
        if not isinstance(flavors, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in flavors.items()
        ):
            raise MLmodelError(f"{source}: 'flavors' must map flavor names to mappings")
        pyfunc = flavors.get(PYFUNC_FLAVOR)
        if pyfunc is not None and "loader_module" in pyfunc and not isinstance(
            pyfunc["loader_module"], str
        ):
            raise MLmodelError(f"{source}: flavors.python_function.loader_module must be a string")
        model_uuid = data.pop("model_uuid", None)
        if model_uuid is not None and (
            not isinstance(model_uuid, str) or not _UUID_RE.match(model_uuid)
        ):
            raise MLmodelError(f"{source}: 'model_uuid' must be 32 lowercase hex digits, got "
                               f"{model_uuid!r}")
        created = data.pop("utc_time_created", None)
        if created is not None:
            created = str(created)
        signature_raw = data.pop("signature", None)
        if signature_raw is not None and not isinstance(signature_raw, dict):
            raise MLmodelError(f"{source}: 'signature' must be a mapping of JSON strings")
        example_info = data.pop("saved_input_example_info", None)
        if example_info is not None and not isinstance(example_info, dict):
            raise MLmodelError(f"{source}: 'saved_input_example_info' must be a mapping")
        metadata = data.pop("metadata", None)
        if metadata is not None and not isinstance(metadata, dict):
            raise MLmodelError(f"{source}: 'metadata' must be a mapping")
        size = data.pop("model_size_bytes", None)
        if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
            raise MLmodelError(f"{source}: 'model_size_bytes' must be an integer, got {size!r}")
        run_id = data.pop("run_id", None)
        artifact_path = data.pop("artifact_path", None)
        saveur_section = data.pop(SAVEUR_KEY, None)
        if saveur_section is not None:
            if not isinstance(saveur_section, dict):
                raise MLmodelError(f"{source}: '{SAVEUR_KEY}' must be a mapping")
            digests = saveur_section.get("digests")
            if digests is not None and not (
                isinstance(digests, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items())
            ):
                raise MLmodelError(f"{source}: '{SAVEUR_KEY}.digests' must map paths to hex strings")
        model = cls(
            flavors=flavors,
            saved_input_example_info=example_info,
            metadata=metadata,
            model_uuid=model_uuid or uuid.uuid4().hex,
            utc_time_created=created,
            model_size_bytes=size,
            run_id=None if run_id is None else str(run_id),
            artifact_path=None if artifact_path is None else str(artifact_path),
            saveur=saveur_section,
            extra=data,
        )
        model._signature_raw = signature_raw
        model._source = source
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model directory's ``MLmodel`` (or an MLmodel file path)."""
        from saveur.security import open_regular

        p = Path(path)
        file = p / MLMODEL_FILE_NAME if p.is_dir() else p
        try:
            # open_regular: an MLmodel that is a FIFO or a device would hang the reader.
            with open_regular(file, "MLmodel file") as f:
                data = f.read(MAX_MLMODEL_BYTES + 1)
            if len(data) > MAX_MLMODEL_BYTES:
                raise MLmodelError(
                    f"{file}: the MLmodel file is over the {MAX_MLMODEL_BYTES} byte limit; an "
                    "MLmodel holds metadata only (weights go in their own files)"
                )
            text = data.decode("utf-8")
        except FileNotFoundError:
            raise MLmodelError(f"no MLmodel file at {str(file)!r}") from None
        except UnicodeDecodeError as e:
            raise MLmodelError(f"{file}: not UTF-8 text ({e.reason})") from None
        except UnsafePathError as e:
            raise MLmodelError(f"{file}: {e}") from None
        except OSError as e:
            raise MLmodelError(f"cannot read {str(file)!r}: {e.strerror}") from None
        return cls.from_yaml(text, source=str(file))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "MLmodel") -> Model:
        """Parse MLmodel YAML text; anything wrong with it is an :class:`MLmodelError`."""
        return cls.from_dict(load_plain_yaml(text, source), source=source)

    def __repr__(self) -> str:
        return f"Model(flavors={sorted(self.flavors)}, model_uuid={self.model_uuid!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()


def check_yaml_shape(
    text: str, source: str, error: type[Exception] = MLmodelError
) -> None:
    """Refuse YAML nested too deeply, or whose aliases expand too far or refer to themselves.

    One pass over the parser's events (no object is built): the expanded node count adds an
    anchor's whole subtree at each alias, which is what a consumer walking the result pays.
    Any YAML a model carries (MLmodel, ``conda.yaml``, ``python_env.yaml``) goes through it
    before it is loaded; ``error`` is the exception class raised. Syntax errors are left to
    the caller's ``yaml.YAMLError`` handling.
    """
    yaml, loader, _ = _yaml()
    depth = 0
    nodes = 0
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str | None, int]] = []  # (anchor, node count at its start)
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise error(
                    f"{source}: the YAML alias *{event.anchor} refers to a node that contains "
                    "it (a recursive structure); MLmodel must be a plain tree"
                )
            nodes += sizes[event.anchor]
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, starts):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise error(
                    f"{source}: YAML nested more than {MAX_YAML_DEPTH} levels deep; refused"
                )
            open_anchors.append((event.anchor, nodes))
            nodes += 1
        elif isinstance(event, ends):
            depth -= 1
            anchor, start = open_anchors.pop()
            if anchor is not None:
                sizes[anchor] = nodes - start
        if nodes > MAX_YAML_NODES:
            raise error(
                f"{source}: YAML aliases expand to more than {MAX_YAML_NODES} nodes (a 'billion "
                "laughs' document?); refused"
            )


def load_plain_yaml(
    text: str, source: str, error: type[Exception] = MLmodelError
) -> Any:
    """Parse YAML a model carries into plain data, raising ``error`` naming ``source``.

    The shape is checked first (:func:`check_yaml_shape`); then the document is built with
    the safe loader, and every failure of the conversion itself (a 5,000-digit integer, a
    timestamp with month 13, bad base64 under ``!!binary``, a merge key on a list) is
    reported as ``error`` with the file named, never as a bare ``ValueError``. The result
    must be plain data (:func:`check_plain_data`).
    """
    yaml, loader, _ = _yaml()
    try:
        check_yaml_shape(text, source, error)
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"{source}: invalid YAML{where}: {problem}") from None
    except error:
        raise
    except (Exception, RecursionError) as e:
        # PyYAML's constructors on a hostile scalar: ValueError (int digits, timestamps),
        # AttributeError (a !!timestamp tag on text that is no timestamp), binascii errors...
        # Whatever the safe loader trips on, the file is at fault.
        detail = " ".join(str(e).split())[:200] or type(e).__name__
        raise error(f"{source}: a value cannot be read: {detail}") from None
    check_plain_data(data, source, error)
    return data


def check_plain_data(data: Any, source: str, error: type[Exception] = MLmodelError) -> None:
    """Refuse anything in a parsed model file that is not plain, JSON-like data.

    Allowed: mappings with string keys, lists, strings, booleans, ``None``, finite floats,
    integers that fit in 64 bits, and YAML timestamps (MLflow's ``utc_time_created``).
    Refused: binary (``!!binary``), sets, ordered pairs, non-string keys (they break sorting
    on write and every consumer that expects a field name), huge integers and floats that
    overflow to infinity (or are NaN).
    """
    import datetime as dt
    import math

    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            if id(value) in seen:  # an alias: the same node was checked already
                continue
            seen.add(id(value))
            for key, item in value.items():
                if not isinstance(key, str):
                    raise error(
                        f"{source}: key {_short(key)} at {where or 'the top level'} is not a "
                        "string; every key must be a string"
                    )
                stack.append((item, f"{where}.{key}" if where else key))
        elif isinstance(value, list):
            if id(value) in seen:
                continue
            seen.add(id(value))
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise error(
                    f"{source}: the number at {where or 'the top level'} is not finite (an "
                    "overflowing literal such as 1.0e+999, .inf or .nan); refused"
                )
        elif isinstance(value, int):
            if not -_MAX_INT < value < _MAX_INT:
                raise error(
                    f"{source}: the integer at {where or 'the top level'} does not fit in 64 "
                    "bits; refused"
                )
        elif isinstance(value, (dt.date, dt.datetime)):
            continue
        else:
            raise error(
                f"{source}: the value at {where or 'the top level'} is a YAML "
                f"{type(value).__name__}, not plain data (strings, numbers, lists, mappings)"
            )


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."
