"""Batch scoring: `saveur predict` vs `mlflow models predict`, a 10M-row Parquet file, Spark.

1. A 1,000,000-row CSV of 10 double columns through a LogisticRegression, each tool on the
   same estimator saved by itself, both writing JSON predictions: wall time and peak memory
   (max RSS of the command's process tree), one fresh process each, as MLflow/saveur ratios
   against the targets (>= 3x faster, <= 1/3 of the memory); and each tool's start-up (the
   same command on the first 1,000 rows: imports and model load).
2. A 10,000,000-row Parquet file through `saveur predict` (Parquet out): peak memory, against
   a 500 MB limit.
3. Spark, local[2]: 1,000,000 rows scored by `saveur.spark.spark_udf` vs a pandas UDF
   written by hand around the raw estimator (median of 3 after a warm-up, written to Spark's
   `noop` sink). Runs where pyspark and Java are present (the `spark` tox env's Python is used
   when this one lacks pyspark); `n/a` otherwise.

Data and models go under `.bench/batch/` and are reused. `SAVEUR_BENCH_QUICK=1` scales the
row counts down by 10.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, fmt_time, have, median_seconds, print_table, quick, ratio

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".bench" / "batch"
COLUMNS = [f"f{i}" for i in range(10)]
SCALE = 10 if quick() else 1
CSV_ROWS = 1_000_000 // SCALE
PARQUET_ROWS = 10_000_000 // SCALE
SPARK_ROWS = 1_000_000 // SCALE
#: runs of each tool on the CSV (alternating); the figures are medians
ROUNDS = 1 if quick() else 3

# Run under a wrapper Python: the max RSS of the children it waited for is the command's peak.
_PEAK = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "t = time.perf_counter() - t\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(code, t, u.ru_maxrss, u.ru_utime + u.ru_stime)\n"
)


def _env() -> dict[str, str]:
    # Bytecode caches as a user has them: a run that recompiles every module it imports
    # measures the compiler (and MLflow imports far more modules than saveur).
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _measure(command: list[str]) -> tuple[float, float, float]:
    """(seconds, peak MB, CPU seconds) of ``command`` in a fresh process; raises if it fails."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK, *command],
        capture_output=True,
        text=True,
        check=True,
        cwd=WORK,
        env=_env(),
    )
    code, seconds, kb, cpu = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command[:4]} failed with exit status {code}: {out.stderr[-2000:]}")
    return float(seconds), int(kb) / 1024, float(cpu)


def _small_command(command: list[str], csv: Path) -> list[str]:
    """``command`` on a 1,000-row file, run once here so that bytecode caches exist for what
    it imports: measured, it is the start-up (imports, model load) with next to no rows."""
    small = WORK / "warm_up.csv"
    with open(csv) as src, open(small, "w") as dst:
        for _, line in zip(range(1001), src, strict=False):
            dst.write(line)
    warm = [str(small) if part == str(csv) else part for part in command]
    subprocess.run(warm, capture_output=True, check=True, cwd=WORK, env=_env())
    return warm


