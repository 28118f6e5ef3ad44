"""saveur-fastai through the conformance kit: a tabular and a vision Learner."""

from __future__ import annotations

import fastai_learners
import pytest

from saveur.testing import FlavorConformance


def tabular_frame_output(learn, data):
    """The documented pyfunc output, built from fastai's raw call: class, then probabilities."""
    import numpy as np
    import pandas as pd

    probs = fastai_learners.raw_probabilities(learn, data)
    vocab = [str(v) for v in learn.dls.vocab]
    frame = pd.DataFrame(probs, columns=vocab, index=data.index)
    frame.insert(0, "prediction", np.asarray(vocab)[probs.argmax(axis=1)])
    return frame


class FastaiFixtures:
    @pytest.fixture
    def flavor_key(self):
        return "fastai"

    @pytest.fixture
    def distribution(self):
        return "saveur-fastai"

    @pytest.fixture
    def load_options(self):
        return {"trust_code": True}


class TestTabularLearner(FastaiFixtures, FlavorConformance):
    @pytest.fixture
    def model(self, tabular_learner):
        return tabular_learner

    @pytest.fixture
    def model_input(self, tabular_input):
        return tabular_input

    @pytest.fixture
    def native_predict(self):
        return tabular_frame_output


class TestVisionLearner(FastaiFixtures, FlavorConformance):
    @pytest.fixture
    def model(self, vision_learner):
        return vision_learner

    @pytest.fixture
    def model_input(self, vision_input):
        return vision_input

    @pytest.fixture
    def native_predict(self):
        return fastai_learners.raw_probabilities
