"""Fixtures of the saveur-onnx tests; the graph builders live in onnx_graphs.py."""

from __future__ import annotations

import pytest
from onnx_graphs import xy


@pytest.fixture(scope="session")
def logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*xy())


@pytest.fixture(scope="session")
def logreg_onnx(logreg):
    import saveur_onnx

    return saveur_onnx.from_sklearn(logreg, xy()[0][:1])


@pytest.fixture(scope="session")
def mlp():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(),
                               torch.nn.Linear(16, 2)).eval()


@pytest.fixture(scope="session")
def mlp_onnx(mlp):
    import torch

    import saveur_onnx

    return saveur_onnx.from_torch(mlp, torch.zeros(3, 4), input_names=["x"],
                                  output_names=["logits"])
