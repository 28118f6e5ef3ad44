from __future__ import annotations

import numpy as np
import pytest

from saveur.hookspecs import LoadContext


@pytest.fixture(scope="session")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def forest(xy):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=5, random_state=0).fit(*xy)


@pytest.fixture(scope="session")
def logreg(xy):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*xy)


@pytest.fixture
def context_for():
    def make(model_dir, *, trust_code=False, **options):
        return LoadContext(model_dir=model_dir, mlmodel=None, trust_code=trust_code,
                           options=options)

    return make
