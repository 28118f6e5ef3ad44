"""The template's own tests, beyond the kit: its refusals and messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

import saveur
import saveur_polynomial
from saveur.errors import IntegrityError, PluginError, SaveError


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model"
    saveur.save_model(np.polynomial.Polynomial([1.0, 2.0]), path)
    return path


def test_unknown_save_option_is_refused(tmp_path):
    with pytest.raises(SaveError, match="unknown save option.*: degree; accepted: none"):
        saveur.save_model(np.polynomial.Polynomial([1.0]), tmp_path / "m", degree=3)


def test_unknown_load_option_is_refused(saved):
    with pytest.raises(PluginError, match="unknown load option.*: trusted_types"):
        saveur.load_model(saved, trusted_types=["x"])


def test_series_kind_outside_the_list_is_refused(saved):
    state = json.loads((saved / "polynomial.json").read_text())
    state["kind"] = "Popen"
    (saved / "polynomial.json").write_text(json.dumps(state))
    with pytest.raises(PluginError, match="names series 'Popen'"):
        saveur.load_model(saved, verify=False)


def test_malformed_model_file_is_reported(saved):
    (saved / "polynomial.json").write_text("{}")
    with pytest.raises(IntegrityError, match="not a valid polynomial model file"):
        saveur.load_model(saved, verify=False)


def test_mlflow_loader_entry_predicts(saved):
    wrapper = saveur_polynomial._load_pyfunc(str(saved / "polynomial.json"))
    np.testing.assert_allclose(wrapper.predict([0.0, 1.0]), [1.0, 3.0])
