"""Merging inferred requirements with the caller's ``pip_requirements`` and
``extra_pip_requirements`` (lists or requirements files), as MLflow's ``save_model`` does."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.environment._pins import _normalize_name, saveur_requirement
from saveur.errors import SaveError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

# Patterns as strings: `re` caches them on first use, so importing this module compiles nothing.
_INCLUDE_LINE = r"^(?:-r|--requirement)(?:\s+|=)(?P<file>.+)$"
_CONSTRAINT_LINE = r"^(?:-c|--constraint)(?:\s+|=)(?P<file>.+)$"


def resolve_requirements(
    inferred: list[str],
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    *,
    pin_saveur: bool = True,
) -> list[str]:
    """Merge inferred requirements with the caller's, as MLflow's ``save_model`` does.

    ``pip_requirements`` replaces ``inferred``; ``extra_pip_requirements`` adds to it; passing
    both is refused, as in MLflow. Either may be a list of requirement strings or the path of a
    requirements file; ``-r other.txt`` lines are expanded, ``-c`` constraint files are refused.
    Requirements are deduplicated by normalized name (an explicit requirement wins over an
    inferred pin, two explicit ones are merged) and ``saveur`` is pinned first unless the
    requirements already name it or ``pin_saveur`` is false (a portable model, which stock
    MLflow loads without saveur). Order: saveur, inferred (sorted), then the caller's as given.
    """
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise SaveError(
            "pass either pip_requirements (replaces the inferred requirements) or "
            "extra_pip_requirements (adds to them), not both"
        )
    if pip_requirements is not None:
        base: list[str] = []
        explicit = _parse_pip_requirements(pip_requirements, "pip_requirements")
    else:
        # saveur is pinned first below; an inferred pin of it would only repeat that pin.
        base = sorted(
            (r for r in dict.fromkeys(inferred) if not _names_saveur(r)),
            key=lambda r: (r.lower(), r),
        )
        explicit = (
            _parse_pip_requirements(extra_pip_requirements, "extra_pip_requirements")
            if extra_pip_requirements is not None
            else []
        )

    merged = _Merged()
    for req in base:
        merged.add(req, explicit=False)
    for req in explicit:
        merged.add(req, explicit=True)
    result = merged.to_list()
    if pin_saveur and not any(_names_saveur(r) for r in result):
        result.insert(0, saveur_requirement())
    return result


def _names_saveur(req: str) -> bool:
    parsed = _try_parse(req)
    if parsed is not None:
        return _normalize_name(parsed.name) == "saveur"
    # A path or URL line such as `./saveur/core` or `git+https://.../saveur@main#subdirectory=core`
    # installs saveur from source: the caller has chosen the saveur to use.
    if req.startswith("-") and not req.startswith("-e"):
        return False
    return "saveur" in req.replace(" ", "").lower() and "saveur-" not in req.lower()


def _try_parse(req: str) -> Requirement | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(req)
    except InvalidRequirement:
        return None


class _Entry:
    __slots__ = ("explicit", "req", "text")

    def __init__(self, text: str, req: Requirement | None, explicit: bool) -> None:
        self.text = text
        self.req = req
        self.explicit = explicit


class _Merged:
    """Requirements keyed by (normalized name, marker); unparsable lines keyed by their text."""

    def __init__(self) -> None:
        self._entries: dict[Any, _Entry] = {}

    def add(self, text: str, *, explicit: bool) -> None:
        text = text.strip()
        req = _try_parse(text)
        if req is not None:
            # MLflow writes parsed requirements in packaging's canonical spelling.
            text = str(req)
        key: Any = text if req is None else (_normalize_name(req.name), str(req.marker or ""))
        existing = self._entries.get(key)
        if existing is None:
            self._entries[key] = _Entry(text, req, explicit)
        elif existing.explicit and not explicit:
            return
        elif explicit and not existing.explicit:
            existing.text, existing.req, existing.explicit = text, req, True
        elif req is not None and existing.req is not None:
            existing.req = _merge_requirements(existing.req, req)
            existing.text = str(existing.req)

    def to_list(self) -> list[str]:
        return [e.text for e in self._entries.values()]


def _merge_requirements(first: Requirement, second: Requirement) -> Requirement:
    from packaging.requirements import Requirement

    merged = Requirement(str(first))
    merged.extras = set(first.extras) | set(second.extras)
    if first.url and second.url and first.url != second.url:
        raise SaveError(
            f"conflicting requirements for '{first.name}': '{first}' and '{second}' "
            "name different sources; keep one of them"
        )
    merged.url = first.url or second.url
    if str(first.specifier) != str(second.specifier):
        _check_compatible(first, second)
        merged.specifier = first.specifier & second.specifier
    return merged


def _check_compatible(first: Requirement, second: Requirement) -> None:
    # A full pip resolve would be a subprocess (MLflow runs `pip install --dry-run`); an exact
    # pin against the other side's range catches the common mistake at no cost.
    for pinned, other in ((first, second), (second, first)):
        specs = list(pinned.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            version = specs[0].version
            if other.specifier and not other.specifier.contains(version, prereleases=True):
                raise SaveError(
                    f"conflicting requirements for '{first.name}': '{first}' and '{second}' "
                    "cannot both hold; keep one of them"
                )


def _parse_pip_requirements(
    value: Sequence[str] | str | os.PathLike[str], argument: str
) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        return list(
            _parse_lines(
                _read_requirements_file(path, argument),
                path.parent,
                argument,
                seen={_file_key(path)},
            )
        )
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        raise SaveError(
            f"{argument} must be a list of requirement strings or the path of a requirements "
            f"file, got {type(value).__name__}"
        )
    lines = list(value)
    for index, item in enumerate(lines):
        if not isinstance(item, str):
            raise SaveError(
                f"{argument}[{index}] is a {type(item).__name__}, not a string: pass "
                "requirement strings such as 'scikit-learn==1.9.1'"
            )
    return list(_parse_lines(lines, Path.cwd(), argument, seen=set()))


def _file_key(path: Path) -> str:
    return os.path.realpath(path)


def _read_requirements_file(path: Path, argument: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SaveError(f"requirements file '{path}' named in {argument} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SaveError(
            f"cannot read requirements file '{path}' named in {argument}: {exc}"
        ) from exc


def _clean_lines(lines: Iterable[str]) -> Iterator[str]:
    """pip's requirements-file syntax: comments, blank lines, backslash continuations."""
    pending: list[str] = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("#"):
            line = ""
        elif " #" in line or "\t#" in line:
            line = re.split(r"\s#", line, maxsplit=1)[0].rstrip()
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        if pending:
            line = "".join(pending) + line
            pending.clear()
        if line:
            yield line
    if pending and "".join(pending):
        yield "".join(pending)


