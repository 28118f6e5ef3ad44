"""Save fastai models with MLflow 2's ``mlflow.fastai`` (run in tox env ``fastai-mlflow2``).

Writes ``<out>/tabular`` and ``<out>/vision`` (MLflow 2 model directories), the inputs next
to them (``*-input.npz``, numpy arrays only: no pickle) and what MLflow 2's own pyfunc
predicted (``*-expected.npy``: the stacked ``predictions`` column). The ``fastai`` env loads
them through saveur and compares.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fastai_learners


def _expected(model_dir: Path, data: object) -> object:
    import mlflow.pyfunc
    import numpy as np

    out = mlflow.pyfunc.load_model(str(model_dir)).predict(data)
    assert list(out.columns) == ["predictions"], out.columns
    return np.stack(out["predictions"].to_numpy())


def main(out: Path) -> None:
    import mlflow
    import mlflow.fastai
    import numpy as np

    fastai_learners.install_torchvision_shim()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    frame = fastai_learners.tabular_input()
    mlflow.fastai.save_model(fastai_learners.tabular_learner(), out / "tabular")
    np.savez(out / "tabular-input.npz",
             **{c: frame[c].to_numpy().astype(str if c == "colour" else float) for c in frame})
    np.save(out / "tabular-expected.npy", _expected(out / "tabular", frame))

    pictures = fastai_learners.vision_input()
    mlflow.fastai.save_model(fastai_learners.vision_learner(), out / "vision")
    np.savez(out / "vision-input.npz", images=pictures)
    np.save(out / "vision-expected.npy", _expected(out / "vision", pictures))
    (out / "mlflow-version.txt").write_text(mlflow.__version__ + "\n")
    print(f"MLflow {mlflow.__version__} fastai fixtures written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
