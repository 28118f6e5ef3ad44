"""saveur-fastai's own behaviour: round trips, output shapes, signatures, trust, options."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import fastai_learners
import numpy as np
import pandas as pd
import pytest
import saveur_fastai

import saveur
import saveur.pyfunc
from saveur.errors import PluginError, SaveError, TrustError
from saveur.mlmodel import Model


@pytest.fixture
def tabular_dir(tmp_path, tabular_learner, tabular_input):
    path = tmp_path / "tabular"
    saveur_fastai.save_model(tabular_learner, path, input_example=tabular_input)
    return path


@pytest.fixture
def vision_dir(tmp_path, vision_learner, vision_input):
    path = tmp_path / "vision"
    saveur_fastai.save_model(vision_learner, path, input_example=vision_input)
    return path


# --- round trips -------------------------------------------------------------------------


def test_tabular_round_trip_predicts_identically(tabular_dir, tabular_learner, tabular_input):
    expected = fastai_learners.raw_probabilities(tabular_learner, tabular_input)
    out = saveur.pyfunc.load_model(tabular_dir, trust_code=True).predict(tabular_input)
    assert list(out.columns) == ["prediction", "high", "low"]
    np.testing.assert_array_equal(out[["high", "low"]].to_numpy(), expected)
    assert list(out["prediction"]) == [["high", "low"][i] for i in expected.argmax(axis=1)]
    assert out.index.equals(tabular_input.index)


def test_native_load_returns_a_learner_that_predicts_identically(
    tabular_dir, tabular_learner, tabular_input
):
    from fastai.learner import Learner

    learn = saveur_fastai.load_model(tabular_dir, trust_code=True)
    assert isinstance(learn, Learner)
    np.testing.assert_array_equal(
        fastai_learners.raw_probabilities(learn, tabular_input),
        fastai_learners.raw_probabilities(tabular_learner, tabular_input),
    )


def test_vision_round_trip_predicts_identically(vision_dir, vision_learner, vision_input):
    expected = fastai_learners.raw_probabilities(vision_learner, vision_input)
    out = saveur.pyfunc.load_model(vision_dir, trust_code=True).predict(vision_input)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_batch_size_does_not_change_predictions(tabular_dir, tabular_input):
    default = saveur.pyfunc.load_model(tabular_dir, trust_code=True).predict(tabular_input)
    small = saveur.pyfunc.load_model(tabular_dir, trust_code=True, batch_size=5)
    pd.testing.assert_frame_equal(small.predict(tabular_input), default)


def test_predict_prints_nothing(tabular_dir, tabular_input, capsys):
    model = saveur.pyfunc.load_model(tabular_dir, trust_code=True)
    capsys.readouterr()
    model.predict(tabular_input)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_export_leaves_the_learner_usable(tmp_path, tabular_learner, tabular_input):
    before = fastai_learners.raw_probabilities(tabular_learner, tabular_input)
    saveur_fastai.save_model(tabular_learner, tmp_path / "m")
    np.testing.assert_array_equal(
        fastai_learners.raw_probabilities(tabular_learner, tabular_input), before
    )
    assert tabular_learner.dls.train_ds is not None and len(tabular_learner.dls.train_ds) > 0


# --- what is written ---------------------------------------------------------------------


def test_mlmodel_has_mlflow2_keys_and_names_the_plugin_as_loader(tabular_dir):
    import fastai

    mlmodel = Model.load(tabular_dir)
    assert mlmodel.flavors["fastai"]["data"] == "model.fastai"
    assert mlmodel.flavors["fastai"]["fastai_version"] == fastai.__version__
    assert mlmodel.flavors["python_function"]["loader_module"] == "saveur_fastai"
    assert mlmodel.flavors["python_function"]["data"] == "model.fastai"


def test_tabular_signature_is_column_based(tabular_dir):
    sig = Model.load(tabular_dir).signature
    assert sig.inputs.input_names() == ["x1", "x2", "colour"]
    assert sig.outputs.input_names() == ["prediction", "high", "low"]


def test_vision_signature_is_tensor_based(vision_dir):
    sig = Model.load(vision_dir).signature
    (inp,) = sig.inputs.inputs
    (out,) = sig.outputs.inputs
    size = fastai_learners.IMAGE_SIZE
    assert (inp.type, tuple(inp.shape)) == (np.dtype("uint8"), (-1, size, size, 3))
    assert (out.type, tuple(out.shape)) == (np.dtype("float32"), (-1, 2))


def test_model_file_records_no_path_of_the_saving_machine(tmp_path, tabular_learner, monkeypatch):
    from pathlib import Path

    tabular_learner.path = tmp_path.resolve() / "training-dir"
    try:
        saveur_fastai.save_model(tabular_learner, tmp_path / "m")
    finally:
        tabular_learner.path = Path(".")
    data = (tmp_path / "m" / "model.fastai").read_bytes()
    assert str(tmp_path.resolve()).encode() not in data
    assert b"training-dir" not in data


def test_requirements_pin_fastai_torch_fastcore_and_the_plugin(tabular_dir):
    lines = (tabular_dir / "requirements.txt").read_text().split()
    for dist in ("fastai", "fastcore", "saveur-fastai"):
        assert f"{dist}=={version(dist)}" in lines
    assert f"torch=={version('torch').split('+')[0]}" in lines
    assert not any("+" in line for line in lines)
    assert not any(line.startswith("torchvision") for line in lines)


def test_local_version_labels_are_dropped(monkeypatch):
    from saveur_fastai import _requirements

    monkeypatch.setattr(_requirements, "version", lambda dist: "2.13.0+cu130")
    _requirements._pinned.cache_clear()
    try:
        assert all(r.endswith("==2.13.0") for r in _requirements.infer_requirements())
    finally:
        _requirements._pinned.cache_clear()


# --- detection ---------------------------------------------------------------------------


def test_detect_claims_learner_subclasses_without_importing_fastai():
    class Learner:  # a class posing under fastai's name, with no fastai involved
        pass

    Learner.__module__, Learner.__qualname__ = "fastai.learner", "Learner"

    class MyLearner(Learner):
        pass

    claim = saveur_fastai.saveur_detect_flavor(model=MyLearner())
    assert (claim.flavor, claim.matched) == ("fastai", Learner)


def test_detect_claims_a_real_learner_subclass():
    from fastai.learner import Learner

    class MyLearner(Learner):
        pass

    claim = saveur_fastai.saveur_detect_flavor(model=MyLearner.__new__(MyLearner))
    assert (claim.flavor, claim.matched) == ("fastai", Learner)


def test_detect_ignores_the_torch_module_inside_a_learner(tabular_learner):
    assert saveur_fastai.saveur_detect_flavor(model=tabular_learner).flavor == "fastai"
    assert saveur_fastai.saveur_detect_flavor(model=tabular_learner.model) is None
    assert saveur_fastai.saveur_detect_flavor(model=tabular_learner.dls) is None


def test_saving_something_else_as_fastai_is_refused(tmp_path, tabular_learner):
    with pytest.raises(SaveError, match="fastai.learner.Learner"):
        saveur_fastai.save_model(tabular_learner.model, tmp_path / "m")
    assert not (tmp_path / "m").exists()


# --- trust and options -------------------------------------------------------------------


def test_loading_without_trust_is_refused_naming_the_file(tabular_dir):
    with pytest.raises(TrustError, match="model.fastai") as err:
        saveur_fastai.load_model(tabular_dir)
    assert "trust_code=True" in str(err.value)
    with pytest.raises(TrustError, match="model.fastai"):
        saveur.pyfunc.load_model(tabular_dir)


def test_unknown_load_option_is_refused_by_name(tabular_dir):
    with pytest.raises(PluginError, match="colour_mode"):
        saveur.load_model(tabular_dir, trust_code=True, colour_mode="rgb")


def test_a_device_that_is_not_a_torch_device_is_refused(tabular_dir):
    with pytest.raises(PluginError, match="'toaster'"):
        saveur_fastai.load_model(tabular_dir, trust_code=True, device="toaster")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_a_bad_batch_size_is_refused(tabular_dir, bad):
    with pytest.raises(PluginError, match="batch_size"):
        saveur.pyfunc.load_model(tabular_dir, trust_code=True, batch_size=bad)


def test_an_mlmodel_without_a_data_file_name_is_refused(tmp_path):
    from saveur.hookspecs import LoadContext

    context = LoadContext(model_dir=tmp_path, mlmodel=None, trust_code=True)
    with pytest.raises(PluginError, match="'data'"):
        saveur_fastai.saveur_load_model(flavor="fastai", flavor_conf={}, context=context)


def test_a_data_path_escaping_the_model_directory_is_refused(tmp_path):
    from saveur.errors import UnsafePathError
    from saveur.hookspecs import LoadContext

    context = LoadContext(model_dir=tmp_path, mlmodel=None, trust_code=True)
    with pytest.raises(UnsafePathError):
        saveur_fastai.saveur_load_model(
            flavor="fastai", flavor_conf={"data": "../elsewhere/model.fastai"}, context=context
        )


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine"
)
def test_cuda_device_predicts_like_cpu(tabular_dir, tabular_input):
    cpu = saveur.pyfunc.load_model(tabular_dir, trust_code=True).predict(tabular_input)
    gpu = saveur.pyfunc.load_model(tabular_dir, trust_code=True, device="cuda")
    np.testing.assert_allclose(
        gpu.predict(tabular_input)[["high", "low"]].to_numpy(),
        cpu[["high", "low"]].to_numpy(), rtol=1e-5,
    )


# --- the writer decides the output shape -------------------------------------------------


def test_a_model_naming_mlflow_fastai_answers_in_mlflow2_shape(tabular_dir, tabular_input):
    # MLmodel is not among the digested files: rewriting its loader module is how an MLflow 2
    # model looks to the loader.
    mlmodel = Model.load(tabular_dir)
    mlmodel.flavors["python_function"]["loader_module"] = "mlflow.fastai"
    mlmodel.save(tabular_dir / "MLmodel")
    out = saveur.pyfunc.load_model(tabular_dir, trust_code=True).predict(tabular_input)
    assert list(out.columns) == ["predictions"]
    learn = saveur_fastai.load_model(tabular_dir, trust_code=True)
    np.testing.assert_array_equal(
        np.stack(out["predictions"].to_numpy()),
        fastai_learners.raw_probabilities(learn, tabular_input),
    )


# --- import cost -------------------------------------------------------------------------


def test_discovery_imports_neither_fastai_nor_torch():
    code = (
        "import sys, saveur.plugins as p; "
        "assert 'fastai' in p.get_plugins().flavors; "
        "print(sorted(m for m in ('fastai', 'torch', 'torchvision') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- other output shapes -----------------------------------------------------------------


def test_tabular_regressor_answers_one_column_per_target(tmp_path):
    learn = fastai_learners.tabular_regressor()
    rows = fastai_learners.tabular_input()[["x1", "x2"]]
    saveur_fastai.save_model(learn, tmp_path / "m", input_example=rows)
    out = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True).predict(rows)
    assert list(out.columns) == ["target"]
    np.testing.assert_array_equal(
        out["target"].to_numpy(), fastai_learners.raw_probabilities(learn, rows)[:, 0]
    )


def test_class_columns_that_would_collide_get_a_prefix():
    from saveur_fastai._predict import _probability_columns

    assert _probability_columns(["cat", "dog"]) == ["cat", "dog"]
    assert _probability_columns(["prediction", "other"]) == [
        "probability_0_prediction", "probability_1_other"
    ]
    assert _probability_columns([1, "1"]) == ["probability_0_1", "probability_1_1"]


def test_a_multi_target_vocabulary_has_no_class_order():
    from types import SimpleNamespace

    from saveur_fastai._predict import class_names

    learn = SimpleNamespace(dls=SimpleNamespace(vocab=[["a", "b"], ["c", "d"]]))
    assert class_names(learn) is None
    assert class_names(SimpleNamespace(dls=SimpleNamespace(vocab=["a", "b"]))) == ["a", "b"]


def test_concurrent_predicts_answer_like_sequential_ones(tabular_dir, tabular_input):
    from concurrent.futures import ThreadPoolExecutor

    model = saveur.pyfunc.load_model(tabular_dir, trust_code=True)
    inputs = [tabular_input.iloc[i:] for i in range(6)]
    sequential = [model.predict(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(model.predict, inputs))
    for got, want in zip(concurrent, sequential, strict=True):
        pd.testing.assert_frame_equal(got, want)


# --- MLflow's loader entry ---------------------------------------------------------------


def test_mlflow_loader_entry_loads_with_the_deployers_trust(tabular_dir, tabular_input,
                                                           monkeypatch):
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    # MLflow passes the 'data' file of python_function.
    model = saveur_fastai._load_pyfunc(str(tabular_dir / "model.fastai"))
    expected = saveur.pyfunc.load_model(tabular_dir, trust_code=True).predict(tabular_input)
    pd.testing.assert_frame_equal(model.predict(tabular_input, params=None), expected)


def test_mlflow_loader_entry_without_trust_is_refused(tabular_dir, monkeypatch):
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
    with pytest.raises(TrustError, match="model.fastai"):
        saveur_fastai._load_pyfunc(str(tabular_dir / "model.fastai"))
