"""Check a ``.pt2`` archive before ``torch.export.load`` sees it: refuse anything that runs code.

What torch 2.13's loader (``torch/export/pt2_archive/_package.py`` and
``torch/_export/serde/serialize.py``) does with an archive's members, and so what an attacker
who crafts one controls:

- weights and constants whose payload config says ``use_pickle: true``, and the sample inputs,
  go through ``torch.load(weights_only=False)`` (sample inputs after a ``weights_only=True``
  try); ``opaque_obj_*`` constants through ``pickle.loads``; ``custom_obj_*`` constants through
  TorchScript's unpickler: any of them runs arbitrary code;
- every ``expr_str`` of the graph (symbolic sizes) goes through ``sympy.sympify``, which is
  ``eval`` of the string;
- ``guards_code`` strings become Python source compiled into the module's input check;
- a node ``target`` is resolved by ``getattr`` from ``torch``, ``math`` or ``_operator``, so
  ``torch.os.system`` or ``torch.ops.load_library`` are reachable and later called;
- ``data/aotinductor/`` members are shared libraries that the loader dlopens.

Without the caller's trust, the archive is accepted only when every member is one that
``torch.export.save`` writes for a plain module, each in a form that cannot carry code:
plain-text records, JSON, raw tensor bytes, and sample inputs whose pickle references only
tensor-rebuilding globals (checked statically, never unpickled here). Anything else (an
unknown member, a pickled weight, a symbolic expression outside a small grammar, a guard,
an unexpected call target) is refused with the member or field named.
"""

from __future__ import annotations

import io
import json
import pickletools
import re
import tokenize
import zipfile
from pathlib import Path
from typing import Any

from saveur.errors import TrustError

#: Short records ``torch.export.save`` writes as plain text.
_TEXT_RECORDS = frozenset({
    "version", "archive_format", "archive_version", "byteorder", "serialization_id",
    ".format_version", ".storage_alignment",
})
_TEXT_CONTENT = re.compile(rb"[A-Za-z0-9._-]{1,64}\n?")
_PAYLOAD_CONFIG = re.compile(r"data/(weights|constants)/[^/]+_config\.json")
_RAW_PREFIXES = ("weight_", "tensor_")

#: Globals a tensor-only ``torch.save`` pickle references (the sample inputs): tensor and
#: storage rebuilders and plain containers. Nothing here runs code given crafted arguments.
_SAFE_GLOBALS = frozenset({
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "collections.OrderedDict",
    "torch.device",
    "torch.Size",
}) | frozenset(
    f"torch.{name}Storage"
    for name in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char",
                 "Byte", "Bool", "ComplexFloat", "ComplexDouble", "Untyped")
) | frozenset(
    f"torch.{dtype}" for dtype in (
        "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
        "uint8", "bool", "complex64", "complex128",
    )
)
_STRING_OPCODES = frozenset({
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
    "BINUNICODE8",
})
_MEMO_OPCODES = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "GET", "BINGET",
                           "LONG_BINGET"})

#: Names a symbolic size expression may use: sympy's constructors and relations as torch's
#: serializer prints them, torch's own sympy functions, and assumption keywords. Any other
#: name (a builtin such as ``__import__`` or ``eval``) makes sympify's eval dangerous.
_SYMPY_NAMES = frozenset({
    "Symbol", "Integer", "Float", "Rational", "Add", "Mul", "Pow", "Max", "Min", "Abs", "Mod",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "floor", "ceiling", "sqrt",
    "True", "False", "oo", "nan", "zoo", "Piecewise", "ITE",
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "CleanDiv", "CeilToInt",
    "FloorToInt", "CeilDiv", "LShift", "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv",
    "IntTrueDiv", "IsNonOverlappingAndDenseIndicator", "TruncToFloat", "TruncToInt",
    "RoundToInt", "RoundDecimal", "ToFloat", "Identity", "BitwiseFn_bitwise_and",
    "BitwiseFn_bitwise_or", "BitwiseFn_bitwise_xor",
    "positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite",
    "infinite", "commutative", "zero", "nonzero", "even", "odd", "evaluate",
})
#: A free symbol of torch's shape environment: s0, u3, s77...
_SYMBOL_NAME = re.compile(r"[a-z]{1,3}\d+")
_SYMBOL_STRING = re.compile(r"'[A-Za-z_][A-Za-z0-9_]{0,63}'")
_EXPR_OPS = frozenset({"(", ")", ",", "+", "-", "*", "/", "//", "%", "**", "=", "==", "!=",
                       "<", "<=", ">", ">=", "&", "|", "~"})

#: What a guard (a shape check torch compiles into the module's input check) may use. The
#: only attributes reachable through ``.`` are these names: no dunder, no builtins.
_GUARD_NAMES = frozenset({"L", "size", "stride", "storage_offset", "dim", "and", "or", "not",
                          "True", "False"})