def _medians(samples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The median of each figure (seconds, peak MB, CPU seconds) over runs."""
    import statistics

    seconds, peak, cpu = (statistics.median(values) for values in zip(*samples, strict=True))
    return seconds, peak, cpu


def _met(value: float | None, target: float) -> str:
    return "n/a" if value is None else ("yes" if value >= target else "no")


def _train():
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(2000, 10), columns=COLUMNS)
    return LogisticRegression().fit(x, ((x["f0"] + x["f1"]) > 1).astype("int64")), x


def _models() -> tuple[Path, Path | None]:
    """The same estimator saved by saveur and (where installed) by MLflow."""
    import saveur_sklearn
    from saveur.signature import infer_signature

    model, x = _train()
    saveur_dir = WORK / "model_saveur"
    if not saveur_dir.exists():
        saveur_sklearn.save_model(model, saveur_dir, signature=infer_signature(x, model.predict(x)))
    mlflow_dir = None
    if have("mlflow"):
        import mlflow.sklearn
        from mlflow.models import infer_signature as mlflow_signature

        mlflow_dir = WORK / "model_mlflow"
        if not mlflow_dir.exists():
            mlflow.sklearn.save_model(
                model, str(mlflow_dir), signature=mlflow_signature(x, model.predict(x))
            )
    return saveur_dir, mlflow_dir


def _csv_file() -> Path:
    import numpy as np
    import pandas as pd

    path = WORK / f"rows_{CSV_ROWS}.csv"
    if not path.exists():
        rng = np.random.RandomState(1)
        pd.DataFrame(rng.rand(CSV_ROWS, 10), columns=COLUMNS).to_csv(path, index=False)
    return path


def _parquet_file() -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = WORK / f"rows_{PARQUET_ROWS}.parquet"
    if not path.exists():
        rng = np.random.RandomState(2)
        chunk = 500_000
        schema = pa.schema([(c, pa.float64()) for c in COLUMNS])
        tmp = path.with_suffix(".part")
        with pq.ParquetWriter(tmp, schema) as writer:
            for start in range(0, PARQUET_ROWS, chunk):
                n = min(chunk, PARQUET_ROWS - start)
                writer.write_table(pa.table({c: rng.rand(n) for c in COLUMNS}, schema=schema))
        tmp.rename(path)
    return path


def bench_files() -> None:
    saveur_dir, mlflow_dir = _models()
    csv = _csv_file()
    saveur_cmd = [
        sys.executable,
        "-m",
        "saveur",
        "predict",
        "-m",
        str(saveur_dir),
        "-i",
        str(csv),
        "-o",
        str(WORK / "out_saveur.json"),
        "--no-progress",
    ]
    m_time = m_peak = m_cpu = None
    m_start: tuple[float | None, ...] = (None, None, None)
    mlflow_cmd: list[str] | None = None
    if mlflow_dir is not None:
        mlflow_cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "predict",
            "-m",
            str(mlflow_dir),
            "-i",
            str(csv),
            "-t",
            "csv",
            "-o",
            str(WORK / "out_mlflow.json"),
            "--env-manager",
            "local",
        ]
    # Both tools alternate, ROUNDS runs each, and each figure is the median of its runs: one
    # run of each swung the ratio by 15% on this machine.
    commands = {"saveur": saveur_cmd, "mlflow": mlflow_cmd}
    small = {name: _small_command(cmd, csv) for name, cmd in commands.items() if cmd}
    starts: dict[str, list] = {name: [] for name in small}
    runs: dict[str, list] = {name: [] for name in small}
    for _ in range(ROUNDS):
        for name, cmd in small.items():
            starts[name].append(_measure(cmd))
        for name in small:
            runs[name].append(_measure(commands[name]))  # type: ignore[arg-type]
    s_start, (s_time, s_peak, s_cpu) = _medians(starts["saveur"]), _medians(runs["saveur"])
    if mlflow_cmd is not None:
        m_start, (m_time, m_peak, m_cpu) = _medians(starts["mlflow"]), _medians(runs["mlflow"])
        # Same predictions: the comparison is of the same work.
        ours = json.loads((WORK / "out_saveur.json").read_text())["predictions"]
        theirs = json.loads((WORK / "out_mlflow.json").read_text())["predictions"]
        assert [r["prediction"] for r in ours] == [
            r if not isinstance(r, dict) else next(iter(r.values())) for r in theirs
        ], "saveur and MLflow disagree"
    time_ratio, peak_ratio = ratio(m_time, s_time), ratio(m_peak, s_peak)
    print_table(
        f"batch scoring: {CSV_ROWS:,}-row CSV (10 doubles), LogisticRegression, JSON out, "
        f"fresh process each, median of {ROUNDS} alternating runs",
        ["case", "saveur", "mlflow", "mlflow/saveur", "target", "met"],
        [
            [
                "wall time",
                fmt_time(s_time),
                fmt_time(m_time),
                fmt_ratio(time_ratio),
                ">=3x faster",
                _met(time_ratio, 3.0),
            ],
            [
                "peak memory (max RSS)",
                f"{s_peak:.0f} MB",
                "n/a" if m_peak is None else f"{m_peak:.0f} MB",
                fmt_ratio(peak_ratio),
                "<=1/3 of MLflow's",
                _met(peak_ratio, 3.0),
            ],
            [
                "CPU time (user + system)",
                fmt_time(s_cpu),
                fmt_time(m_cpu),
                fmt_ratio(ratio(m_cpu, s_cpu)),
                "",
                "",
            ],
            [
                "start-up: 1,000-row file, wall",
                fmt_time(s_start[0]),
                fmt_time(m_start[0]),
                fmt_ratio(ratio(m_start[0], s_start[0])),
                "",
                "",
            ],
            [
                "start-up: 1,000-row file, peak",
                f"{s_start[1]:.0f} MB",
                "n/a" if m_start[1] is None else f"{m_start[1]:.0f} MB",
                fmt_ratio(ratio(m_start[1], s_start[1])),
                "",
                "",
            ],
        ],
    )
    parquet = _parquet_file()
    p_time, p_peak, _ = _measure(
        [
            sys.executable,
            "-m",
            "saveur",
            "predict",
            "-m",
            str(saveur_dir),
            "-i",
            str(parquet),
            "-o",
            str(WORK / "out.parquet"),
            "--batch-size",
            "100000",
            "--no-progress",
        ]
    )
    print_table(
        f"batch scoring: {PARQUET_ROWS:,}-row Parquet (10 doubles) to Parquet, saveur predict "
        "--batch-size 100000",
        ["case", "saveur", "rows/s", "limit/saveur", "target", "met"],
        [
            [
                "peak memory (max RSS)",
                f"{p_peak:.0f} MB",
                f"{PARQUET_ROWS / p_time:,.0f}",
                fmt_ratio(ratio(500.0, p_peak)),
                "<500 MB",
                "yes" if p_peak < 500 else "no",
            ]
        ],
    )


def bench_spark() -> None:
    """Time spark_udf against a hand-written pandas UDF on the same DataFrame."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import pandas_udf, rand, struct

    from saveur.spark import spark_udf

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    saveur_dir, _ = _models()
    model, _ = _train()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("saveur-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = (
            spark.range(SPARK_ROWS, numPartitions=2)
            .select(*[rand(seed=i).alias(c) for i, c in enumerate(COLUMNS)])
            .cache()
        )
        df.count()

        def hand_written(frame):
            return pd.Series(model.predict(frame[COLUMNS]).astype(np.int64))

        # real hint objects: pyspark reads the UDF's kind from them
        hand_written.__annotations__ = {"frame": pd.DataFrame, "return": pd.Series}
        by_hand = pandas_udf(hand_written, "long")
        ours = spark_udf(spark, str(saveur_dir))

        def run(udf):
            return lambda: (
                df.withColumn("p", udf(struct(*COLUMNS)))
                .write.format("noop")
                .mode("overwrite")
                .save()
            )

        raw_t = median_seconds(run(by_hand), repeat=3)
        our_t = median_seconds(run(ours), repeat=3)
    finally:
        spark.stop()
    print_table(
        f"Spark local[2]: {SPARK_ROWS:,} rows x 10 doubles, LogisticRegression, noop sink "
        "(median of 3)",
        ["case", "saveur spark_udf", "hand-written pandas UDF", "target", "saveur/raw"],
        [
            [
                "score 1M rows" if SCALE == 1 else "score rows",
                fmt_time(our_t),
                fmt_time(raw_t),
                "<=1.5x",
                fmt_ratio(ratio(our_t, raw_t)),
            ]
        ],
    )


def _spark_python() -> str | None:
    if have("pyspark"):
        return sys.executable
    candidate = REPO / ".tox" / "spark" / "bin" / "python"
    return str(candidate) if candidate.exists() else None


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if "--spark-only" in sys.argv:
        bench_spark()
        return
    bench_files()
    python = _spark_python()
    if python is None or shutil.which("java") is None:
        print_table(
            "Spark local[2]: spark_udf vs a hand-written pandas UDF",
            ["case", "saveur/raw"],
            [["pyspark or Java missing", "n/a"]],
        )
        return
    if python == sys.executable:
        bench_spark()
    else:
        env = {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}
        started = time.perf_counter()
        subprocess.run([python, __file__, "--spark-only"], check=True, env=env)
        print(f"(Spark part run with {python}, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
