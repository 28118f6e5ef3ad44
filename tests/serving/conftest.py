"""Fixtures: real scikit-learn models and real scoring servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving_helpers import COLUMNS, N_FEATURES, Server, run_server

__all__ = ["COLUMNS", "N_FEATURES"]


def _training_data():
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(200, N_FEATURES), columns=COLUMNS)
    y = ((x["f0"] + x["f1"]) > 1.0).astype("int64")
    return x, y


@pytest.fixture(scope="session")
def column_model(tmp_path_factory) -> Path:
    """A LogisticRegression saved with a 10-column signature and an input example."""
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    x, y = _training_data()
    model = LogisticRegression().fit(x, y)
    path = tmp_path_factory.mktemp("models") / "iris_like"
    saveur_sklearn.save_model(
        model, path, signature=infer_signature(x, model.predict(x)), input_example=x.head(2)
    )
    return path


@pytest.fixture(scope="session")
def tensor_model(tmp_path_factory) -> Path:
    """A LogisticRegression on a float64 (-1, 10) tensor signature."""
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    x, y = _training_data()
    array = x.to_numpy()
    model = LogisticRegression().fit(array, y.to_numpy())
    path = tmp_path_factory.mktemp("models") / "tensor_model"
    saveur_sklearn.save_model(
        model, path, signature=infer_signature(array, model.predict(array)),
        input_example=array[:2],
    )
    return path


@pytest.fixture(scope="session")
def column_server(column_model) -> Iterator[Server]:
    with run_server(column_model, "--name", "lr") as server:
        yield server


@pytest.fixture(scope="session")
def tensor_server(tensor_model) -> Iterator[Server]:
    with run_server(tensor_model) as server:
        yield server
