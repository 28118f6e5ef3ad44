"""Run saveur's benchmarks side by side with MLflow and print the ratios.

    python benchmarks/run.py                      # build/reuse .bench/venv, run every bench
    python benchmarks/run.py --only import,sklearn
    python benchmarks/run.py --list
    python benchmarks/run.py --use-python .venv/bin/python   # no env build; MLflow columns n/a

Every ``benchmarks/bench_<name>.py`` is discovered and run as its own process
(``python benchmarks/bench_<name>.py``) with the benchmark env's interpreter, which holds
MLflow 3.17.2 and saveur together (see ``_envs.py``). Their output is streamed, saved under
``.bench/results/``, and the ratio rows are repeated in a summary at the end. The convention a
bench module follows is in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _envs import BENCH_DIR, REPO, ensure_env

HERE = Path(__file__).resolve().parent
#: A summary row: the table title lines and every row whose last field is a ratio (``41.3x``).
_RATIO_ROW = re.compile(r"(?:\d+(?:\.\d+)?x|n/a)\s*$")


def discover() -> dict[str, Path]:
    """``{name: path}`` for every ``bench_<name>.py`` in this folder, sorted by name."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def _select(available: dict[str, Path], only: str | None) -> dict[str, Path]:
    if not only:
        return available
    wanted = [n.strip().removeprefix("bench_").removesuffix(".py") for n in only.split(",")]
    unknown = [n for n in wanted if n and n not in available]
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}"
        )
    return {n: available[n] for n in wanted if n}


def _summary_lines(lines: list[str]) -> list[str]:
    """Table titles, the header row under each, and every row that ends with a ratio."""
    keep = []
    for i, line in enumerate(lines):
        after_title = i > 0 and lines[i - 1].startswith("== ")
        if line.startswith("== ") or after_title or _RATIO_ROW.search(line):
            keep.append(line)
    return keep


def _env_report(python: Path) -> str:
    """One line per fact that makes a result comparable: date, machine, versions."""
    probe = (
        "import importlib.metadata as m, platform\n"
        "def v(d):\n"
        "    try: return m.version(d)\n"
        "    except m.PackageNotFoundError: return 'not installed'\n"
        "print('python', platform.python_version())\n"
        "for d in ('saveur', 'saveur-sklearn', 'saveur-torch', 'mlflow', 'scikit-learn',\n"
        "          'torch', 'pandas', 'numpy'):\n"
        "    print(d, v(d))\n"
    )
    versions = (
        subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
        .stdout.strip()
        .splitlines()
    )
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = (
        subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or "no commit"
    )
    try:
        load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "load average unknown"
    lines = [
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {load}",
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu})",
        f"git: {rev}",
        "versions: " + ", ".join(versions),
    ]
    return "\n".join(lines)


def _run_one(
    python: Path, path: Path, env: dict[str, str], timeout: float, log: TextIO
) -> tuple[int, float, list[str]]:
    """Run one bench module, streaming its output; returns (status, seconds, output lines)."""
    start = time.perf_counter()
    lines: list[str] = []
    proc = subprocess.Popen(
        [str(python), str(path)],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=1,
    )
    assert proc.stdout is not None
    deadline = start + timeout
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            lines.append(line.rstrip("\n"))
            if time.perf_counter() > deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
        status = proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        note = f"!! {path.name} killed after {timeout:.0f} s"
        print(note)
        log.write(note + "\n")
        status = -9
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C): never leave a bench running behind
            proc.kill()
            proc.wait()
    return status, time.perf_counter() - start, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run saveur's benchmarks side by side with MLflow 3.17.2."
    )
    parser.add_argument("--only", help="comma-separated bench names, e.g. import,sklearn")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repetitions (sets SAVEUR_BENCH_QUICK=1 for the modules)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild .bench/venv first")
    parser.add_argument("--python", help="interpreter to create .bench/venv from")
    parser.add_argument(
        "--use-python", help="run the benches with this interpreter; no env is built"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="seconds allowed per bench module (default 1200)",
    )
    args = parser.parse_args(argv)

    benches = _select(discover(), args.only)
    if args.list:
        for name, path in benches.items():
            print(f"{name:12} {path.relative_to(REPO)}")
        return 0
    if not benches:
        print("no benchmarks/bench_*.py found")
        return 1

    if args.use_python:
        python = Path(args.use_python)
    else:
        python = ensure_env(python=args.python, rebuild=args.rebuild, quiet=True)

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the env's own installs only, never the caller's path
    env["PYTHONUNBUFFERED"] = "1"
    if args.quick:
        env["SAVEUR_BENCH_QUICK"] = "1"

    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    log_path = results_dir / time.strftime("%Y%m%dT%H%M%SZ.txt", time.gmtime())
    summary: list[tuple[str, int, float, list[str]]] = []
    with open(log_path, "w") as log:
        header = _env_report(python)
        print(header + "\n", flush=True)
        log.write(header + "\n\n")
        for name, path in benches.items():
            banner = f"### bench_{name} ({path.relative_to(REPO)})"
            print(banner, flush=True)
            log.write(banner + "\n")
            status, seconds, lines = _run_one(python, path, env, args.timeout, log)
            summary.append((name, status, seconds, lines))
            print(flush=True)
            log.write("\n")

        out = ["", "#### summary"]
        for name, status, seconds, lines in summary:
            state = "ok" if status == 0 else f"FAILED (exit {status})"
            out.append(f"bench_{name}: {state}, {seconds:.1f} s")
            out.extend("  " + line for line in _summary_lines(lines))
        out.append(f"full output: {log_path.relative_to(REPO)}")
        print("\n".join(out))
        log.write("\n".join(out) + "\n")
    return 0 if all(status == 0 for _, status, _, _ in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
