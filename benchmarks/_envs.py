"""Build (once) and locate the virtualenv the benchmarks and MLflow compat tests run in.

One env under ``<repo>/.bench/venv`` holds MLflow 3.17.2 *and* saveur (editable from
``core/``, with the ``serve`` extra) and the saveur plugins that exist (editable), so every
benchmark compares the two side by side in one process tree. It is built with ``uv venv`` and
``uv pip install``; ``/opt/wheels`` is used as a find-links folder when it exists. A stamp file
records a hash of what went in (the package list, the Python version, the plugins'
``pyproject.toml`` files); when it changes the env is updated in place, otherwise reused.

Run it directly to build the env and print its interpreter, e.g. for the compat tests::

    $(python benchmarks/_envs.py) -m pytest tests/compat
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / ".bench"
VENV_DIR = BENCH_DIR / "venv"
STAMP = BENCH_DIR / "venv.stamp.json"
FIND_LINKS = Path("/opt/wheels")

MLFLOW_VERSION = "3.17.2"

#: Third-party packages of the env. MLflow is pinned: it is the reference every ratio is
#: measured against. The rest follow whatever saveur and MLflow resolve to.
PACKAGES: tuple[str, ...] = (
    f"mlflow=={MLFLOW_VERSION}",
    "scikit-learn",
    "skops",
    "pandas",
    "cloudpickle",
    "starlette",
    "uvicorn[standard]",
    "orjson",
    "httpx",
    "pytest",
    "hypothesis",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    # the CPU wheel from /opt/wheels where it exists (an index alone serves the CUDA build)
    "torch==2.13.0",
    "safetensors",
)

#: Plugin folders installed editable when they exist. Listed explicitly: a plugin for a heavy
#: framework is here on purpose (torch, with its CPU wheel pinned in PACKAGES), never by accident.
PLUGINS: tuple[str, ...] = ("sklearn", "onnx", "torch", "fastai")


def venv_python(venv: Path = VENV_DIR) -> Path:
    """Path of the interpreter inside ``venv``."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _editables() -> list[str]:
    """The editable installs: saveur with its serve and grpc extras, then each plugin present."""
    specs = [f"{REPO / 'core'}[serve,grpc]"]
    for name in PLUGINS:
        folder = REPO / "plugins" / name
        if (folder / "pyproject.toml").is_file():
            specs.append(str(folder))
    return specs


def _fingerprint(python_version: str) -> str:
    """Hash of everything that decides the env's content."""
    h = hashlib.sha256()
    h.update(json.dumps([python_version, PACKAGES, _editables(), "bytecode", "pins"]).encode())
    for spec in _editables():
        pyproject = Path(spec.split("[", 1)[0]) / "pyproject.toml"
        if pyproject.is_file():
            h.update(pyproject.read_bytes())
    return h.hexdigest()


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("benchmarks need uv on PATH: pip install uv (https://docs.astral.sh/uv/)")
    return uv


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    # Only point uv at the local wheel folder where there is one (a fresh machine has none).
    if FIND_LINKS.is_dir():
        env["UV_FIND_LINKS"] = str(FIND_LINKS)
    env.pop("VIRTUAL_ENV", None)  # uv must target -p, never the caller's activated env
    # Write .pyc files at install time, as pip does by default: without them every process
    # compiles the sources it imports (more so where PYTHONDONTWRITEBYTECODE is set), which
    # would be timed as import cost for MLflow, saveur and the frameworks alike.
    env["UV_COMPILE_BYTECODE"] = "1"
    return env


def _run(cmd: list[str], *, required: bool = True) -> bool:
    """Run ``cmd``; exit on failure when ``required``, else return whether it worked."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    result = subprocess.run(cmd, env=_uv_env(), check=False)
    if result.returncode != 0 and required:
        raise SystemExit(f"command failed with exit status {result.returncode}: {' '.join(cmd)}")
    return result.returncode == 0


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """Serialise env builds between concurrent runner invocations (POSIX only)."""
    BENCH_DIR.mkdir(exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking, builds rarely race there
        yield
        return
    with open(BENCH_DIR / "venv.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _compile_editables(exe: Path) -> None:
    """Compile saveur's editable sources to .pyc, as an installed wheel would be."""
    folders = [str(Path(spec.split("[", 1)[0]) / "src") for spec in _editables()]
    _run([str(exe), "-m", "compileall", "-q", *folders])


