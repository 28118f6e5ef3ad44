"""Models saved by MLflow 2.22's ``mlflow.fastai`` (tox env ``fastai-mlflow2`` writes them).

They load through saveur and answer exactly as MLflow 2's own pyfunc did: one
``predictions`` column holding each row's probability array.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import saveur
import saveur.pyfunc
from saveur.errors import TrustError

ENV_VAR = "SAVEUR_FASTAI_MLFLOW2_MODELS"


@pytest.fixture(scope="module")
def fixtures_dir() -> Path:
    folder = os.environ.get(ENV_VAR)
    path = Path(folder) if folder else None
    if path is None or not (path / "tabular" / "MLmodel").is_file():
        message = (
            f"no MLflow 2 fastai fixtures at {ENV_VAR}={folder!r}: run "
            "`tox -e fastai-mlflow2,fastai` (tox runs the writer first, through depends)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _tabular_input(fixtures_dir: Path) -> pd.DataFrame:
    with np.load(fixtures_dir / "tabular-input.npz", allow_pickle=False) as data:
        return pd.DataFrame({name: data[name] for name in ("x1", "x2", "colour")})


def _assert_mlflow2_output(out: object, expected: np.ndarray) -> None:
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["predictions"]
    assert all(isinstance(row, np.ndarray) for row in out["predictions"])
    np.testing.assert_array_equal(np.stack(out["predictions"].to_numpy()), expected)


def test_tabular_model_predicts_what_mlflow2_predicted(fixtures_dir):
    model = saveur.pyfunc.load_model(fixtures_dir / "tabular", trust_code=True)
    out = model.predict(_tabular_input(fixtures_dir))
    _assert_mlflow2_output(out, np.load(fixtures_dir / "tabular-expected.npy"))


def test_vision_model_predicts_what_mlflow2_predicted(fixtures_dir):
    with np.load(fixtures_dir / "vision-input.npz", allow_pickle=False) as data:
        images = data["images"]
    model = saveur.pyfunc.load_model(fixtures_dir / "vision", trust_code=True)
    _assert_mlflow2_output(model.predict(images), np.load(fixtures_dir / "vision-expected.npy"))


def test_native_load_gives_the_learner(fixtures_dir):
    from fastai.learner import Learner

    learn = saveur.load_model(fixtures_dir / "tabular", trust_code=True)
    assert isinstance(learn, Learner)


def test_mlflow2_model_needs_trust_too(fixtures_dir):
    with pytest.raises(TrustError, match="model.fastai"):
        saveur.pyfunc.load_model(fixtures_dir / "tabular")