def _parse_lines(
    lines: Iterable[str], base_dir: Path, argument: str, *, seen: set[str]
) -> Iterator[str]:
    for line in _clean_lines(lines):
        include = re.match(_INCLUDE_LINE, line)
        if include:
            path = base_dir / include.group("file").strip()
            key = _file_key(path)
            if key in seen:
                raise SaveError(
                    f"requirements file '{path}' named in {argument} includes itself; "
                    "remove the circular '-r' line"
                )
            yield from _parse_lines(
                _read_requirements_file(path, argument), path.parent, argument, seen=seen | {key}
            )
            continue
        if re.match(_CONSTRAINT_LINE, line):
            raise SaveError(
                f"constraints files are not supported in {argument} ('{line}'): pin the "
                "versions in the requirements themselves, e.g. 'scikit-learn==1.9.1'"
            )
        _validate_line(line, argument)
        yield line


def _validate_line(line: str, argument: str) -> None:
    # Options (`--extra-index-url ...`, `-e ./pkg`), paths and URLs are pip's business and kept
    # as written; anything else must be a PEP 508 requirement.
    if line.startswith(("-", ".", "/", "~")) or "/" in line or "\\" in line:
        return
    if line.endswith((".whl", ".tar.gz", ".zip")):
        return
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(line)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0]
        raise SaveError(
            f"invalid requirement '{line}' in {argument}: {first}; "
            "write it as 'name==version' or another PEP 508 requirement"
        ) from None
