"""ONNX flavor: pyfunc predict and load, saveur-onnx against MLflow 3 and a raw session.

    $(python benchmarks/_envs.py) benchmarks/bench_onnx.py   # MLflow side by side
    .tox/onnx-mlflow/bin/python benchmarks/bench_onnx.py      # the same, from the tox env

1. pyfunc predict on 1 row (10 float32 features) of a LogisticRegression converted with
   skl2onnx: saveur's ``PyFuncModel.predict`` (derived signature enforced) and MLflow's
   (``mlflow.onnx``, no signature), against a raw ``InferenceSession.run`` with a prebuilt
   feed on the same rows (warm, interleaved, median per call). Target: saveur <= 1.2x raw.
2. Load with session creation: ``saveur.pyfunc.load_model`` (digests checked, external-data
   locations checked, session built) against ``mlflow.pyfunc.load_model`` on a model saved
   by each library from the same ModelProto. Target: saveur no slower than MLflow.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, fmt_time, have, median_seconds, print_table, quick, ratio


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


def _model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import saveur_onnx

    rng = np.random.RandomState(0)
    X = rng.randn(500, 10).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    return saveur_onnx.from_sklearn(LogisticRegression().fit(X, y), X[:1])


def bench_predict(root: Path, proto, mlflow_ok: bool) -> None:
    import numpy as np
    import onnxruntime as ort

    import saveur.pyfunc
    import saveur_onnx

    rng = np.random.RandomState(1)
    # Distinct one-row arrays, the same for every side, as a server builds one per request.
    rows = [rng.randn(1, 10).astype(np.float32) for _ in range(256)]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]

    saveur_onnx.save_model(proto, root / "lr-saveur")
    ours = saveur.pyfunc.load_model(root / "lr-saveur")
    fns: dict[str, Callable[[int], object]] = {
        "raw": lambda i: session.run(outputs, {name: rows[i & 255]}),
        "saveur": lambda i: ours.predict(rows[i & 255]),
    }
    if mlflow_ok:
        import mlflow.onnx
        import mlflow.pyfunc

        # The same explicit CPU provider as saveur's default (MLflow's asks for CUDA first).
        mlflow.onnx.save_model(proto, str(root / "lr-mlflow"),
                               onnx_execution_providers=["CPUExecutionProvider"],
                               pip_requirements=["onnx", "onnxruntime"])
        theirs = mlflow.pyfunc.load_model(str(root / "lr-mlflow"))
        fns["mlflow"] = lambda i: theirs.predict(rows[i & 255])
    got = _per_call(fns, inner=200 if quick() else 1000, repeat=5 if quick() else 15)
    raw = got["raw"]
    print_table(
        "pyfunc predict, 1 row x 10 float32 features, LogisticRegression (skl2onnx), warm, "
        "median per call",
        ["case", "per call", "raw", "target", "x/raw"],
        [
            ["raw InferenceSession.run", fmt_time(raw), "", "", "1.00x"],
            ["saveur pyfunc predict", fmt_time(got["saveur"]), fmt_time(raw), "<=1.2x",
             fmt_ratio(ratio(got["saveur"], raw))],
            ["mlflow pyfunc predict", fmt_time(got.get("mlflow")), fmt_time(raw), "",
             fmt_ratio(ratio(got.get("mlflow"), raw))],
        ],
    )


def bench_load(root: Path, mlflow_ok: bool) -> None:
    import saveur.pyfunc

    repeat = 5 if quick() else 21
    ours = median_seconds(lambda: saveur.pyfunc.load_model(root / "lr-saveur"), repeat=repeat,
                          warmup=2)
    theirs = None
    if mlflow_ok:
        import mlflow.pyfunc

        theirs = median_seconds(lambda: mlflow.pyfunc.load_model(str(root / "lr-mlflow")),
                                repeat=repeat, warmup=2)
    print_table(
        f"pyfunc load with session creation, LogisticRegression, warm process, median of "
        f"{repeat}",
        ["case", "saveur", "mlflow", "target", "saveur/mlflow"],
        [["pyfunc.load_model", fmt_time(ours), fmt_time(theirs), "<=1.0x",
          fmt_ratio(ratio(ours, theirs))]],
    )


def main() -> int:
    if not all(have(m) for m in ("saveur_onnx", "onnxruntime", "skl2onnx", "sklearn")):
        print("note: saveur-onnx, onnxruntime, skl2onnx or scikit-learn is not installed here; "
              "nothing to measure")
        return 0
    mlflow_ok = have("mlflow")
    if not mlflow_ok:
        print("note: MLflow is not importable here; MLflow columns read n/a")
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    proto = _model()
    with tempfile.TemporaryDirectory(prefix="saveur-bench-onnx-") as tmp:
        root = Path(tmp)
        bench_predict(root, proto, mlflow_ok)
        bench_load(root, mlflow_ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
