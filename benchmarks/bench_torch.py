"""PyTorch flavor: pyfunc predict overhead and load time, saveur-torch against MLflow 3.

    python benchmarks/run.py --only torch
    .tox/torch-mlflow/bin/python benchmarks/bench_torch.py   # the tox env works as well

1. pyfunc predict of 1 row through an MLP (20 -> 64 -> 2, float32): saveur's
   ``PyFuncModel.predict`` (tensor signature enforced) on an ``export`` model and on a
   ``state_dict`` model, and MLflow's pyfunc on a pickle model and on a pt2 model, all against
   the raw ``torch.no_grad()`` forward on the same arrays (warm, interleaved, median per call).
   The split is printed too: the plugin alone (``predict_checked``, no signature
   enforcement) and the host's enforcement alone (``check_input``), both on the export model.
2. Load of a ~100 MB model (an MLP of 5 x 2,048 x 2,048 float32 layers): saveur's
   ``state_dict`` (safetensors, digests checked) against MLflow's pickle load of the same
   module (``mlflow.pytorch.load_model``), and saveur's ``export`` load for reference; and
   the digest of the weights file alone (BLAKE3, what saveur records; and SHA-256, what it
   recorded before), the floor of a verified load.
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


def _per_call(
    fns: dict[str, Callable[[int], object]], *, inner: int, repeat: int
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


def _interleaved(fns: dict[str, Callable[[], object]], *, repeat: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in samples.items()}


def bench_predict(root: Path, mlflow_ok: bool) -> None:
    import numpy as np
    import torch
    from _torch_models import BenchMLP

    import saveur.pyfunc
    import saveur_torch

    torch.manual_seed(0)
    model = BenchMLP().eval()
    rng = np.random.RandomState(0)
    rows = [rng.randn(1, 20).astype(np.float32) for _ in range(256)]
    tensors = [torch.from_numpy(r) for r in rows]

    saveur_torch.save_model(model, root / "export", input_example=rows[0])
    export_model = saveur.pyfunc.load_model(root / "export")
    saveur_torch.save_model(
        model, root / "state_dict", input_example=rows[0], serialization_format="state_dict"
    )
    sd_model = saveur.pyfunc.load_model(root / "state_dict")

    def raw(i: int) -> object:
        with torch.no_grad():
            return model(tensors[i & 255]).numpy()

    fns: dict[str, Callable[[int], object]] = {
        "raw": raw,
        "saveur export": lambda i: export_model.predict(rows[i & 255]),
        "saveur state_dict": lambda i: sd_model.predict(rows[i & 255]),
        # the split: the plugin alone (predict_checked skips the signature enforcement), and
        # the host's enforcement alone (check_input runs only it)
        "plugin": lambda i: export_model.predict_checked(rows[i & 255]),
        "host": lambda i: export_model.check_input(rows[i & 255]),
    }
    if mlflow_ok:
        import mlflow.pyfunc
        import mlflow.pytorch

        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow's own load gate
        mlflow.pytorch.save_model(
            model, str(root / "mlflow-pickle"), serialization_format="pickle", input_example=rows[0]
        )
        mlflow.pytorch.save_model(
            model, str(root / "mlflow-pt2"), serialization_format="pt2", input_example=rows[0]
        )
        theirs_pickle = mlflow.pyfunc.load_model(str(root / "mlflow-pickle"))
        theirs_pt2 = mlflow.pyfunc.load_model(str(root / "mlflow-pt2"))
        fns["mlflow pickle"] = lambda i: theirs_pickle.predict(rows[i & 255])
        fns["mlflow pt2"] = lambda i: theirs_pt2.predict(rows[i & 255])
    got = _per_call(fns, inner=500 if quick() else 2000, repeat=5 if quick() else 15)
    base = got["raw"]
    table = [["raw torch.no_grad() forward", fmt_time(base), "", "1.00x"]]
    for name, target in (
        ("saveur export", "<=1.3x"),
        ("saveur state_dict", "<=1.3x"),
        ("mlflow pickle", ""),
        ("mlflow pt2", ""),
    ):
        table.append(
            [
                f"{name} pyfunc predict",
                fmt_time(got.get(name)),
                target,
                fmt_ratio(ratio(got.get(name), base)),
            ]
        )
    for name, case in (
        ("plugin", "  export: plugin alone (predict_checked)"),
        ("host", "  export: host enforcement alone (check_input)"),
    ):
        table.append([case, fmt_time(got[name]), "", fmt_ratio(ratio(got[name], base))])
    print_table(
        "pyfunc predict, 1 row x 20 float32, MLP 20->64->2, warm, median per call",
        ["case", "per call", "target", "x/raw"],
        table,
    )


def bench_load(root: Path, mlflow_ok: bool) -> None:
    import numpy as np
    import torch
    from _torch_models import BenchMLP

    import saveur
    import saveur_torch

    torch.manual_seed(0)
    kwargs = {"n_in": 2048, "hidden": 2048, "n_out": 2048, "depth": 5}
    model = BenchMLP(**kwargs).eval()
    size_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    saveur_torch.save_model(
        model, root / "big-sd", serialization_format="state_dict", init_kwargs=kwargs
    )
    saveur_torch.save_model(
        model, root / "big-export", input_example=np.zeros((1, 2048), dtype=np.float32)
    )
    from saveur.security import file_digest, sha256_file

    weights = root / "big-sd" / "data" / "model.safetensors"
    fns: dict[str, Callable[[], object]] = {
        "saveur state_dict": lambda: saveur_torch.load_model(root / "big-sd"),
        # the floor of a verified load: one digest of the weights file (BLAKE3 as recorded)
        "digest": lambda: file_digest(weights),
        # what that floor was with SHA-256 (hashlib, OpenSSL), the digest before BLAKE3
        "sha256": lambda: sha256_file(weights),
        # the same load without the digest check of the 100 MB file (MLflow checks nothing)
        "saveur state_dict, verify=False": lambda: saveur.load_model(root / "big-sd", verify=False),
        "saveur export": lambda: saveur_torch.load_model(root / "big-export"),
    }
    if mlflow_ok:
        import mlflow.pytorch

        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        mlflow.pytorch.save_model(
            model,
            str(root / "big-mlflow"),
            serialization_format="pickle",
            pip_requirements=["torch"],
        )
        fns["mlflow pickle"] = lambda: mlflow.pytorch.load_model(str(root / "big-mlflow"))
    n = 3 if quick() else 9
    got = _interleaved(fns, repeat=n)
    theirs = got.get("mlflow pickle")
    print_table(
        f"load a {size_mb:.0f} MB MLP (5 x 2048x2048 float32), warm process, median of {n}",
        ["case", "load", "mlflow pickle", "target", "mlflow/saveur"],
        [
            [label, fmt_time(got[key]), fmt_time(theirs), target, fmt_ratio(ratio(theirs, got[key]))]
            for label, key, target in (
                ("saveur state_dict (safetensors)", "saveur state_dict", ">=1x"),
                ("saveur state_dict, verify=False", "saveur state_dict, verify=False", ""),
                ("saveur export (pt2, audited)", "saveur export", ""),
                (f"BLAKE3 of the weights file alone ({_rate(weights, got['digest'])})", "digest", ""),
                (f"SHA-256 of the weights file alone ({_rate(weights, got['sha256'])})", "sha256", ""),
            )
        ],
    )


def _rate(path: Path, seconds: float) -> str:
    return f"{path.stat().st_size / seconds / 1e9:.2f} GB/s"


def main() -> int:
    if not (have("saveur_torch") and have("torch")):
        print("note: saveur-torch or torch is not installed here; nothing to measure")
        return 0
    mlflow_ok = have("mlflow")
    if not mlflow_ok:
        print("note: MLflow is not importable here; MLflow columns read n/a")
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    root = Path(tempfile.mkdtemp(prefix="saveur-bench-torch-"))
    try:
        bench_predict(root, mlflow_ok)
        bench_load(root, mlflow_ok)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
