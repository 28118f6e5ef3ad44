"""Strict checks for names, artifact paths and store URIs.

Every string that becomes a path, a database key or part of a ``runs:/``/``models:/`` URI
passes through here first. The shapes refused are those of MLflow's path-traversal CVEs
(CVE-2023-1177, CVE-2023-6909, CVE-2024-1560, CVE-2023-6977): ``..`` segments, absolute
paths, backslashes, percent-encoded or doubly encoded traversal, ``#``, ``?``, ``//``,
NUL bytes, and symlinks that leave their root.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from saveur.errors import InvalidURIError, UnsafePathError

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_DRIVE = re.compile(r"^[A-Za-z]:")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,255}$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,254}$")
_KEY = re.compile(r"^[A-Za-z0-9_.\-/ :]{1,250}$")
_VERSION_ALIAS = re.compile(r"^v\d+$", re.IGNORECASE)
_MAX_VERSION = 2**63 - 1


def _check_chars(value: str, what: str, error: type[Exception]) -> None:
    """Refuse the characters no name, path or URI of ours may hold."""
    if "\x00" in value:
        raise error(f"{what} {value!r} contains a NUL byte; remove it")
    if "\\" in value:
        raise error(f"{what} {value!r} contains a backslash; use '/' between segments")
    if "#" in value or "?" in value:
        raise error(f"{what} {value!r} contains '#' or '?'; fragments and queries are not allowed")
    if _PERCENT.search(value):
        raise error(
            f"{what} {value!r} contains percent-encoding; pass the plain (decoded) path instead"
        )


def validate_artifact_path(path: str, *, what: str = "artifact path") -> str:
    """Check a relative artifact path and return it normalised (no trailing '/').

    Raises :class:`UnsafePathError` for anything that could leave the run's artifact root.
    """
    if not isinstance(path, str):
        raise UnsafePathError(f"{what} must be a string, got {type(path).__name__}")
    _check_chars(path, what, UnsafePathError)
    stripped = path[:-1] if path.endswith("/") else path
    if not stripped:
        raise UnsafePathError(f"{what} is empty; give a relative path such as 'model'")
    if stripped.startswith("/") or _DRIVE.match(stripped) or stripped.startswith("~"):
        raise UnsafePathError(f"{what} {path!r} is absolute; give a path relative to the run")
    for segment in stripped.split("/"):
        if segment == "":
            raise UnsafePathError(f"{what} {path!r} contains an empty segment ('//')")
        if segment in (".", ".."):
            raise UnsafePathError(f"{what} {path!r} contains a '{segment}' segment")
    return stripped


def optional_artifact_path(path: str | None, *, what: str = "artifact path") -> str | None:
    """:func:`validate_artifact_path`, letting ``None`` and ``""`` mean the root."""
    if path is None or path == "":
        return None
    return validate_artifact_path(path, what=what)


def validate_model_name(name: str) -> str:
    """Check a registered model name (it appears in ``models:/`` URIs)."""
    if not isinstance(name, str) or not name:
        raise InvalidURIError("registered model name must be a non-empty string")
    _check_chars(name, "registered model name", InvalidURIError)
    if "/" in name or "@" in name or ":" in name:
        raise InvalidURIError(
            f"registered model name {name!r} may not contain '/', '@' or ':'; "
            "use letters, digits, '_', '-', '.' and spaces"
        )
    if ".." in name:
        raise InvalidURIError(f"registered model name {name!r} may not contain '..'")
    if not _MODEL_NAME.match(name):
        raise InvalidURIError(
            f"registered model name {name!r} is invalid; start with a letter, digit or '_' and "
            "use letters, digits, '_', '-', '.' and spaces (at most 256 characters)"
        )
    return name


def validate_alias(alias: str) -> str:
    """Check a model alias: an identifier, neither ``latest`` nor ``v<digits>``."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidURIError(
            f"alias {alias!r} is invalid; use letters, digits, '_' and '-', starting with a letter"
        )
    if alias.lower() == "latest" or _VERSION_ALIAS.match(alias):
        raise InvalidURIError(f"alias {alias!r} is reserved; choose another name")
    return alias


