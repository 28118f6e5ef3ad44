"""Signature enforcement overhead: saveur's compiled enforcer against MLflow's ``_enforce_schema``.

    python benchmarks/bench_enforce.py            # saveur columns; MLflow columns if importable
    /work/venvs/mlflow/bin/python benchmarks/bench_enforce.py   # with MLflow side by side

A LogisticRegression fitted on a 10-column float64 DataFrame is called on data that already
fits its signature: 1 row (a warm per-call measurement, fresh DataFrame objects each call, as a
server makes them) and 1,000,000 rows. Each table ends with the ratio column the benchmark
convention asks for (``benchmarks/README.md``).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, fmt_time, have, print_table, quick, ratio

N_COLS = 10
NAMES = [f"f{i}" for i in range(N_COLS)]


def per_call(fns: dict[str, Callable[[int], object]], *, inner: int, repeat: int
             ) -> dict[str, float]:
    """Median seconds per call of each ``fn(i)``, timed in groups of ``inner`` calls.

    The functions take turns within every repeat, so load from other processes on a shared
    machine falls on all of them alike and the ratios stay meaningful.
    """
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        for i in range(inner):
            fn(i)
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            for i in range(inner):
                fn(i)
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(values) for name, values in samples.items()}


def best_of(fns: dict[str, Callable[[], object]], *, repeat: int) -> dict[str, float]:
    """Fastest run of each ``fn()`` over ``repeat`` interleaved rounds (for long calls)."""
    best = {name: float("inf") for name in fns}
    for fn in fns.values():
        fn()
    names = list(fns)
    for r in range(repeat):
        # rotate the order each round, so no function always runs after the same neighbour
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from saveur.enforce import compile_enforcer
    from saveur.signature import ModelSignature
    from saveur.types import ColSpec, Schema

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.random((1000, N_COLS)), columns=NAMES)
    model = LogisticRegression().fit(train, (train["f0"] > 0.5).astype(int))
    enforce = compile_enforcer(ModelSignature(Schema([ColSpec("double", n) for n in NAMES])))

    mlflow_enforce = None
    if have("mlflow"):
        try:
            from mlflow.models.utils import _enforce_schema
            from mlflow.types import ColSpec as MColSpec
            from mlflow.types import Schema as MSchema

            mlflow_schema = MSchema([MColSpec("double", n) for n in NAMES])

            def mlflow_enforce(df):
                return _enforce_schema(df, mlflow_schema)
        except Exception as exc:  # an MLflow that imports but lacks these names
            print(f"(MLflow's _enforce_schema unavailable: {exc})")

    # ---- 1 row, fresh DataFrame objects (a server builds one per request) --------------------
    inner, repeat = (200, 15) if quick() else (1000, 41)
    frames = [pd.DataFrame(rng.random((1, N_COLS)), columns=NAMES) for _ in range(inner)]

    fns = {
        "raw": lambda i: model.predict(frames[i]),
        "s_only": lambda i: enforce(frames[i]),
        "s_total": lambda i: model.predict(enforce(frames[i])[0]),
    }
    if mlflow_enforce is not None:
        fns["m_only"] = lambda i: mlflow_enforce(frames[i])
        fns["m_total"] = lambda i: model.predict(mlflow_enforce(frames[i]))
    t = per_call(fns, inner=inner, repeat=repeat)
    raw, s_only, s_total = t["raw"], t["s_only"], t["s_total"]
    m_only, m_total = t.get("m_only"), t.get("m_total")

    print_table(
        f"enforcement, 1x{N_COLS} float64 DataFrame that fits (warm, fresh frame per call, "
        f"median of {repeat}x{inner} calls)",
        ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
        [
            ["enforcement alone", fmt_time(s_only), fmt_time(m_only), "<=50 µs",
             fmt_ratio(ratio(m_only, s_only))],
            ["enforcement + LogisticRegression.predict", fmt_time(s_total), fmt_time(m_total),
             "", fmt_ratio(ratio(m_total, s_total))],
        ],
    )
    print_table(
        f"predict with enforcement against raw predict, 1x{N_COLS} (same timings)",
        ["case", "raw predict", "with enforcement", "added", "with/raw"],
        [
            ["saveur", fmt_time(raw), fmt_time(s_total), fmt_time(s_total - raw),
             fmt_ratio(ratio(s_total, raw))],
            ["mlflow", fmt_time(raw), fmt_time(m_total),
             fmt_time(None if m_total is None else m_total - raw),
             fmt_ratio(ratio(m_total, raw))],
        ],
    )

    # ---- a scoring request: parse the body, then enforce --------------------------------------
    import json

    from saveur.protocol import parse_request

    signature = ModelSignature(Schema([ColSpec("double", n) for n in NAMES]))
    bodies = {
        "dataframe_split, 1 row": {"dataframe_split": {
            "columns": NAMES, "data": rng.random((1, N_COLS)).tolist()}},
        "dataframe_records, 1 row": {"dataframe_records": [
            dict(zip(NAMES, rng.random(N_COLS).tolist(), strict=True))]},
        "dataframe_split, 1,000 rows": {"dataframe_split": {
            "columns": NAMES, "data": rng.random((1000, N_COLS)).tolist()}},
    }
    mlflow_parse = None
    if mlflow_enforce is not None:
        try:
            from mlflow.pyfunc.scoring_server import infer_and_parse_data

            def mlflow_parse(body):
                return mlflow_enforce(infer_and_parse_data(json.loads(body), mlflow_schema))
        except Exception as exc:
            print(f"(MLflow's scoring parser unavailable: {exc})")
    rows = []
    for label, payload in bodies.items():
        body = json.dumps(payload).encode()
        req_inner = 20 if "1,000" in label else 200
        fns = {"saveur": lambda i, b=body: enforce(
            *parse_request(b, "application/json", signature))}
        if mlflow_parse is not None:
            fns["mlflow"] = lambda i, b=body: mlflow_parse(b)
        t = per_call(fns, inner=req_inner, repeat=11 if quick() else 21)
        rows.append([label, fmt_time(t["saveur"]), fmt_time(t.get("mlflow")),
                     fmt_ratio(ratio(t.get("mlflow"), t["saveur"]))])
    print_table(
        "scoring request: parse the JSON body and enforce (warm, median of rounds)",
        ["payload", "saveur", "mlflow", "mlflow/saveur"],
        rows,
    )

    # ---- 1,000,000 rows ------------------------------------------------------------------------
    n_rows = 200_000 if quick() else 1_000_000
    big = pd.DataFrame(rng.random((n_rows, N_COLS)), columns=NAMES)
    big_repeat = 5 if quick() else 15

    # What enforcement adds is measured on its own (many calls: it takes microseconds), and
    # the end-to-end calls are timed too; on a busy machine their difference is mostly noise.
    alone = per_call({"saveur": lambda i: enforce(big)}, inner=200, repeat=15)["saveur"]
    big_fns = {
        "raw": lambda: model.predict(big),
        "saveur": lambda: model.predict(enforce(big)[0]),
    }
    if mlflow_enforce is not None:
        big_fns["mlflow"] = lambda: model.predict(mlflow_enforce(big))
        big_fns["mlflow_alone"] = lambda: mlflow_enforce(big)
    b = best_of(big_fns, repeat=big_repeat)
    raw_big, s_big = b["raw"], b["saveur"]
    m_big, m_alone = b.get("mlflow"), b.get("mlflow_alone")

    print_table(
        f"{n_rows:,}x{N_COLS} float64 DataFrame that fits (predict: best of {big_repeat}, "
        "interleaved; enforcement alone: median of 15x200 calls)",
        ["case", "raw predict", "enforcement alone", "predict with enforcement", "target",
         "(raw+enforcement)/raw"],
        [
            ["saveur", fmt_time(raw_big), fmt_time(alone), fmt_time(s_big), "<=1.03x",
             fmt_ratio(ratio(raw_big + alone, raw_big))],
            ["mlflow", fmt_time(raw_big), fmt_time(m_alone), fmt_time(m_big), "",
             fmt_ratio(None if m_alone is None else ratio(raw_big + m_alone, raw_big))],
        ],
    )


if __name__ == "__main__":
    main()
