"""fastai flavor: pyfunc predict of saveur-fastai against fastai's own call.

    python benchmarks/run.py --only fastai
    .tox/fastai/bin/python benchmarks/bench_fastai.py      # any env with saveur-fastai

MLflow 3 has no fastai flavor, so the reference is the raw framework call.

1. pyfunc predict on 1,000 tabular rows (2 continuous columns, 1 categorical; a tabular
   classifier trained for one epoch on synthetic data): saveur's ``PyFuncModel.predict``
   (signature enforced, DataFrame of class and probabilities out) against the raw
   ``learn.get_preds(dl=learn.dls.test_dl(df))`` on the same Learner object loaded from the
   same file, both with fastai's progress bar off (``learn.no_bar()``, which saveur uses; a
   bar drawn to the terminal would only add noise). Warm, interleaved, median per call.
2. The same on 100 rows, where fixed costs weigh more.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, fmt_time, have, print_table, quick, ratio

TARGET = 1.2


def _frame(n: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "x1": rng.randn(n),
        "x2": rng.randn(n),
        "colour": rng.choice(["red", "green", "blue"], n),
    })
    frame["label"] = np.where(frame["x1"] + 0.5 * frame["x2"] > 0, "high", "low")
    return frame


def _learner():
    from fastai.tabular.all import (
        Categorify,
        FillMissing,
        Normalize,
        TabularDataLoaders,
        set_seed,
        tabular_learner,
    )

    set_seed(0, reproducible=True)
    dls = TabularDataLoaders.from_df(
        _frame(2000, 0), path=".", cat_names=["colour"], cont_names=["x1", "x2"],
        y_names="label", procs=[Categorify, FillMissing, Normalize], bs=64,
    )
    learn = tabular_learner(dls, layers=[64, 32], n_out=len(dls.vocab))
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    return learn


def _interleaved(fns: dict[str, object], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeat):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> int:
    if not have("saveur_fastai") or not have("fastai"):
        print("note: saveur-fastai or fastai is not installed here; fastai benchmark skipped")
        print_table(
            "pyfunc predict, 1,000 tabular rows (not measured)",
            ["case", "saveur", "raw get_preds", "target", "saveur/raw"],
            [["fastai tabular classifier", "n/a", "n/a", f"<={TARGET}x", "n/a"]],
        )
        return 0
    warnings.filterwarnings("ignore")
    import saveur_fastai

    import saveur.pyfunc

    repeat = 7 if quick() else 31
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "tabular"
        saveur_fastai.save_model(
            _learner(), model_dir, input_example=_frame(5, 1).drop(columns="label")
        )
        model = saveur.pyfunc.load_model(model_dir, trust_code=True)
        learn = model.get_raw_model()
        for n in (1000, 100):
            df = _frame(n, 2).drop(columns="label")

            def raw(df=df):
                with learn.no_bar():
                    return learn.get_preds(dl=learn.dls.test_dl(df))

            medians = _interleaved({"saveur": lambda df=df: model.predict(df), "raw": raw}, repeat)
            print_table(
                f"pyfunc predict, {n:,} tabular rows, warm, interleaved (median of {repeat})",
                ["case", "saveur", "raw get_preds", "target", "saveur/raw"],
                [[
                    "fastai tabular classifier",
                    fmt_time(medians["saveur"]),
                    fmt_time(medians["raw"]),
                    f"<={TARGET}x" if n == 1000 else "",
                    fmt_ratio(ratio(medians["saveur"], medians["raw"])),
                ]],
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
