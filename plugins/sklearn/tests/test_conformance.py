"""saveur-sklearn through the conformance kit: a linear model, a forest, and a pickle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saveur.testing import FlavorConformance


def _frame(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(rng.randn(n, 4), columns=["a", "b", "c", "d"])
    y = (X["a"] + X["b"] > 0).astype(int).to_numpy()
    return X, y


class SklearnFixtures:
    @pytest.fixture
    def flavor_key(self):
        return "sklearn"

    @pytest.fixture
    def distribution(self):
        return "saveur-sklearn"

    @pytest.fixture
    def model_input(self):
        return _frame(8, seed=1)[0]


class TestLogisticRegressionSkops(SklearnFixtures, FlavorConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression().fit(*_frame())


class TestRandomForestPredictProba(SklearnFixtures, FlavorConformance):
    """A tree model through skops with no trusted types passed, predicting probabilities."""

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=5, random_state=0).fit(*_frame())

    @pytest.fixture
    def save_options(self):
        return {"pyfunc_predict_fn": "predict_proba"}

    @pytest.fixture
    def expected_output(self, model, model_input):
        return model.predict_proba(model_input)


class TestPipelinePickle(SklearnFixtures, FlavorConformance):
    """Plain pickle: loads in saveur only with trust_code=True; portable like the others."""

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression()).fit(*_frame())

    @pytest.fixture
    def save_options(self):
        return {"serialization_format": "pickle"}

    @pytest.fixture
    def load_options(self):
        return {"trust_code": True}


class TestPipelineCloudpickle(SklearnFixtures, FlavorConformance):
    """cloudpickle: loads only with trust_code=True (SAVEUR_TRUST_CODE=1 under MLflow)."""

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression()).fit(*_frame())

    @pytest.fixture
    def save_options(self):
        return {"serialization_format": "cloudpickle"}

    @pytest.fixture
    def load_options(self):
        return {"trust_code": True}
