"""saveur-torch through the conformance kit, once per serialization format."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch_models import MLP, TwoInputs, trained

from saveur.testing import FlavorConformance


def _forward(model: Any, data: Any) -> np.ndarray:
    with torch.no_grad():
        if isinstance(data, dict):
            return model(*(torch.from_numpy(v) for v in data.values())).numpy()
        return model(torch.from_numpy(data)).numpy()


class TorchFixtures:
    @pytest.fixture
    def flavor_key(self):
        return "pytorch"

    @pytest.fixture
    def distribution(self):
        return "saveur-torch"

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        return trained(MLP(n_in=6, hidden=8))

    @pytest.fixture
    def model_input(self):
        return np.random.RandomState(1).randn(5, 6).astype(np.float32)

    @pytest.fixture
    def native_predict(self):
        return _forward

    @pytest.fixture
    def tolerance(self):
        return {"rtol": 1e-5, "atol": 1e-6}

    @pytest.fixture
    def save_options(self, model_input):
        return {"example_inputs": model_input}


class TestExport(TorchFixtures, FlavorConformance):
    """The default format; portable, so its requirements name no saveur distribution."""


class TestStateDict(TorchFixtures, FlavorConformance):
    @pytest.fixture
    def expect_portable(self):
        return False  # saveur's own format: loader module saveur_torch, the plugin pinned

    @pytest.fixture
    def save_options(self):
        return {"serialization_format": "state_dict", "init_kwargs": {"n_in": 6, "hidden": 8}}


class TestPickle(TorchFixtures, FlavorConformance):
    @pytest.fixture
    def expect_portable(self):
        return False  # loaded by saveur_torch, which asks for trust

    @pytest.fixture
    def save_options(self):
        return {"serialization_format": "pickle"}

    @pytest.fixture
    def load_options(self):
        return {"trust_code": True}


class TestExportNamedInputs(TorchFixtures, FlavorConformance):
    """A forward of two tensors, fed by a dict of named arrays."""

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls):
        return trained(TwoInputs())

    @pytest.fixture
    def model_input(self):
        rng = np.random.RandomState(2)
        return {"numbers": rng.randn(4, 3).astype(np.float32),
                "extra": rng.randn(4, 4).astype(np.float32)}

    _MLFLOW_REFUSES_DICTS = ("MLflow's pytorch pyfunc refuses dict input (its _PyTorchWrapper "
                             "raises TypeError); saveur's pyfunc takes it. Single-tensor export "
                             "models pass.")

    def test_mlflow_pyfunc_loads_the_model(self) -> None:
        pytest.skip(self._MLFLOW_REFUSES_DICTS)

    def test_mlflow_loads_the_portable_model_without_saveur(self) -> None:
        pytest.skip(self._MLFLOW_REFUSES_DICTS)