def validate_key(key: str, what: str) -> str:
    """Check a param, metric or tag key (MLflow's rule: letters, digits, ``_-./ :``)."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidURIError(
            f"{what} key {key!r} is invalid; use at most 250 letters, digits, "
            "'_', '-', '.', '/', ':' or spaces"
        )
    if any(seg == ".." for seg in key.split("/")):
        raise InvalidURIError(f"{what} key {key!r} may not contain a '..' segment")
    return key


def validate_run_id(run_id: str) -> str:
    """Check a run id: 32 lowercase hex digits."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InvalidURIError(f"run id {run_id!r} is invalid; expected 32 lowercase hex digits")
    return run_id


def parse_version(version: int | str) -> int:
    """Turn ``3`` or ``"3"`` into a positive version number."""
    if isinstance(version, bool):
        raise InvalidURIError(f"model version {version!r} is invalid; expected a positive integer")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.isascii() and version.isdigit():
        # int() refuses over 4300 digits with a bare ValueError; no version has 20 digits.
        number = int(version) if len(version) < 20 else _MAX_VERSION + 1
    else:
        raise InvalidURIError(f"model version {version!r} is invalid; expected a positive integer")
    if number < 1:
        raise InvalidURIError(f"model version {version!r} is invalid; versions start at 1")
    if number > _MAX_VERSION:  # a database integer is 64-bit: larger ones cannot exist
        raise InvalidURIError(
            f"model version is invalid: it is larger than any version can be (at most {_MAX_VERSION})"
        )
    return number


@dataclass(frozen=True)
class RunsURI:
    """A parsed ``runs:/<run_id>/<path>`` URI (``path`` None means the run's root)."""

    run_id: str
    path: str | None


@dataclass(frozen=True)
class ModelsURI:
    """A parsed ``models:/`` URI: exactly one of ``version``, ``alias``, ``latest`` is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    latest: bool = False


def parse_runs_uri(uri: str) -> RunsURI:
    """Parse ``runs:/<run_id>[/<path>]``, refusing every unsafe shape."""
    if not uri.startswith("runs:/"):
        raise InvalidURIError(f"{uri!r} is not a runs:/ URI; expected runs:/<run_id>/<path>")
    _check_chars(uri, "URI", InvalidURIError)
    rest = uri[len("runs:/") :]
    if rest.startswith("/"):
        raise InvalidURIError(
            f"URI {uri!r} has '//' after the scheme; expected runs:/<run_id>/<path>"
        )
    run_id, _, path = rest.partition("/")
    validate_run_id(run_id)
    try:
        parsed_path = optional_artifact_path(path, what="path")
    except UnsafePathError as exc:
        raise InvalidURIError(f"URI {uri!r}: {exc}") from None
    return RunsURI(run_id, parsed_path)


def parse_models_uri(uri: str) -> ModelsURI:
    """Parse ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``."""
    if not uri.startswith("models:/"):
        raise InvalidURIError(f"{uri!r} is not a models:/ URI")
    _check_chars(uri, "URI", InvalidURIError)
    rest = uri[len("models:/") :]
    hint = "expected models:/<name>/<version>, models:/<name>@<alias> or models:/<name>/latest"
    if rest.startswith("/") or "//" in rest:
        raise InvalidURIError(f"URI {uri!r} contains '//'; {hint}")
    if "/" in rest:
        name, _, tail = rest.partition("/")
        if "/" in tail or "@" in tail or not tail:
            raise InvalidURIError(f"URI {uri!r} is malformed; {hint}")
        validate_model_name(name)
        if tail == "latest":
            return ModelsURI(name, latest=True)
        return ModelsURI(name, version=parse_version(tail))
    if "@" in rest:
        name, _, alias = rest.partition("@")
        validate_model_name(name)
        return ModelsURI(name, alias=validate_alias(alias))
    raise InvalidURIError(f"URI {uri!r} names no version or alias; {hint}")


def contained(root: Path, relative: str) -> Path:
    """Join a validated relative path to ``root`` and check no symlink leads outside it."""
    rel = validate_artifact_path(relative)
    real_root = Path(os.path.realpath(root))
    target = real_root.joinpath(*rel.split("/"))
    real_target = Path(os.path.realpath(target))
    if real_target != real_root and real_root not in real_target.parents:
        raise UnsafePathError(
            f"path {relative!r} resolves outside {root} (through a symlink); refusing to use it"
        )
    return target
