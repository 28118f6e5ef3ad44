"""Cost of saveur's per-file digest verification on load, on large weights.

A by-reference custom model carries one large artifact (256 MB of random bytes, 32 MB with
SAVEUR_BENCH_QUICK=1); loading it with verify=True hashes every byte (BLAKE3, as saveur
records it; SHA-256 alone is shown too, the digest of models saved before), verify=False skips it.
MLflow verifies nothing, so the MLflow column is its plain load of the same directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from _common import fmt_ratio, fmt_time, have, median_seconds, quick


def main() -> int:
    import saveur.pyfunc
    from saveur.security import file_digest, sha256_file

    size_mb = 32 if quick() else 256
    work = Path(tempfile.mkdtemp(prefix="saveur-bench-verify-"))
    try:
        weights = work / "weights.bin"
        with open(weights, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        model_dir = work / "model"
        # A pickled identity model: our own benchmark, so loading it with trust is fine.
        saveur.pyfunc.save_model(model_dir, python_model=_make_identity()(),
                                 artifacts={"weights": weights})
        repeat = 3 if quick() else 5
        t_hash = median_seconds(lambda: file_digest(weights), repeat=repeat)
        t_sha = median_seconds(lambda: sha256_file(weights), repeat=repeat)
        t_verify = median_seconds(
            lambda: saveur.pyfunc.load_model(model_dir, trust_code=True), repeat=repeat)
        t_skip = median_seconds(
            lambda: saveur.pyfunc.load_model(model_dir, trust_code=True, verify=False),
            repeat=repeat)
        t_mlflow = None
        if have("mlflow"):
            os.environ["SAVEUR_TRUST_CODE"] = "1"
            import mlflow.pyfunc

            t_mlflow = median_seconds(lambda: mlflow.pyfunc.load_model(str(model_dir)),
                                      repeat=repeat)
        print(f"== load with digest verification, {size_mb} MB artifact (median of {repeat}) ==")
        print(f"{'case':<34} {'time':>10} {'throughput':>12} {'verify/skip':>12}")
        print(f"{'blake3 of the file alone':<34} {fmt_time(t_hash):>10} "
              f"{size_mb / t_hash:>8.0f} MB/s {'n/a':>12}")
        print(f"{'sha256 of the file alone':<34} {fmt_time(t_sha):>10} "
              f"{size_mb / t_sha:>8.0f} MB/s {'n/a':>12}")
        print(f"{'saveur load, verify=True':<34} {fmt_time(t_verify):>10} {'':>12} "
              f"{fmt_ratio(t_verify / t_skip):>12}")
        print(f"{'saveur load, verify=False':<34} {fmt_time(t_skip):>10} {'':>12} "
              f"{fmt_ratio(1.0):>12}")
        print(f"{'mlflow.pyfunc.load_model':<34} {fmt_time(t_mlflow):>10} {'':>12} "
              f"{fmt_ratio(t_mlflow / t_skip if t_mlflow else None):>12}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _make_identity() -> type:
    import saveur.pyfunc

    class Identity(saveur.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    return Identity


if __name__ == "__main__":
    raise SystemExit(main())
