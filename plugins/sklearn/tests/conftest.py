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


@pytest.fixture(autouse=True, scope="session")
def _own_cache_dir(tmp_path_factory):
    """saveur's per-user cache (the skops estimator list) in a folder of this session's own."""
    import os

    previous = os.environ.get("SAVEUR_CACHE_DIR")
    os.environ["SAVEUR_CACHE_DIR"] = str(tmp_path_factory.mktemp("saveur-cache"))
    yield
    if previous is None:
        os.environ.pop("SAVEUR_CACHE_DIR", None)
    else:
        os.environ["SAVEUR_CACHE_DIR"] = previous
