"""A model's Python environment: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

Writes the three files in MLflow 3's exact layout, pins installed distributions, merges the
inferred requirements with the caller's ``pip_requirements`` / ``extra_pip_requirements``,
infers the requirements of custom Python code by a static scan of its imports (no subprocess,
the code is never imported or run), and reads the files back to check an environment.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from saveur.environment._infer import _clear_caches as _clear_caches
from saveur.environment._infer import infer_code_requirements as infer_code_requirements
from saveur.environment._infer import infer_object_requirements as infer_object_requirements
from saveur.environment._infer import object_source_paths as object_source_paths
from saveur.environment._pins import _installed_version
from saveur.environment._pins import pin_requirement as pin_requirement
from saveur.environment._pins import saveur_requirement as saveur_requirement
from saveur.environment._resolve import _clean_lines, _try_parse
from saveur.environment._resolve import resolve_requirements as resolve_requirements
from saveur.errors import EnvironmentBuildError, SaveError, SaveurError

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

REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
_MAX_ENV_FILE_BYTES = 16 << 20
CONDA_ENV_FILE_NAME = "conda.yaml"
# MLflow's spelling: major.minor.micro of the running interpreter.
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"

_BUILD_PACKAGES = ("pip", "setuptools", "wheel")


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


# --- reading back -----------------------------------------------------------------------------
def read_requirements(model_dir: Path) -> list[str]:
    """Return the requirements a saved model declares, from ``requirements.txt``.

    Falls back to the pip section of ``conda.yaml`` for models that only have that file.
    Comments and blank lines are dropped; ``-r``/``-c`` lines are returned as written.
    """
    model_dir = Path(model_dir)
    req_file = model_dir / REQUIREMENTS_FILE_NAME
    if req_file.is_file():
        from saveur.security import open_regular

        try:
            with open_regular(req_file, "requirements file") as f:
                text = f.read(_MAX_ENV_FILE_BYTES + 1).decode("utf-8")
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

    from saveur.mlmodel import check_plain_data, check_yaml_shape
    from saveur.security import open_regular

    try:
        with open_regular(path, "environment file") as f:
            text = f.read(_MAX_ENV_FILE_BYTES + 1).decode("utf-8")
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
    except SaveurError:
        raise
    except Exception as exc:
        # PyYAML's constructors on a hostile scalar: a 5,000-digit integer, a bad timestamp
        # (ValueError, or AttributeError under a !!timestamp tag), bad base64...
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise EnvironmentBuildError(f"'{path}' has a value that cannot be read: {detail}"
                                    ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EnvironmentBuildError(f"'{path}' is malformed: expected a mapping at the top level")
    check_plain_data(data, f"'{path}'", EnvironmentBuildError)
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
