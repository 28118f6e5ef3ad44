"""Save every portable scikit-learn case for the ``compat-stock`` env, which has no saveur.

Each case is a model directory plus the input and the predictions this env (saveur and MLflow
installed) computed, as ``.npy`` files (exact float64, no pickle), listed in
``manifest.json``. The folder is ``$SAVEUR_PORTABLE_MODELS`` (tox sets it to
``.tox/portable-models`` for both envs); without it the cases are saved under the test's tmp
folder, so the checks below still run. ``tests/stock_mlflow`` loads them in stock MLflow.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import saveur.pyfunc
import saveur_sklearn
from saveur.portability import check_portability
from saveur.signature import infer_signature

FORMATS = ("skops", "pickle", "cloudpickle")


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.RandomState(7)
    X = pd.DataFrame(rng.randn(200, 6), columns=[f"f{i}" for i in range(6)])
    y = ((X["f0"] + X["f1"] * X["f2"]) > 0).astype(int).to_numpy()
    return X, y


def _cases() -> list[dict[str, object]]:
    """(name, model kind, format, predict_fn, signature?, input_example?) of every case."""
    cases = [
        {"name": f"pipeline-{fmt}-{fn}-{'sig' if sig else 'nosig'}", "kind": "pipeline",
         "format": fmt, "predict_fn": fn, "signature": sig, "example": False}
        for fmt in FORMATS for fn in ("predict", "predict_proba") for sig in (True, False)
    ]
    cases += [
        # A tree model: skops needs its Tree type trusted, which MLmodel records for MLflow.
        {"name": "forest-skops-predict_proba-sig", "kind": "forest", "format": "skops",
         "predict_fn": "predict_proba", "signature": True, "example": False},
        # Signature inferred from an input example, with the serving example MLflow reads.
        {"name": "pipeline-skops-predict-example", "kind": "pipeline", "format": "skops",
         "predict_fn": "predict", "signature": False, "example": True},
    ]
    return cases


@pytest.fixture(scope="module")
def export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("SAVEUR_PORTABLE_MODELS")
    root = Path(configured) if configured else tmp_path_factory.mktemp("portable-models")
    if root.exists():
        shutil.rmtree(root)  # never let compat-stock read a stale case
    root.mkdir(parents=True)
    return root


def test_every_portable_case_is_saved_with_its_predictions(export_root: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    models = {
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "forest": RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y),
    }
    np.save(export_root / "input.npy", X.to_numpy(), allow_pickle=False)
    manifest = {"columns": list(X.columns), "input": "input.npy", "cases": []}
    for case in _cases():
        model = models[str(case["kind"])]
        fn = str(case["predict_fn"])
        path = export_root / str(case["name"])
        expected = getattr(model, fn)(X)
        saveur_sklearn.save_model(
            model, path, serialization_format=case["format"], pyfunc_predict_fn=fn,
            signature=infer_signature(X, expected) if case["signature"] else None,
            input_example=X.head(3) if case["example"] else None,
        )
        verdict = check_portability(path)
        assert verdict.portable, f"{case['name']}: {verdict.reason}"
        reqs = (path / "requirements.txt").read_text().splitlines()
        assert not any(r.startswith("saveur") for r in reqs), reqs
        # What saveur itself predicts is what stock MLflow must predict.
        trust = case["format"] != "skops"
        ours = saveur.pyfunc.load_model(path, trust_code=trust).predict(X)
        np.testing.assert_array_equal(np.asarray(ours), expected)
        np.save(export_root / f"{case['name']}.expected.npy", np.asarray(expected),
                allow_pickle=False)
        manifest["cases"].append({**case, "model_dir": case["name"],
                                  "expected": f"{case['name']}.expected.npy"})
    (export_root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert len(manifest["cases"]) == 14
