"""Both directions against real MLflow 3.17.2 (the ``torch-mlflow`` tox env; skipped without it).

MLflow-saved pytorch models (pt2, and pickled ``data/model.pth`` with its ``code/``) load and
predict the same through saveur; saveur's ``export`` models load in stock
``mlflow.pyfunc.load_model`` through MLflow's own ``mlflow.pytorch`` loader, and predict the
same on more rows than their one-row example.
"""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_models import MLP, TwoInputs, trained

import saveur
import saveur.pyfunc
import saveur_torch
from saveur.errors import TrustError
from saveur.models import Model

pytest.importorskip("mlflow", reason="MLflow is not installed (tox -e torch-mlflow)")
import mlflow.pyfunc
import mlflow.pytorch


def _x(rows: int, cols: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randn(rows, cols).astype(np.float32)


def test_mlflow_pt2_model_loads_without_pickle_and_predicts_the_same(tmp_path: Path) -> None:
    model = trained(MLP())
    mlflow.pytorch.save_model(model, str(tmp_path / "m"), serialization_format="pt2",
                              input_example=_x(3))
    data = _x(3, seed=1)  # MLflow's program takes the example's batch size (its own choice)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(data)
    ours = saveur.pyfunc.load_model(tmp_path / "m").predict(data)  # no trust_code
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    module = saveur_torch.load_model(tmp_path / "m")
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(data)).numpy(), theirs, rtol=1e-6)


def test_mlflow_pickled_model_with_code_paths_needs_trust_and_predicts_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "src" / "mlflow_only_net.py"
    code.parent.mkdir()
    code.write_text(textwrap.dedent("""
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(20, 3)

            def forward(self, x):
                return torch.tanh(self.lin(x))
    """))
    monkeypatch.syspath_prepend(str(code.parent))
    import mlflow_only_net

    model = trained(mlflow_only_net.Net())
    mlflow.pytorch.save_model(model, str(tmp_path / "m"), serialization_format="pickle",
                              code_paths=[str(code)], input_example=_x(2))
    assert (tmp_path / "m" / "data" / "model.pth").is_file()
    assert (tmp_path / "m" / "data" / "pickle_module_info.txt").is_file()
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    data = _x(4, seed=2)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(data)
    # Only the model's own code/ may provide the class from now on.
    monkeypatch.delitem(sys.modules, "mlflow_only_net")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(code.parent)])
    with pytest.raises(TrustError):
        saveur.pyfunc.load_model(tmp_path / "m")
    ours = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True).predict(data)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_saveur_export_model_predicts_in_stock_mlflow_on_more_rows_than_its_example(
    tmp_path: Path,
) -> None:
    model = trained(MLP())
    saveur_torch.save_model(model, tmp_path / "m", input_example=_x(1))  # one row
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    # MLflow's own loader served it, not saveur's.
    assert type(loaded._model_impl).__module__ == "mlflow.pytorch"
    data = _x(9, seed=3)
    theirs = loaded.predict(data)
    ours = saveur.pyfunc.load_model(tmp_path / "m").predict(data)
    assert theirs.shape == (9, 2)
    np.testing.assert_allclose(theirs, ours, rtol=1e-6)
    native = mlflow.pytorch.load_model(str(tmp_path / "m"))
    with torch.no_grad():
        np.testing.assert_allclose(native(torch.from_numpy(data)).numpy(), ours, rtol=1e-6)


def test_saveur_export_uses_mlflows_pt2_layout_and_keys(tmp_path: Path) -> None:
    model = trained(MLP())
    saveur_torch.save_model(model, tmp_path / "ours", input_example=_x(2))
    mlflow.pytorch.save_model(model, str(tmp_path / "theirs"), serialization_format="pt2",
                              input_example=_x(2))
    ours, theirs = Model.load(tmp_path / "ours"), Model.load(tmp_path / "theirs")
    assert ours.flavors["pytorch"] == theirs.flavors["pytorch"]
    assert set(ours.flavors["python_function"]) == set(theirs.flavors["python_function"])
    for key in ("loader_module", "data", "pickle_module_name", "config", "env"):
        assert ours.flavors["python_function"][key] == theirs.flavors["python_function"][key]
    assert sorted(p.name for p in (tmp_path / "ours" / "data").iterdir()) == ["model.pt2"]
    assert sorted(p.name for p in (tmp_path / "theirs" / "data").iterdir()) == ["model.pt2"]
    with zipfile.ZipFile(tmp_path / "ours" / "data" / "model.pt2") as a, zipfile.ZipFile(
        tmp_path / "theirs" / "data" / "model.pt2"
    ) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())


def test_saveur_state_dict_model_loads_in_mlflow_through_saveur_torch(tmp_path: Path) -> None:
    model = trained(TwoInputs())
    saveur_torch.save_model(model, tmp_path / "m", serialization_format="state_dict")
    assert Model.load(tmp_path / "m").flavors["python_function"]["loader_module"] == (
        "saveur_torch")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    rng = np.random.RandomState(0)
    data = {"numbers": rng.randn(3, 3).astype(np.float32),
            "extra": rng.randn(3, 4).astype(np.float32)}
    expected = saveur.pyfunc.load_model(tmp_path / "m").predict(data)
    np.testing.assert_allclose(loaded.predict(data), expected, rtol=1e-6)