def ensure_env(*, python: str | None = None, rebuild: bool = False, quiet: bool = False) -> Path:
    """Create or update the benchmark env if needed and return its interpreter.

    ``python`` picks the interpreter the venv is made from (default: the one running this
    code); ``rebuild`` deletes the env first.
    """
    base_python = python or sys.executable
    version = subprocess.run(
        [base_python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with _lock():
        if rebuild and VENV_DIR.exists():
            shutil.rmtree(VENV_DIR)
            STAMP.unlink(missing_ok=True)
        fingerprint = _fingerprint(version)
        exe = venv_python()
        if exe.exists() and STAMP.is_file():
            if json.loads(STAMP.read_text()).get("fingerprint") == fingerprint:
                _compile_editables(exe)  # cheap when up to date; sources change between runs
                return exe
        start = time.perf_counter()
        uv = _uv()
        if not exe.exists():
            _run([uv, "venv", "--quiet", "--python", base_python, str(VENV_DIR)])
        # The pins of PACKAGES hold for every install step: a plugin's dependencies must not
        # move them (fastai's torchvision would otherwise pull a newer, CUDA, torch).
        pins = BENCH_DIR / "pins.txt"
        pins.write_text("".join(p + "\n" for p in PACKAGES if "==" in p))
        base = [uv, "pip", "install", "--python", str(exe), "-c", str(pins)] + (
            ["--quiet"] if quiet else []
        )
        core, *plugins = _editables()
        _run([*base, *PACKAGES, "-e", core])
        # A plugin that does not build (being written, say) must not take the saveur-vs-MLflow
        # benchmarks down with it: warn, leave the stamp unwritten so the next run retries.
        # saveur is named again so a plugin never pulls a same-named "saveur" from an index.
        failed = [
            spec for spec in plugins if not _run([*base, "-e", core, "-e", spec], required=False)
        ]
        if failed:
            for spec in failed:
                print(
                    f"warning: plugin {os.path.relpath(spec, REPO)} did not install; "
                    "its benchmarks will fail or skip",
                    file=sys.stderr,
                )
            return exe
        _compile_editables(exe)
        STAMP.write_text(
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "python": version,
                    "packages": list(PACKAGES),
                    "editables": [os.path.relpath(spec, REPO) for spec in _editables()],
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                indent=2,
            )
            + "\n"
        )
        print(
            f"benchmark env ready in {time.perf_counter() - start:.1f} s: {VENV_DIR}",
            file=sys.stderr,
        )
        return exe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="delete and rebuild the env")
    parser.add_argument("--python", help="interpreter to create the venv from")
    args = parser.parse_args(argv)
    print(ensure_env(python=args.python, rebuild=args.rebuild, quiet=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


MLSERVER_VENV_DIR = BENCH_DIR / "mlserver-venv"
#: MLServer in an env of its own (its pins clash with MLflow's); 1.7.1 fails to start with
#: uvloop 0.22, hence the bound.
MLSERVER_PACKAGES: tuple[str, ...] = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22")


def ensure_mlserver_env(*, python: str | None = None) -> Path:
    """The interpreter of ``.bench/mlserver-venv`` (MLServer 1.7.1 + mlserver-sklearn), built
    on first use; ``SAVEUR_BENCH_MLSERVER_PYTHON`` names another one instead."""
    override = os.environ.get("SAVEUR_BENCH_MLSERVER_PYTHON")
    if override:
        return Path(override)
    interpreter = venv_python(MLSERVER_VENV_DIR)
    with _lock():
        if not interpreter.exists():
            uv = _uv()
            _run([uv, "venv", "-q", "-p", python or sys.executable, str(MLSERVER_VENV_DIR)])
            _run([uv, "pip", "install", "-q", "-p", str(interpreter), *MLSERVER_PACKAGES])
    return interpreter


NOTORCH_VENV_DIR = BENCH_DIR / "notorch-venv"


def ensure_notorch_env() -> Path:
    """The interpreter of ``.bench/notorch-venv``: saveur (serve) and saveur-sklearn with the
    same versions of every package as the benchmark env, but without torch or any other
    framework plugin, for comparing a scikit-learn server in an env with and without torch.

    Built on first use and when the benchmark env changes (its ``pip freeze`` is the
    constraint list, so both envs hold identical scikit-learn, skops, numpy, pandas...).
    """
    bench = ensure_env(quiet=True)
    interpreter = venv_python(NOTORCH_VENV_DIR)
    uv = _uv()
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", str(bench)],
        capture_output=True,
        text=True,
        check=True,
        env=_uv_env(),
    ).stdout
    pins = "".join(
        line + "\n" for line in frozen.splitlines() if "==" in line and not line.startswith("-e")
    )
    stamp = NOTORCH_VENV_DIR / "stamp.txt"
    with _lock():
        if interpreter.exists() and stamp.is_file() and stamp.read_text() == pins:
            _compile_editables(interpreter)
            return interpreter
        if not interpreter.exists():
            _run([uv, "venv", "-q", "-p", str(bench), str(NOTORCH_VENV_DIR)])
        constraints = BENCH_DIR / "notorch-constraints.txt"
        constraints.write_text(pins)
        _run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "-p",
                str(interpreter),
                "-c",
                str(constraints),
                "scikit-learn",
                "skops",
                "pandas",
                "-e",
                f"{REPO / 'core'}[serve]",
                "-e",
                str(REPO / "plugins" / "sklearn"),
            ]
        )
        _compile_editables(interpreter)
        stamp.write_text(pins)
    return interpreter