_GUARD_OPS = frozenset({"[", "]", ".", "(", ")", ",", "==", "!=", "<", "<=", ">", ">=", "+",
                        "-", "*", "//", "%"})

#: Call targets allowed outside ``torch.ops``: the symbolic-int helpers torch serializes.
_SYM_TARGET = re.compile(r"torch\._?sym_[a-z_]+")
_SIMPLE_TARGET = re.compile(r"(?:_operator|math)\.[A-Za-z_][A-Za-z0-9_]*")
_OPS_PART = re.compile(r"(?!__)[A-Za-z_][A-Za-z0-9_]*")


def audit_pt2(path: Path, rel_name: str) -> None:
    """Raise :class:`TrustError` unless the archive at ``path`` is free of code.

    ``rel_name`` is the file's path inside the model, used in messages.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise TrustError(f"{rel_name!r} is not a pt2 (zip) archive: {e}") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            # Two entries of one name: the audit would read one and torch maybe the other.
            dup = sorted({n for n in names if names.count(n) > 1})[0]
            raise _refuse(rel_name, dup, "appears twice in the archive")
        prefix = _archive_prefix(infos, rel_name)
        members = {info.filename[len(prefix):]: info for info in infos}
        raw_records = _raw_tensor_records(archive, members, rel_name)
        for name, info in members.items():
            _check_member(archive, name, info, raw_records, rel_name)


def _refuse(rel_name: str, member: str, why: str) -> TrustError:
    return TrustError(
        f"{rel_name!r} member {member!r} {why}: torch.export.load would run code from it, so "
        "it is refused. Load the model with trust_code=True only if you trust its source, or "
        "re-export it from code you trust"
    )


def _archive_prefix(infos: list[zipfile.ZipInfo], rel_name: str) -> str:
    """The archive's top folder (torch.export.save writes ``<stem>/...``)."""
    tops = {info.filename.split("/", 1)[0] for info in infos}
    if len(tops) != 1 or not all("/" in info.filename for info in infos):
        raise TrustError(
            f"{rel_name!r} is not laid out as torch.export.save writes a pt2 archive (one top "
            "folder); refused"
        )
    return tops.pop() + "/"


def _raw_tensor_records(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], rel_name: str
) -> set[str]:
    """Members that the payload configs declare as raw tensor bytes (never unpickled)."""
    raw: set[str] = set()
    pickled: set[str] = set()
    for name, info in members.items():
        match = _PAYLOAD_CONFIG.fullmatch(name)
        if not match:
            continue
        config = _json(archive, info, name, rel_name)
        entries = config.get("config") if isinstance(config, dict) else None
        if not isinstance(entries, dict):
            raise _refuse(rel_name, name, "is not a payload config")
        folder = name.rsplit("/", 1)[0]
        for fqn, entry in entries.items():
            path_name = entry.get("path_name") if isinstance(entry, dict) else None
            if not isinstance(path_name, str) or "/" in path_name:
                raise _refuse(rel_name, name, f"has a bad entry for {fqn!r}")
            record = f"{folder}/{path_name}"
            if entry.get("use_pickle") is False and path_name.startswith(_RAW_PREFIXES):
                raw.add(record)
            else:
                # use_pickle, custom_obj_ (TorchScript unpickler), opaque_obj_ (pickle.loads)
                pickled.add(record)
    if pickled:
        first = sorted(pickled)[0]
        raise _refuse(rel_name, first, "is a pickled weight, constant or object")
    return raw


