"""bench_sklearn's operations for two saveur source trees and MLflow, in one interleaved run.

    .bench/venv/bin/python benchmarks/compare_sklearn_trees.py BEFORE_TREE [AFTER_TREE]
    # e.g. git worktree add ../base 0ee0b65 && ... compare_sklearn_trees.py ../base .

Separate runs of a benchmark on a shared machine differ by more than the 5% a regression check
needs. Here three warm worker processes (BEFORE_TREE's and AFTER_TREE's ``core/src`` and
``plugins/sklearn/src`` first on ``PYTHONPATH``, and MLflow) take turns on each operation of
``bench_sklearn.py`` (save and load of the 100-tree RandomForest, pyfunc predict and raw
predict of a 1-row DataFrame through a LogisticRegression), the order alternating each
round. Prints medians of wall time with CPU time in brackets, and the after/before ratios.
Not run by ``run.py`` (its name has no ``bench_`` prefix). ``--rounds N`` (default 25, 7
with ``SAVEUR_BENCH_QUICK=1``), ``--mlflow-saves N`` (default 2; an MLflow save takes
seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPS = ("save", "load", "predict", "raw")
PER_CALL = 300  # calls per predict sample


def worker(side: str) -> None:
    """Answer ``save``/``load``/``predict``/``raw`` lines with ``wall cpu`` seconds."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow's own load gate
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = rng.randn(2000, 20)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(
        X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    )
    names = [f"f{i}" for i in range(10)]
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.randn(500, 10), columns=names)
    lr = LogisticRegression().fit(frame, (frame["f0"] > 0).astype(int))
    frames = [pd.DataFrame(rng.randn(1, 10), columns=names) for _ in range(256)]
    root = Path(tempfile.mkdtemp(prefix="saveur-compare-"))
    if side == "mlflow":
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature as mlflow_signature

        def save(p: Path) -> object:
            trusted = ["sklearn.tree._tree.Tree"]
            return mlflow.sklearn.save_model(forest, str(p), skops_trusted_types=trusted)

        def load(p: Path) -> object:
            return mlflow.sklearn.load_model(str(p))

        mlflow.sklearn.save_model(
            lr,
            str(root / "lr"),
            pip_requirements=["scikit-learn"],
            signature=mlflow_signature(frame, lr.predict(frame)),
        )
        model = mlflow.pyfunc.load_model(str(root / "lr"))
    else:
        import saveur.pyfunc
        import saveur_sklearn
        from saveur.signature import infer_signature

        def save(p: Path) -> object:
            return saveur_sklearn.save_model(forest, p)

        def load(p: Path) -> object:
            return saveur_sklearn.load_model(p)

        saveur_sklearn.save_model(
            lr, root / "lr", signature=infer_signature(frame, lr.predict(frame))
        )
        model = saveur.pyfunc.load_model(root / "lr")
    save(root / "warm")
    load(root / "warm")
    for i in range(PER_CALL):
        model.predict(frames[i & 255])
        lr.predict(frames[i & 255])
    print("ready", flush=True)
    saves = 0
    for line in sys.stdin:
        op, n = line.strip(), 1
        wall, cpu = time.perf_counter(), time.process_time()
        if op == "save":
            saves += 1
            save(root / f"m{saves}")
        elif op == "load":
            load(root / "warm")
        elif op in ("predict", "raw"):
            n = PER_CALL
            fn = model.predict if op == "predict" else lr.predict
            for i in range(n):
                fn(frames[i & 255])
        else:
            break
        print((time.perf_counter() - wall) / n, (time.process_time() - cpu) / n, flush=True)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def main() -> int:
    quick = os.environ.get("SAVEUR_BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=Path.cwd())
    parser.add_argument("--rounds", type=int, default=7 if quick else 25)
    parser.add_argument("--mlflow-saves", type=int, default=2)
    parser.add_argument("--worker", choices=("saveur", "mlflow"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    sides: dict[str, Path | None] = {"before": args.before, "after": args.after}
    try:
        import mlflow  # noqa: F401

        sides["mlflow"] = None
    except ImportError:
        print("note: MLflow is not importable here; no MLflow column")
    procs = {}
    for name, tree in sides.items():
        env = dict(os.environ)
        if tree is not None:
            src = [tree.resolve() / "core/src", tree.resolve() / "plugins/sklearn/src"]
            env["PYTHONPATH"] = os.pathsep.join(map(str, src))
        procs[name] = subprocess.Popen(
            [
                sys.executable,
                __file__,
                str(args.before),
                "--worker",
                "saveur" if tree is not None else "mlflow",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    for name, p in procs.items():
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", name
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {
        (n, op): [] for n in procs for op in OPS
    }
    start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    load = os.getloadavg()[0]
    for r in range(args.rounds):
        for op in OPS:
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            if "mlflow" in procs and op != "raw" and (op != "save" or r < args.mlflow_saves):
                order.insert(r % 3, "mlflow")
            for name in order:
                p = procs[name]
                assert p.stdin is not None and p.stdout is not None
                p.stdin.write(op + "\n")
                p.stdin.flush()
                wall, cpu = map(float, p.stdout.readline().split())
                samples[(name, op)].append((wall, cpu))
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait()
    print(
        f"== {start} UTC to {time.strftime('%H:%M:%S', time.gmtime())}, load average "
        f"{load:.2f} to {os.getloadavg()[0]:.2f}; {args.rounds} rounds, MLflow saved "
        f"{min(args.mlflow_saves, args.rounds)} times; median wall (CPU) =="
    )

    def med(name: str, op: str, i: int) -> float | None:
        got = samples.get((name, op))
        return statistics.median(s[i] for s in got) if got else None

    print(
        "op       | before               | after                | after/before (CPU), min"
        "     | mlflow               | mlflow/after"
    )
    for op in OPS:
        b, a, m = (med(n, op, 0) for n in ("before", "after", "mlflow"))
        bc, ac, mc = (med(n, op, 1) for n in ("before", "after", "mlflow"))
        assert b and a and bc and ac
        low = min(s[0] for s in samples[("after", op)]) / min(s[0] for s in samples[("before", op)])
        ml = f"{_fmt(m)} ({_fmt(mc)})" if m and mc else "n/a"
        print(
            f"{op:8} | {_fmt(b) + ' (' + _fmt(bc) + ')':20} | "
            f"{_fmt(a) + ' (' + _fmt(ac) + ')':20} | {a / b:.3f}x ({ac / bc:.3f}x), "
            f"{low:.3f}x | {ml:20} | {f'{m / a:.2f}x' if m else 'n/a'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
