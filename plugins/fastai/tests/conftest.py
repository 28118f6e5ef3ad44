from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fastai_learners


@pytest.fixture(scope="session", autouse=True)
def _torchvision_shim():
    """Test-only: vision Learners' pickles import fastai.vision, hence torchvision."""
    fastai_learners.install_torchvision_shim()


@pytest.fixture(scope="session")
def tabular_learner():
    return fastai_learners.tabular_learner()


@pytest.fixture(scope="session")
def vision_learner():
    return fastai_learners.vision_learner()


@pytest.fixture
def tabular_input():
    return fastai_learners.tabular_input()


@pytest.fixture
def vision_input():
    return fastai_learners.vision_input()
