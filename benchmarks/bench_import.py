"""Import time and custom-model save time, saveur against MLflow 3.17.2.

1. Fresh-process import time of ``saveur``, ``saveur.pyfunc``, ``mlflow`` and
   ``mlflow.pyfunc``: each run is a new ``python -c`` process that times the import with
   ``time.perf_counter`` and prints it back (interpreter start-up is not counted). One untimed
   run first (it writes the ``.pyc`` files), then the median of ``--runs`` (at least 7).
2. Saving a small custom Python model with an input example and inferred requirements, in a
   warm process (after untimed warm-up saves): ``saveur.pyfunc.save_model(path,
   python_model=..., input_example=...)`` against ``mlflow.pyfunc.save_model`` with a
   ``PythonModel``. Both infer the output signature from the example and the requirements
   (MLflow in a subprocess, saveur by a static scan).

Run: ``python benchmarks/bench_import.py [--runs 7]``. A library that is not installed shows
``n/a``; if ``saveur.pyfunc.save_model`` does not exist yet, the save benchmark says so and skips.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import fmt_ratio, fmt_time, have, median_seconds, print_table, quick, ratio

_CHILD = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "sys.stdout.write(repr(time.perf_counter() - t))\n"
)


def _import_once(module: str, cwd: str, env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module=module)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"'import {module}' failed in a fresh process: {last}")
    return float(done.stdout)


def import_medians(modules: list[str], runs: int) -> dict[str, float | str | None]:
    """Median fresh-process import time per module: seconds, None if its package is not
    installed, or the error text if the import failed.

    The modules take turns, round after round, so that a change in machine load during the
    run weighs on every module alike.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    times: dict[str, list[float]] = {m: [] for m in modules if have(m.split(".")[0])}
    result: dict[str, float | str | None] = {m: None for m in modules}
    # cwd is an empty folder so that nothing in the repo shadows an installed package.
    with tempfile.TemporaryDirectory() as cwd:
        for i in range(runs + 1):
            for module in list(times):
                try:
                    seconds = _import_once(module, cwd, env)
                except RuntimeError as exc:
                    result[module] = str(exc)
                    del times[module]
                    continue
                if i:  # round 0 writes the .pyc files: not a fair sample
                    times[module].append(seconds)
    for module, samples in times.items():
        result[module] = statistics.median(samples)
    return result


def bench_imports(runs: int) -> int:
    """Print the import table; returns a process exit status (1 if an import broke)."""
    pairs = [("saveur", "mlflow"), ("saveur.pyfunc", "mlflow.pyfunc")]
    medians = import_medians([m for pair in pairs for m in pair], runs)
    status, rows = 0, []
    for ours, theirs in pairs:
        measured: list[float | None] = []
        for module in (ours, theirs):
            value = medians[module]
            if isinstance(value, str):
                print(f"note: {value}")
                # A module that does not exist yet is a skip; any other failure is a bug.
                status |= "No module named" not in value
                value = None
            measured.append(value)
        s, m = measured
        rows.append(
            [
                f"import {ours} / {theirs}",
                fmt_time(s),
                fmt_time(m),
                "<50 ms, >=30x",
                fmt_ratio(ratio(m, s)),
            ]
        )
    print_table(
        f"fresh-process import time (median of {runs}, each a new process)",
        ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
        rows,
    )
    return status


def _example() -> Any:
    import pandas as pd

    return pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 0.25, 0.125]})


def _saveur_saver(workdir: Path) -> Callable[[], object] | str:
    """A no-argument function that saves a fresh custom model, or why it cannot."""
    try:
        import saveur.pyfunc as spf
    except ImportError as exc:
        return f"saveur.pyfunc cannot be imported ({exc})"
    if not hasattr(spf, "save_model") or not hasattr(spf, "PythonModel"):
        return "saveur.pyfunc.save_model / PythonModel not available yet"

    class AddModel(spf.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 2 + model_input["y"]

    model, example, counter = AddModel(), _example(), iter(range(1_000_000))

    def save() -> object:
        return spf.save_model(
            str(workdir / f"saveur-{next(counter)}"), python_model=model, input_example=example
        )

    return save


def _mlflow_saver(workdir: Path) -> Callable[[], object] | str:
    if not have("mlflow"):
        return "mlflow is not installed"
    import mlflow.pyfunc as mpf

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    # MLflow infers requirements by loading the model in a child process, which prints a
    # type-hint warning on every save; children inherit this.
    os.environ["PYTHONWARNINGS"] = "ignore"

    class AddModel(mpf.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 2 + model_input["y"]

    model, example, counter = AddModel(), _example(), iter(range(1_000_000))

    def save() -> object:
        return mpf.save_model(
            str(workdir / f"mlflow-{next(counter)}"), python_model=model, input_example=example
        )

    return save


def bench_save(repeat_saveur: int, repeat_mlflow: int) -> int:
    """Warm-process save time of a small custom model; returns a process exit status."""
    status = 0
    results: dict[str, float | None] = {}
    workdir = Path(tempfile.mkdtemp(prefix="saveur-bench-save-"))
    try:
        for name, make, repeat in (
            ("saveur", _saveur_saver, repeat_saveur),
            ("mlflow", _mlflow_saver, repeat_mlflow),
        ):
            # MLflow warns at class definition (no type hints) and on every save; the
            # warnings are noise here and printing them costs time inside the measurement.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                saver = make(workdir)
            if isinstance(saver, str):
                print(f"note: {name} save benchmark skipped: {saver}")
                results[name] = None
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    results[name] = median_seconds(saver, repeat=repeat, warmup=2)
            except Exception as exc:  # report and go on: the other side is still worth seeing
                print(f"note: {name} save failed: {type(exc).__name__}: {exc}")
                results[name] = None
                status = 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    s, m = results["saveur"], results["mlflow"]
    print_table(
        f"save a small custom Python model, warm process (median of {repeat_saveur} saveur, "
        f"{repeat_mlflow} mlflow)",
        ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
        [
            [
                "pyfunc.save_model + input_example",
                fmt_time(s),
                fmt_time(m),
                "<100 ms",
                fmt_ratio(ratio(m, s)),
            ]
        ],
    )
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per import (>=7)")
    parser.add_argument(
        "--save-repeat", type=int, default=10 if quick() else 30, help="timed saveur saves"
    )
    parser.add_argument(
        "--mlflow-save-repeat",
        type=int,
        default=3 if quick() else 7,
        help="timed MLflow saves (each takes seconds)",
    )
    parser.add_argument("--skip-save", action="store_true", help="only the import benchmark")
    args = parser.parse_args(argv)
    if args.runs < 7:
        parser.error("--runs must be at least 7 (the median of fewer runs is too noisy)")
    status = bench_imports(args.runs)
    if args.skip_save:
        return status
    return status | bench_save(args.save_repeat, args.mlflow_save_repeat)


if __name__ == "__main__":
    raise SystemExit(main())
