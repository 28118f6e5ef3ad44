"""Environment managers for serving and batch scoring: ``local`` checks, ``uv`` builds.

``local`` uses the running environment and warns when installed versions differ from the
model's pins. ``uv`` builds (once, cached by a hash of the requirements) a virtual environment
from the model's ``requirements.txt`` and ``python_env.yaml``, with an interpreter of the same
minor version found among those installed. ``saveur`` and ``saveur-*`` requirements are never
resolved by name from an index (they may be unpublished, or someone else's): they are
installed from local wheels built from the running installation, as are saveur itself and the
installed plugin that owns the model's flavor, which every env gets (a portable model, like
one saved by MLflow, lists neither). The ``mlflow`` line of such a model is dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from saveur.errors import EnvironmentBuildError

_log = logging.getLogger(__name__)

#: requirement names that mean "MLflow itself" in a model saved by MLflow
_MLFLOW_NAMES = {"mlflow", "mlflow-skinny"}
_MARKER = ".saveur-env.json"
#: directories skipped when fingerprinting a local source tree
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
              "build", "dist", ".tox"}


@dataclass
class EnvPlan:
    """What a ``uv`` environment for a model will hold.

    ``python`` is the ``X.Y`` version to match; ``index_requirements`` the lines resolved
    from the package index; ``local_distributions`` the saveur distributions installed from
    the running installation (with the extras each needs).
    """

    python: str
    index_requirements: list[str]
    local_distributions: dict[str, set[str]] = field(default_factory=dict)

    def key(self) -> str:
        """The cache key: a hash of the requirements, the Python minor and local sources."""
        digest = hashlib.sha256()
        digest.update(f"python={self.python}\n".encode())
        for line in sorted(self.index_requirements):
            digest.update(f"req={line}\n".encode())
        for name in sorted(self.local_distributions):
            extras = ",".join(sorted(self.local_distributions[name]))
            digest.update(f"local={name}[{extras}]={_local_fingerprint(name)}\n".encode())
        return digest.hexdigest()[:24]


# --- local -----------------------------------------------------------------------------


def local_mismatches(model_dir: Path) -> list[str]:
    """One message per requirement of the model the running environment does not satisfy."""
    from saveur.environment import check_installed_versions, read_requirements

    try:
        requirements = read_requirements(Path(model_dir))
    except EnvironmentBuildError as exc:
        return [str(exc)]
    wanted = [line for line in requirements if _requirement_name(line) not in _MLFLOW_NAMES]
    return check_installed_versions(wanted)


def warn_on_local_mismatch(model_dir: Path) -> list[str]:
    """Log a warning for each model requirement the running environment does not satisfy."""
    problems = local_mismatches(model_dir)
    for problem in problems:
        _log.warning(
            "the model's requirements differ from this environment: %s "
            "(use --env-manager uv to serve it in an environment built from them)",
            problem,
        )
    return problems


# --- uv --------------------------------------------------------------------------------


def plan_env(model_dir: Path, *, extras: tuple[str, ...] = ("serve",)) -> EnvPlan:
    """Read a model's requirements and Python version and decide what the env will hold."""
    from saveur.environment import read_python_env, read_requirements

    model_dir = Path(model_dir)
    python = _minor(read_python_env(model_dir).get("python"))
    local: dict[str, set[str]] = {"saveur": set(extras)}
    index: list[str] = []
    # The plugin that loads the model comes from this installation, whatever the model lists:
    # a portable model (and one saved by MLflow) names no saveur distribution, and a model
    # never chooses which distribution is built here (its `saveur` block is not read).
    plugin = _flavor_distribution(model_dir)
    if plugin is not None:
        local.setdefault(plugin, set())
    for line in read_requirements(model_dir):
        name = _requirement_name(line)
        if name in _MLFLOW_NAMES:
            continue  # MLflow's own loader is not used: saveur and the plugin replace it
        elif name is not None and (name == "saveur" or name.startswith("saveur-")):
            local.setdefault(name, set()).update(_requirement_extras(line))
        elif line.startswith(("-r", "-c", "--requirement", "--constraint")):
            raise EnvironmentBuildError(
                f"requirements.txt of '{model_dir}' includes another file ({line!r}); "
                "--env-manager uv needs the requirements inline: re-save the model"
            )
        else:
            _check_index_requirement(model_dir, line)
            index.append(line)
    return EnvPlan(python=python, index_requirements=index, local_distributions=local)


#: File name endings of archives and built distributions: a requirement line that ends with
#: one names a file (uv would build a local sdist, running its build backend), not a project.
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".tbz", ".tbz2", ".xz",
                     ".txz", ".lz", ".lzma", ".zst", ".egg", ".pybundle", ".7z", ".rar")


