"""A model's Python environment: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

Writes the three files in MLflow 3's exact layout, pins installed distributions, merges the
inferred requirements with the caller's ``pip_requirements`` / ``extra_pip_requirements``,
infers the requirements of custom Python code by a static scan of its imports (no subprocess,
the code is never imported or run), and reads the files back to check an environment.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saveur.errors import EnvironmentBuildError, SaveError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "CONDA_ENV_FILE_NAME",
    "PYTHON_ENV_FILE_NAME",
    "REQUIREMENTS_FILE_NAME",
    "PYTHON_VERSION",
    "check_installed_versions",
    "infer_code_requirements",
    "infer_object_requirements",
    "object_source_paths",
    "pin_requirement",
    "python_env_conf",
    "read_python_env",
    "read_requirements",
    "resolve_requirements",
    "saveur_requirement",
    "write_environment_files",
]

_logger = logging.getLogger(__name__)

REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
_MAX_ENV_FILE_BYTES = 16 << 20
CONDA_ENV_FILE_NAME = "conda.yaml"
# MLflow's spelling: major.minor.micro of the running interpreter.
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"

_BUILD_PACKAGES = ("pip", "setuptools", "wheel")
# Patterns as strings: `re` caches them on first use, so importing this module compiles nothing.
_NORMALIZE = r"[-_.]+"
_INCLUDE_LINE = r"^(?:-r|--requirement)(?:\s+|=)(?P<file>.+)$"
_CONSTRAINT_LINE = r"^(?:-c|--constraint)(?:\s+|=)(?P<file>.+)$"
_VERSION_HEADER = r"^Version:[ \t]*(?P<version>\S+)[ \t]*$"


# --- writing ------------------------------------------------------------------------------
def python_env_conf() -> dict[str, str]:
    """Return the ``env`` entry of the ``python_function`` flavor, as MLflow writes it."""
    return {"conda": CONDA_ENV_FILE_NAME, "virtualenv": PYTHON_ENV_FILE_NAME}


def write_environment_files(model_dir: Path, requirements: list[str]) -> None:
    """Write ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` into ``model_dir``.

    The contents match what MLflow 3.17.2 writes byte for byte: the requirements joined by
    newlines, the running interpreter's version, ``pip``/``setuptools``/``wheel`` pinned as
    installed (bare names when absent) and ``name: mlflow-env`` on ``conda-forge``.
    """
    import yaml

    for index, req in enumerate(requirements):
        if not isinstance(req, str):
            raise SaveError(
                f"requirement #{index} is a {type(req).__name__}, not a string: "
                "pass requirements as strings such as 'scikit-learn==1.9.1'"
            )
        if "\n" in req or "\r" in req:
            raise SaveError(
                f"requirement {req!r} contains a line break; pass one requirement per string"
            )
    model_dir = Path(model_dir)
    reqs = list(requirements)

    with open(model_dir / REQUIREMENTS_FILE_NAME, "w", encoding="utf-8") as f:
        f.write("\n".join(reqs))

    python_env: dict[str, Any] = {
        "python": PYTHON_VERSION,
        "build_dependencies": _build_dependencies(),
        "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
    }
    with open(model_dir / PYTHON_ENV_FILE_NAME, "w", encoding="utf-8") as f:
        yaml.safe_dump(python_env, f, sort_keys=False, default_flow_style=False)

    with open(model_dir / CONDA_ENV_FILE_NAME, "w", encoding="utf-8") as f:
        yaml.safe_dump(_conda_env(reqs), stream=f, default_flow_style=False)


def _build_dependencies() -> list[str]:
    deps = []
    for package in _BUILD_PACKAGES:
        version = _installed_version(package)
        deps.append(f"{package}=={version}" if version else package)
    return deps


def _conda_env(pip_deps: list[str]) -> dict[str, Any]:
    dependencies: list[Any] = [f"python={PYTHON_VERSION}"]
    if pip_deps:
        # MLflow writes `pip<=` because conda-forge can lag behind PyPI's newest pip.
        pip_version = _installed_version("pip")
        dependencies.append(f"pip<={pip_version}" if pip_version else "pip")
    dependencies.append({"pip": list(pip_deps)})
    return {"name": "mlflow-env", "channels": ["conda-forge"], "dependencies": dependencies}


def _installed_version(dist_name: str) -> str | None:
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    # `dist.version` runs the whole METADATA file through the email parser (about 0.5 ms a
    # package); the Version header sits in the first lines, so read just that.
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if text:
        header = text.split("\n\n", 1)[0]
        match = re.search(_VERSION_HEADER, header, re.MULTILINE)
        if match:
            return match.group("version")
    version = dist.version
    return str(version) if version else None


# --- pinning ------------------------------------------------------------------------------
def _normalize_name(name: str) -> str:
    return re.sub(_NORMALIZE, "-", name).lower()


def pin_requirement(dist_name: str) -> str | None:
    """Pin an installed distribution as ``name==version`` (``scikit-learn==1.9.1``).

    The name is normalized (PEP 503) and a local version label (``+cpu``) is dropped so that
    the pin installs from PyPI. Returns ``None`` when the distribution is not installed.
    """
    version = _installed_version(dist_name)
    if version is None:
        return None
    public, _, local = version.partition("+")
    if local:
        _logger.debug(
            "dropping the local version label '+%s' of %s %s so that the pin installs from PyPI",
            local,
            dist_name,
            version,
        )
    return f"{_normalize_name(dist_name)}=={public}"


def saveur_requirement() -> str:
    """Return the pin of saveur itself (``saveur==0.1.0``), which every saved model needs."""
    pinned = pin_requirement("saveur")
    if pinned is not None:
        return pinned
    import saveur

    version = getattr(saveur, "__version__", None)
    if version:
        return f"saveur=={str(version).partition('+')[0]}"
    _logger.warning(
        "saveur's installed version is unknown; requirements.txt gets 'saveur' unpinned"
    )
    return "saveur"


# --- merging the caller's requirements ------------------------------------------------------
def resolve_requirements(
    inferred: list[str],
    pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
    extra_pip_requirements: Sequence[str] | str | os.PathLike[str] | None = None,
) -> list[str]:
    """Merge inferred requirements with the caller's, as MLflow's ``save_model`` does.

    ``pip_requirements`` replaces ``inferred``; ``extra_pip_requirements`` adds to it; passing
    both is refused, as in MLflow. Either may be a list of requirement strings or the path of a
    requirements file; ``-r other.txt`` lines are expanded, ``-c`` constraint files are refused.
    Requirements are deduplicated by normalized name (an explicit requirement wins over an
    inferred pin, two explicit ones are merged) and ``saveur`` is pinned first unless the
    requirements already name it. Order: saveur, inferred (sorted), then the caller's as given.
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
    if not any(_names_saveur(r) for r in result):
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


# --- inference for custom Python code ---------------------------------------------------------
@functools.cache
def _module_distributions() -> dict[str, tuple[str, ...]]:
    # Reading every installed distribution's file list is slow (tens of ms); once per process.
    return {k: tuple(v) for k, v in importlib.metadata.packages_distributions().items()}


@functools.cache
def _distribution_named_like(module: str) -> str | None:
    # Editable installs (a .pth or import hook) list no module files; their distribution is
    # usually named like the module (`saveur_sklearn` -> `saveur-sklearn`).
    try:
        return str(importlib.metadata.distribution(module).metadata["Name"])
    except importlib.metadata.PackageNotFoundError:
        return None


def _clear_caches() -> None:
    """Forget the module-to-distribution map and parsed files (after installing packages)."""
    from saveur import _imports_scan

    _module_distributions.cache_clear()
    _distribution_named_like.cache_clear()
    _imports_scan.clear_cache()


def infer_code_requirements(paths: list[Path]) -> list[str]:
    """Infer pinned requirements from the imports in Python files and directories.

    Scans ``.py`` files (directories recursively) with ``ast``; never imports or runs them.
    Standard-library modules and modules provided by the scanned paths themselves are left
    out; the rest are mapped to their installed distributions and pinned. A file that does not
    parse is logged as a warning and skipped; an imported module that no installed
    distribution provides is logged at INFO and skipped. Returns a sorted list.
    """
    from saveur import _imports_scan

    files, local = _imports_scan.collect_sources(paths)
    modules: dict[str, Path] = {}
    for file in files:
        for module in _imports_scan.imported_modules(file):
            modules.setdefault(module, file)
    return _pin_modules(modules, local)


def _pin_modules(modules: dict[str, Path], local: set[str]) -> list[str]:
    # Imported module -> the file importing it; pinned requirements of the distributions
    # providing them, less the standard library and the modules in ``local``.
    stdlib = sys.stdlib_module_names
    mapping = _module_distributions()
    dists: set[str] = set()
    for module in sorted(modules):
        if module in local or module in stdlib or module == "__main__":
            continue
        provided = mapping.get(module)
        if provided:
            dists.update(provided)
            continue
        named = _distribution_named_like(module)
        if named:
            dists.add(named)
        else:
            _logger.info(
                "module '%s' imported by '%s' is not provided by any installed distribution; "
                "no requirement is inferred for it",
                module,
                modules[module],
            )
    pins = {pin for pin in map(pin_requirement, dists) if pin is not None}
    return sorted(pins)


def infer_object_requirements(obj: object) -> list[str]:
    """Infer pinned requirements for ``obj`` (a pickled custom model) from its class's source.

    Like :func:`infer_code_requirements` over :func:`object_source_paths`, but narrower: in
    each user file defining ``obj``'s class or one of its base classes, only the module's
    top-level imports, the imports inside those classes (methods included), and the imports
    inside top-level functions and classes of that file that the classes reference by name
    count. A helper elsewhere in the same script that imports some package does not make the
    model require it. Never imports or runs the files. Returns a sorted list.
    """
    from saveur import _imports_scan

    by_file: dict[str, tuple[Path, list[tuple[str, int | None]]]] = {}
    for cls in type(obj).__mro__:
        file = _user_class_file(cls)
        if file is None:
            continue
        entry = by_file.setdefault(os.path.abspath(file), (Path(file), []))
        entry[1].append((cls.__qualname__, getattr(cls, "__firstlineno__", None)))
    modules: dict[str, Path] = {}
    local: set[str] = set()
    for path, classes in by_file.values():
        local.add(path.stem)
        for module in _imports_scan.class_imported_modules(path, classes):
            modules.setdefault(module, path)
    return _pin_modules(modules, local)


def _user_class_file(cls: type) -> str | None:
    # The .py file defining ``cls`` when it is user code (not the standard library, not an
    # installed distribution, not a notebook or C extension).
    top = cls.__module__.partition(".")[0]
    if top in sys.stdlib_module_names or top == "builtins":
        return None
    file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if not file or not file.endswith(".py"):
        return None
    if top != "__main__" and (top in _module_distributions() or _distribution_named_like(top)):
        return None
    return str(file)


def object_source_paths(obj: object) -> list[Path]:
    """Return the user source files that define ``obj``'s class and its base classes.

    For a pickled custom model, these are the files whose imports the model needs: classes
    from installed distributions (saveur's own ``PythonModel`` included) and the standard
    library are left out, as are classes without a ``.py`` file (notebooks, C extensions).
    Pass the result to :func:`infer_code_requirements` to count every import in those files;
    :func:`infer_object_requirements` counts only those the classes need.
    """
    seen: dict[str, Path] = {}
    for cls in type(obj).__mro__:
        file = _user_class_file(cls)
        if file is None:
            continue
        seen.setdefault(os.path.abspath(file), Path(file))
    return list(seen.values())


# --- reading back -----------------------------------------------------------------------------
def read_requirements(model_dir: Path) -> list[str]:
    """Return the requirements a saved model declares, from ``requirements.txt``.

    Falls back to the pip section of ``conda.yaml`` for models that only have that file.
    Comments and blank lines are dropped; ``-r``/``-c`` lines are returned as written.
    """
    model_dir = Path(model_dir)
    req_file = model_dir / REQUIREMENTS_FILE_NAME
    if req_file.is_file():
        try:
            text = req_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EnvironmentBuildError(f"cannot read '{req_file}': {exc}") from exc
        return list(_clean_lines(text.splitlines()))
    conda_file = model_dir / CONDA_ENV_FILE_NAME
    if conda_file.is_file():
        conda = _load_yaml(conda_file)
        deps = conda.get("dependencies") or []
        if not isinstance(deps, list):
            raise EnvironmentBuildError(
                f"'{conda_file}' is malformed: 'dependencies' must be a list"
            )
        for dep in deps:
            if isinstance(dep, dict) and "pip" in dep:
                pip = dep["pip"] or []
                if not isinstance(pip, list) or not all(isinstance(p, str) for p in pip):
                    raise EnvironmentBuildError(
                        f"'{conda_file}' is malformed: the 'pip' entry must be a list of strings"
                    )
                return list(_clean_lines(pip))
        return []
    raise EnvironmentBuildError(
        f"model directory '{model_dir}' has neither {REQUIREMENTS_FILE_NAME} nor "
        f"{CONDA_ENV_FILE_NAME}; add a {REQUIREMENTS_FILE_NAME} or re-save the model"
    )


def read_python_env(model_dir: Path) -> dict[str, Any]:
    """Return ``python_env.yaml`` as a dict (``python``, ``build_dependencies``, ``dependencies``).

    For a model without it, the Python version comes from ``conda.yaml``'s ``python=`` entry
    (``None`` when absent) and the lists are empty.
    """
    model_dir = Path(model_dir)
    env_file = model_dir / PYTHON_ENV_FILE_NAME
    if env_file.is_file():
        env = _load_yaml(env_file)
        python = env.get("python")
        if python is not None and not isinstance(python, (str, int, float)):
            raise EnvironmentBuildError(
                f"'{env_file}' is malformed: 'python' must be a version such as '{PYTHON_VERSION}'"
            )
        return {
            "python": None if python is None else str(python),
            "build_dependencies": list(env.get("build_dependencies") or []),
            "dependencies": list(env.get("dependencies") or []),
        }
    python_version = None
    conda_file = model_dir / CONDA_ENV_FILE_NAME
    if conda_file.is_file():
        for dep in _load_yaml(conda_file).get("dependencies") or []:
            if isinstance(dep, str):
                match = re.match(r"^python(?:==|=|>=|<=)([\d.]+)$", dep.strip())
                if match:
                    python_version = match.group(1)
                    break
    return {"python": python_version, "build_dependencies": [], "dependencies": []}


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    from saveur.mlmodel import check_yaml_shape

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(_MAX_ENV_FILE_BYTES + 1)
        if len(text) > _MAX_ENV_FILE_BYTES:
            raise EnvironmentBuildError(
                f"'{path}' is over {_MAX_ENV_FILE_BYTES} bytes; an environment file lists "
                "requirements only"
            )
        # Deep nesting crashes the YAML composer; aliases can expand without bound.
        check_yaml_shape(text, str(path), EnvironmentBuildError)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvironmentBuildError(f"cannot read '{path}': {exc}") from exc
    except yaml.YAMLError as exc:
        raise EnvironmentBuildError(f"'{path}' is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvironmentBuildError(f"'{path}' is malformed: expected a mapping at the top level")
    return data


def check_installed_versions(requirements: Iterable[str]) -> list[str]:
    """Compare requirements with the running environment; return one message per mismatch.

    Messages read ``"scikit-learn==1.9.1 required, 1.8.0 installed"`` or
    ``"scikit-learn==1.9.1 required, not installed"``. Lines that are not PEP 508
    requirements (paths, URLs, pip options) and requirements whose marker does not apply to
    this interpreter are skipped. An empty list means the environment satisfies them.
    """
    problems: list[str] = []
    for line in _clean_lines(requirements):
        req = _try_parse(line)
        if req is None:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        installed = _installed_version(req.name)
        shown = str(req) if req.marker is None else line
        if installed is None:
            problems.append(f"{shown} required, not installed")
        elif req.specifier and not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{shown} required, {installed} installed")
    return problems