def _json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, rel_name: str) -> Any:
    try:
        return json.loads(archive.read(info).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(rel_name, name, "is not valid JSON") from None


def _check_member(
    archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo, raw_records: set[str],
    rel_name: str,
) -> None:
    base = name.rsplit("/", 1)[-1]
    if name in raw_records:
        return
    if base in _TEXT_RECORDS:
        if not _TEXT_CONTENT.fullmatch(archive.read(info)):
            raise _refuse(rel_name, name, "is not a plain-text record")
        return
    if _PAYLOAD_CONFIG.fullmatch(name):
        return  # read and checked by _raw_tensor_records
    if name.startswith("models/") and name.endswith(".json") and name.count("/") == 1:
        _check_program(_json(archive, info, name, rel_name), name, rel_name)
        return
    if name.startswith("extra/"):
        return  # read by torch as text only, never parsed or run
    if name.startswith("data/sample_inputs/") and name.endswith(".pt"):
        _check_tensor_pickle(archive.read(info), name, rel_name)
        return
    raise _refuse(rel_name, name, "is not a member torch.export.save writes for a plain module")


def _check_tensor_pickle(content: bytes, name: str, rel_name: str) -> None:
    """A ``torch.save`` zip whose pickle only rebuilds tensors (checked without unpickling)."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise _refuse(rel_name, name, "is not a torch.save archive") from None
    with inner:
        pickles = [n for n in inner.namelist() if n.endswith(".pkl")]
        if [n.rsplit("/", 1)[-1] for n in pickles] != ["data.pkl"]:
            raise _refuse(rel_name, name, "holds pickles other than one data.pkl")
        try:
            referenced = _pickle_globals(inner.read(pickles[0]))
        except ValueError as e:
            raise _refuse(rel_name, name, f"has a pickle that cannot be checked ({e})") from None
    unsafe = sorted(referenced - _SAFE_GLOBALS)
    if unsafe:
        raise _refuse(rel_name, name, f"is a pickle that calls {unsafe[0]!r}")


def _pickle_globals(data: bytes) -> set[str]:
    """The ``module.name`` globals a pickle references, read from its opcodes only."""
    found: set[str] = set()
    strings: list[str] = []
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            found.add(f"{module}.{attr}")
        elif name == "STACK_GLOBAL":
            if len(strings) < 2:
                raise ValueError("STACK_GLOBAL operands are not string literals")
            found.add(f"{strings[-2]}.{strings[-1]}")
            strings = []
        elif name == "OBJ" or name.startswith("EXT"):
            raise ValueError(f"opcode {name} names no checkable global")
        elif name in _STRING_OPCODES:
            strings.append(str(arg))
        elif name not in _MEMO_OPCODES:
            strings = []
    return found


def _check_program(program: Any, name: str, rel_name: str) -> None:
    """Walk the serialized program: expressions, guards and call targets."""
    if not isinstance(program, dict):
        raise _refuse(rel_name, name, "is not a serialized exported program")
    guards = program.get("guards_code") or []
    if not isinstance(guards, list):
        raise _refuse(rel_name, name, "has a guards_code that is not a list")
    for guard in guards:
        if not isinstance(guard, str) or not _safe_guard(guard):
            raise _refuse(rel_name, name, f"has a guard {str(guard)[:60]!r} (Python source "
                          "compiled into the module) outside the shape-check grammar")
    for key in (program.get("range_constraints") or {}):
        if not _SYMBOL_NAME.fullmatch(str(key)):
            raise _refuse(rel_name, name, f"has a range constraint on {str(key)[:60]!r}")
    stack: list[Any] = [program]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr_str":
                    if not isinstance(value, str) or not _safe_expression(value):
                        raise _refuse(rel_name, name,
                                      f"has a symbolic expression {str(value)[:60]!r}")
                elif key == "target" and isinstance(value, str):
                    if not _safe_target(value):
                        raise _refuse(rel_name, name, f"calls target {value[:60]!r}")
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def _safe_guard(code: str) -> bool:
    """True for a shape check such as ``L['x'].size()[0] == L['y'].size()[0]``."""
    if any(c in code for c in "\n\r;#\\"):
        return False
    return _tokens_allowed(code, _GUARD_NAMES, _GUARD_OPS)


def _safe_expression(expr: str) -> bool:
    """True when ``expr`` uses only allowed names, symbol strings, numbers and operators."""
    if any(c in expr for c in "\n\r;#\\"):
        return False
    return _tokens_allowed(expr, _SYMPY_NAMES, _EXPR_OPS)


def _tokens_allowed(expr: str, names: frozenset[str], ops: frozenset[str]) -> bool:
    """Tokenize ``expr`` and accept only the given names and operators, numbers and symbols."""
    if len(expr) > 4096:
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expr).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    for tok in tokens:
        kind, text = tok.type, tok.string
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NAME:
            if text not in names and not _SYMBOL_NAME.fullmatch(text):
                return False
        elif kind == tokenize.NUMBER:
            continue
        elif kind == tokenize.STRING:
            if not _SYMBOL_STRING.fullmatch(text):
                return False
        elif kind == tokenize.OP:
            if text not in ops:
                return False
        else:
            return False
    return True


def _safe_target(target: str) -> bool:
    """True for ``torch.ops.<ns>.<op>[.<overload>]``, sym helpers, ``math.*``, ``_operator.*``."""
    if _SYM_TARGET.fullmatch(target) or _SIMPLE_TARGET.fullmatch(target):
        return True
    parts = target.split(".")
    if parts[:2] != ["torch", "ops"] or len(parts) not in (4, 5):
        return False
    if not all(_OPS_PART.fullmatch(p) for p in parts[2:]):
        return False
    import torch

    # torch.ops.load_library / import_module are methods of the ops object, not namespaces.
    return not hasattr(type(torch.ops), parts[2])