def _check_index_requirement(model_dir: Path, line: str) -> None:
    """Refuse a requirement line that chooses where code comes from, or is not a requirement.

    A model must not pick the package index (``--index-url``, ``--extra-index-url``,
    ``--find-links``, ``--trusted-host``), a URL (``pkg @ https://...``, ``git+...``,
    ``file:``) or a file (``-e ./src``, ``/tmp/pkg``, ``evilpkg-1.0.tar.gz``, which is also
    a valid project name) to install from: building such a source runs its code. Only named
    requirements are installed, from the index the deployer set up for uv.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    what = None
    if line.startswith("-"):
        what = "a pip option"
    else:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            what = "a path, URL or malformed requirement"
        else:
            if requirement.url:
                what = "a direct URL"
            elif requirement.name.lower().endswith(_ARCHIVE_SUFFIXES):
                what = "a file name (an archive or wheel)"
            elif "/" in line or "\\" in line or "file:" in line.lower():
                what = "a path or URL"  # in a marker, say: nothing a requirement needs
    if what is not None:
        raise EnvironmentBuildError(
            f"requirements.txt of '{model_dir}' has {line[:120]!r}, {what}: --env-manager uv "
            "installs requirements only by name, from the index uv is configured with "
            "(UV_INDEX_URL, UV_FIND_LINKS), since a model may not choose where code is "
            "downloaded from. Edit requirements.txt (then `saveur models reseal`) or serve with "
            "--env-manager local"
        )


def env_cache_dir() -> Path:
    """Where built environments live: ``$SAVEUR_ENV_CACHE`` or ``~/.cache/saveur/envs``."""
    root = os.environ.get("SAVEUR_ENV_CACHE")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "saveur" / "envs"


def build_env(
    model_dir: Path, *, extras: tuple[str, ...] = ("serve",), allow_build: bool = False
) -> Path:
    """Return the Python of a cached uv environment for the model, building it if needed.

    Requirements are installed from wheels only: building a source distribution runs its
    build backend, code chosen by whoever published it. ``allow_build=True`` (``saveur serve
    --allow-build``) is the deployer's consent to build. uv runs in an empty private
    directory, so nothing near the model (or in the caller's directory: a ``uv.toml``, a
    ``pyproject.toml``, a file named like a requirement) takes part.
    """
    plan = plan_env(model_dir, extras=extras)
    root = env_cache_dir()
    key = plan.key() + ("-built" if allow_build else "")
    final = root / key
    python = final / "bin" / "python"
    if (final / _MARKER).is_file() and python.exists():
        _log.info("reusing the environment at %s", final)
        return python
    uv = _uv()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=root))
    try:
        empty = staging / "cwd"
        empty.mkdir(mode=0o700)
        interpreter = find_python(plan.python, uv, cwd=empty)
        wheels = staging / "wheels"
        wheels.mkdir()
        local = [
            _with_extras(local_wheel(name, wheels, uv, cwd=empty), extras)
            for name, extras in sorted(plan.local_distributions.items())
        ]
        venv = staging / "venv"
        _run([uv, "venv", "--relocatable", "--no-python-downloads", "--python",
              str(interpreter), str(venv)], "create the virtual environment", cwd=empty)
        requirements = staging / "requirements.txt"
        requirements.write_text("\n".join([*plan.index_requirements, *local]) + "\n")
        install = [uv, "pip", "install", "--no-python-downloads", "--python",
                   str(venv / "bin" / "python"), "--find-links", str(wheels)]
        if not allow_build:
            install.append("--no-build")
        _run([*install, "-r", str(requirements)],
             "install the model's requirements" + ("" if allow_build else
             " from wheels only (a requirement with no wheel needs `--allow-build`, the "
             "deployer's consent to run its build backend)"), cwd=empty)
        (venv / _MARKER).write_text(json.dumps({
            "python": plan.python, "index_requirements": plan.index_requirements,
            "local_distributions": sorted(plan.local_distributions),
            "allow_build": allow_build,
        }, indent=2))
        try:
            os.rename(venv, final)
        except OSError:
            if not (final / _MARKER).is_file():  # not another builder winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _log.info("built the environment at %s", final)
    return python


def find_python(version: str, uv: str | None = None, *, cwd: Path | None = None) -> Path:
    """An installed interpreter of minor version ``version`` (``3.11``); uv downloads none.

    ``cwd`` is where uv runs (it reads ``.python-version`` files there); an empty directory
    by default.
    """
    uv = uv or _uv()
    with tempfile.TemporaryDirectory(prefix="saveur-uv-") as scratch:
        where = str(cwd or scratch)
        result = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", version],
            capture_output=True, text=True, check=False, cwd=where,
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip().splitlines()[0])
        listed = subprocess.run(
            [uv, "python", "list", "--only-installed", "--no-python-downloads"],
            capture_output=True, text=True, check=False, cwd=where,
        )
    found = sorted({_minor(line.split()[0].split("-")[1]) for line in listed.stdout.splitlines()
                    if line.strip() and "-" in line.split()[0]})
    raise EnvironmentBuildError(
        f"the model needs Python {version} and no Python {version} is installed "
        f"(installed: {', '.join(found) or 'none found'}); install Python {version} or "
        "serve with --env-manager local"
    )


def local_wheel(
    dist_name: str, dest: Path, uv: str | None = None, *, cwd: Path | None = None
) -> Path:
    """A wheel of the installed distribution ``dist_name``, built from where it came from.

    A distribution installed from a local source tree (editable or not) is built from that
    tree with ``uv build``; one installed from a local wheel file reuses that file.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        raise EnvironmentBuildError(
            f"the model needs {dist_name}, which is not installed here; install it "
            f"(pip install {dist_name}) so that it can be copied into the environment"
        ) from None
    source = _source_of(dist)
    if source is not None and source.is_dir():
        before = set(dest.glob("*.whl"))
        # The deployer's own installed source tree, not the model's: building it is theirs.
        _run([uv or _uv(), "build", "--wheel", "--out-dir", str(dest), str(source)],
             f"build a wheel of {dist_name} from {source}", cwd=cwd)
        built = [w for w in set(dest.glob("*.whl")) - before
                 if _wheel_name(w) == _normalize(dist_name)]
        if built:
            return built[0]
    elif source is not None and source.suffix == ".whl" and source.is_file():
        target = dest / source.name
        shutil.copyfile(source, target)
        return target
    raise EnvironmentBuildError(
        f"cannot make a wheel of the installed {dist_name}: it was not installed from a local "
        "source tree or wheel file; reinstall it from its source (pip install -e <dir>)"
    )


