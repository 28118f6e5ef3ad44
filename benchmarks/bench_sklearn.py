"""scikit-learn flavor: save, load and pyfunc predict, saveur-sklearn against MLflow 3.

    /work/venvs/mlflow/bin/python benchmarks/bench_sklearn.py   # MLflow side by side
    python benchmarks/bench_sklearn.py                          # saveur columns only

1. Save a RandomForestClassifier (100 trees, 20 features, 2,000 rows) with inferred
   requirements: ``saveur_sklearn.save_model`` against ``mlflow.sklearn.save_model`` with its
   default requirement inference (skops both; MLflow is given the tree's trusted type, which
   it needs to save at all).
2. Load that model back (skops both): ``saveur_sklearn.load_model`` (digests checked) against
   ``mlflow.sklearn.load_model``.
3. pyfunc predict of a 1-row, 10-column float64 DataFrame through a LogisticRegression:
   saveur's ``PyFuncModel.predict`` (signature enforced) and MLflow's, against the raw
   ``model.predict`` on the same DataFrames (warm, interleaved, median per call).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, fmt_time, have, print_table, quick, ratio

TREE_TYPE = "sklearn.tree._tree.Tree"


def _forest():
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(2000, 20)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)


def _timed_saves(save: Callable[[Path], object], root: Path, repeat: int) -> float:
    """Median seconds of ``save(new_path)`` after one warm-up save."""
    times = []
    for i in range(repeat + 1):
        path = root / f"m{i}"
        start = time.perf_counter()
        save(path)
        elapsed = time.perf_counter() - start
        if i:  # the first save is the warm-up (imports, caches)
            times.append(elapsed)
    return statistics.median(times)


def bench_save_and_load(root: Path, mlflow_ok: bool) -> None:
    import saveur_sklearn

    model = _forest()
    n = 3 if quick() else 7
    ours = _timed_saves(lambda p: saveur_sklearn.save_model(model, p), root / "saveur", n)
    theirs = None
    if mlflow_ok:
        import mlflow.sklearn

        theirs = _timed_saves(
            lambda p: mlflow.sklearn.save_model(model, str(p), skops_trusted_types=[TREE_TYPE]),
            root / "mlflow", 1 if quick() else 3,
        )
    print_table(
        "save RandomForestClassifier (100 trees, 20 features, 2,000 rows), skops, inferred "
        f"requirements, warm process (median of {n} saveur, {1 if quick() else 3} MLflow)",
        ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
        [["save_model", fmt_time(ours), fmt_time(theirs), ">=20x",
          fmt_ratio(ratio(theirs, ours))]],
    )

    saveur_dir = root / "saveur" / "m1"
    mlflow_dir = root / "mlflow" / "m1"
    fns: dict[str, Callable[[], object]] = {
        "saveur": lambda: saveur_sklearn.load_model(saveur_dir),
    }
    if mlflow_ok:
        import mlflow.sklearn

        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow's own load gate
        fns["mlflow"] = lambda: mlflow.sklearn.load_model(str(mlflow_dir))
    best = _interleaved_medians(fns, repeat=5 if quick() else 15)
    print_table(
        "load the same model (skops both; saveur checks digests), warm process, median of "
        f"{5 if quick() else 15}",
        ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
        [["load_model", fmt_time(best["saveur"]), fmt_time(best.get("mlflow")), ">=1x",
          fmt_ratio(ratio(best.get("mlflow"), best["saveur"]))]],
    )


def _interleaved_medians(fns: dict[str, Callable[[], object]], *, repeat: int
                         ) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in samples.items()}


def _per_call(fns: dict[str, Callable[[int], object]], *, inner: int, repeat: int
              ) -> dict[str, float]:
    """Median seconds per call of each ``fn(i)``, the functions taking turns each round."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        for i in range(inner):
            fn(i)
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            for i in range(inner):
                fn(i)
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(v) for name, v in samples.items()}


def bench_predict(root: Path, mlflow_ok: bool) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import saveur.pyfunc
    import saveur_sklearn
    from saveur.signature import infer_signature

    names = [f"f{i}" for i in range(10)]
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(500, 10), columns=names)
    y = (X["f0"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    # Distinct one-row frames, the same for every side, as a server builds one per request.
    frames = [pd.DataFrame(rng.randn(1, 10), columns=names) for _ in range(256)]

    saveur_sklearn.save_model(model, root / "lr-saveur",
                              signature=infer_signature(X, model.predict(X)))
    ours = saveur.pyfunc.load_model(root / "lr-saveur")
    fns: dict[str, Callable[[int], object]] = {
        "raw": lambda i: model.predict(frames[i & 255]),
        "saveur": lambda i: ours.predict(frames[i & 255]),
    }
    if mlflow_ok:
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature as mlflow_infer_signature

        mlflow.sklearn.save_model(model, str(root / "lr-mlflow"),
                                  signature=mlflow_infer_signature(X, model.predict(X)),
                                  pip_requirements=["scikit-learn"])
        theirs = mlflow.pyfunc.load_model(str(root / "lr-mlflow"))
        fns["mlflow"] = lambda i: theirs.predict(frames[i & 255])
    got = _per_call(fns, inner=200 if quick() else 500, repeat=5 if quick() else 15)
    raw = got["raw"]
    rows = [
        ["raw model.predict", fmt_time(raw), "", "", "1.00x"],
        ["saveur pyfunc predict", fmt_time(got["saveur"]), fmt_time(raw), "<=1.1x",
         fmt_ratio(ratio(got["saveur"], raw))],
        ["mlflow pyfunc predict", fmt_time(got.get("mlflow")), fmt_time(raw), "",
         fmt_ratio(ratio(got.get("mlflow"), raw))],
    ]
    print_table(
        "pyfunc predict, 1 row x 10 float64 columns, LogisticRegression, warm, median per call",
        ["case", "per call", "raw", "target", "x/raw"],
        rows,
    )


def main() -> int:
    if not (have("saveur_sklearn") and have("sklearn")):
        print("note: saveur-sklearn or scikit-learn is not installed here; nothing to measure")
        return 0
    mlflow_ok = have("mlflow")
    if not mlflow_ok:
        print("note: MLflow is not importable here; MLflow columns read n/a")
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    root = Path(tempfile.mkdtemp(prefix="saveur-bench-sklearn-"))
    try:
        bench_save_and_load(root, mlflow_ok)
        bench_predict(root, mlflow_ok)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