# --- helpers -----------------------------------------------------------------------------


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise EnvironmentBuildError("--env-manager uv needs the uv command: pip install uv")
    return uv


def _run(command: list[str], what: str, *, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            cwd=None if cwd is None else str(cwd))
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise EnvironmentBuildError(f"could not {what}: {tail}")


def _minor(version: object) -> str:
    if version is None:
        import sys

        return f"{sys.version_info.major}.{sys.version_info.minor}"
    parts = str(version).strip().split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise EnvironmentBuildError(
            f"python_env.yaml names Python {version!r}; expected a version such as 3.11.7"
        )
    return f"{parts[0]}.{parts[1]}"


def _normalize(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return _normalize(Requirement(line).name)
    except InvalidRequirement:
        return None


def _requirement_extras(line: str) -> set[str]:
    from packaging.requirements import Requirement

    return set(Requirement(line).extras)


def _with_extras(wheel: Path, extras: set[str]) -> str:
    name = wheel.name.split("-")[0]
    if not extras:
        return str(wheel)
    return f"{name}[{','.join(sorted(extras))}] @ {wheel.as_uri()}"


def _wheel_name(wheel: Path) -> str:
    return _normalize(wheel.name.split("-")[0])


def _flavor_distribution(model_dir: Path) -> str | None:
    """The plugin distribution for the flavor a model is loaded through, if any."""
    from saveur.loading import pyfunc_owner
    from saveur.mlmodel import PYFUNC_FLAVOR, Model
    from saveur.plugins import get_plugins

    plugins = get_plugins()
    flavor = pyfunc_owner(Model.load(model_dir), plugins)
    if flavor is None or flavor == PYFUNC_FLAVOR:
        return None
    return _normalize(plugins.flavor_info(flavor).distribution)


def _source_of(dist: object) -> Path | None:
    from urllib.parse import unquote, urlparse

    text = dist.read_text("direct_url.json")  # type: ignore[attr-defined]
    if not text:
        return None
    url = json.loads(text).get("url", "")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _local_fingerprint(dist_name: str) -> str:
    """Version plus a digest of the source tree's file names, sizes and times."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        return "missing"
    source = _source_of(dist)
    digest = hashlib.sha256(dist.version.encode())
    if source is not None and source.is_dir():
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for filename in sorted(filenames):
                stat = os.stat(os.path.join(dirpath, filename))
                rel = os.path.relpath(os.path.join(dirpath, filename), source)
                digest.update(f"{rel}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    elif source is not None and source.is_file():
        digest.update(str(source.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:16]
