"""Each format round-trips; inputs, outputs, devices and the error paths of save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch_models import (
    MLP,
    DataDependent,
    Tied,
    TinyImageNet,
    TwoInputs,
    TwoOutputs,
    WithNonPersistentBuffer,
    trained,
)

import saveur
import saveur.pyfunc
import saveur_torch
from saveur.errors import PluginError, SaveError, SchemaError, TrustError
from saveur.models import Model
from saveur.signature import ModelSignature
from saveur.types import Schema, TensorSpec

FORMATS = ["export", "state_dict", "pickle"]


def _save(module, path, fmt, example, **kwargs):
    if fmt == "state_dict" and isinstance(module, MLP):
        kwargs.setdefault("init_kwargs", {"n_in": module.net[0].in_features,
                                          "hidden": module.net[0].out_features})
    return saveur_torch.save_model(module, path, serialization_format=fmt,
                                   input_example=example, **kwargs)


def _load_options(fmt):
    return {"trust_code": True} if fmt == "pickle" else {}


def _forward(module, *arrays):
    with torch.no_grad():
        return module(*(torch.from_numpy(a) for a in arrays))


@pytest.mark.parametrize("fmt", FORMATS)
def test_mlp_round_trip_predicts_on_more_rows_than_the_one_row_example(tmp_path, fmt):
    model = trained(MLP())
    one_row = np.random.RandomState(0).randn(1, 20).astype(np.float32)
    _save(model, tmp_path / "m", fmt, one_row)
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", **_load_options(fmt))
    many = np.random.RandomState(1).randn(7, 20).astype(np.float32)
    out = pyfunc_model.predict(many)
    assert isinstance(out, np.ndarray) and out.shape == (7, 2)
    np.testing.assert_allclose(out, _forward(model, many).numpy(), rtol=1e-5, atol=1e-6)
    native = saveur_torch.load_model(tmp_path / "m", **_load_options(fmt))
    np.testing.assert_allclose(_forward(native, many).numpy(), out, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_uint8_image_model_with_a_tensor_signature(tmp_path, fmt):
    model = trained(TinyImageNet())
    images = np.random.RandomState(0).randint(0, 256, size=(2, 8, 8, 3)).astype(np.uint8)
    signature = ModelSignature(inputs=Schema([TensorSpec(np.dtype("uint8"), (-1, 8, 8, 3))]))
    _save(model, tmp_path / "m", fmt, images, signature=signature)
    mlmodel = Model.load(tmp_path / "m")
    assert list(mlmodel.signature.inputs.inputs[0].shape) == [-1, 8, 8, 3]
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", **_load_options(fmt))
    batch = np.random.RandomState(1).randint(0, 256, size=(5, 8, 8, 3)).astype(np.uint8)
    np.testing.assert_allclose(pyfunc_model.predict(batch), _forward(model, batch).numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(SchemaError):
        pyfunc_model.predict(batch.astype(np.float32))  # float into uint8: not a safe cast
    with pytest.raises(SchemaError):
        pyfunc_model.predict(batch[:, :4])  # wrong height


@pytest.mark.parametrize("fmt", FORMATS)
def test_named_tensor_inputs_from_a_dict_in_any_order(tmp_path, fmt):
    model = trained(TwoInputs())
    rng = np.random.RandomState(0)
    example = {"numbers": rng.randn(1, 3).astype(np.float32),
               "extra": rng.randn(1, 4).astype(np.float32)}
    _save(model, tmp_path / "m", fmt, example)
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", **_load_options(fmt))
    numbers, extra = rng.randn(6, 3).astype(np.float32), rng.randn(6, 4).astype(np.float32)
    out = pyfunc_model.predict({"extra": extra, "numbers": numbers})  # order does not matter
    np.testing.assert_allclose(out, _forward(model, numbers, extra).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_a_nested_list_example_is_one_input_and_a_tuple_is_one_per_argument(tmp_path):
    model = trained(MLP(n_in=2, hidden=4))
    saveur_torch.save_model(model, tmp_path / "list", example_inputs=[[1.0, 2.0], [3.0, 4.0]])
    two = trained(TwoInputs())
    rng = np.random.RandomState(0)
    numbers, extra = rng.randn(2, 3).astype(np.float32), rng.randn(2, 4).astype(np.float32)
    saveur_torch.save_model(two, tmp_path / "tuple", example_inputs=(numbers, extra))
    out = saveur.pyfunc.load_model(tmp_path / "tuple").predict({"numbers": numbers,
                                                                "extra": extra})
    np.testing.assert_allclose(out, _forward(two, numbers, extra).numpy(), rtol=1e-5, atol=1e-6)
    x = np.ones((5, 2), dtype=np.float32)
    np.testing.assert_allclose(saveur.pyfunc.load_model(tmp_path / "list").predict(x),
                               _forward(model, x).numpy(), rtol=1e-5, atol=1e-6)


def test_dataframe_input_becomes_a_float_tensor(tmp_path):
    model = trained(MLP(n_in=3, hidden=4))
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4], "c": [0.5, -1.0]})
    saveur_torch.save_model(model, tmp_path / "m", input_example=frame)
    out = saveur.pyfunc.load_model(tmp_path / "m").predict(frame)
    expected = _forward(model, frame.to_numpy(dtype=np.float32)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_dataframe_with_a_text_column_is_refused_by_name(tmp_path):
    model = trained(MLP(n_in=2, hidden=4))
    saveur_torch.save_model(model, tmp_path / "m",
                            input_example=np.zeros((1, 2), dtype=np.float32))
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m")  # tensor signature: no columns
    predict = saveur.pyfunc.load_model(tmp_path / "m")._predict_fn  # the flavor's own path
    with pytest.raises(SchemaError, match="'name'"):
        predict(pd.DataFrame({"x": [1.0], "name": ["a"]}), None)
    assert pyfunc_model.predict(np.ones((3, 2), dtype=np.float32)).shape == (3, 2)


def test_float64_input_reaches_float32_weights_as_float32(tmp_path):
    model = trained(MLP(n_in=4, hidden=4))
    saveur_torch.save_model(model, tmp_path / "m", serialization_format="pickle")
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", trust_code=True)  # no signature
    data = np.random.RandomState(0).randn(3, 4)
    out = pyfunc_model.predict(data)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _forward(model, data.astype(np.float32)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_outputs_come_back_as_a_dict_of_arrays(tmp_path, fmt):
    model = trained(TwoOutputs())
    x = np.random.RandomState(0).randn(3, 5).astype(np.float32)
    _save(model, tmp_path / "m", fmt, None if fmt != "export" else x)
    out = saveur.pyfunc.load_model(tmp_path / "m", **_load_options(fmt)).predict(x)
    first, second = _forward(model, x)
    assert sorted(out) == ["output_0", "output_1"]
    np.testing.assert_allclose(out["output_0"], first.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["output_1"], second.numpy(), rtol=1e-5, atol=1e-6)


def test_pyfunc_runs_in_eval_mode_and_leaves_the_callers_module_alone(tmp_path):
    model = trained(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.9))).train()
    x = np.ones((2, 4), dtype=np.float32)
    saveur_torch.save_model(model, tmp_path / "m", input_example=x)
    assert model.training, "saving switched the caller's module to eval mode"
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m")
    first, second = pyfunc_model.predict(x), pyfunc_model.predict(x)
    np.testing.assert_array_equal(first, second)  # no dropout at predict
    model.eval()
    np.testing.assert_allclose(first, _forward(model, x).numpy(), rtol=1e-6)


def test_auto_detection_saves_a_module_through_the_host(tmp_path):
    model = trained(MLP(n_in=3, hidden=4))
    x = np.zeros((1, 3), dtype=np.float32)
    saveur.save_model(model, tmp_path / "m", input_example=x)
    mlmodel = Model.load(tmp_path / "m")
    assert "pytorch" in mlmodel.flavors
    assert mlmodel.flavors["python_function"]["loader_module"] == "mlflow.pytorch"
    assert (tmp_path / "m" / "data" / "model.pt2").is_file()


def test_an_exported_program_is_saved_as_is(tmp_path):
    model = trained(MLP(n_in=3, hidden=4))
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (torch.zeros(2, 3),), dynamic_shapes=({0: batch},))
    saveur.save_model(program, tmp_path / "m")
    x = np.random.RandomState(0).randn(4, 3).astype(np.float32)
    out = saveur.pyfunc.load_model(tmp_path / "m").predict(x)
    np.testing.assert_allclose(out, _forward(model, x).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(SaveError, match="only with serialization_format='export'"):
        saveur_torch.save_model(program, tmp_path / "sd", serialization_format="state_dict")


def test_tied_weights_round_trip_through_safetensors(tmp_path):
    model = trained(Tied())
    saveur_torch.save_model(model, tmp_path / "m", serialization_format="state_dict")
    loaded = saveur_torch.load_model(tmp_path / "m")
    assert loaded.a.weight is loaded.b.weight
    x = np.random.RandomState(0).randn(2, 4).astype(np.float32)
    np.testing.assert_allclose(_forward(loaded, x).numpy(), _forward(model, x).numpy())


def test_state_dict_with_a_non_persistent_buffer_is_rebuilt_with_it(tmp_path):
    model = trained(WithNonPersistentBuffer())
    saveur_torch.save_model(model, tmp_path / "m", serialization_format="state_dict")
    loaded = saveur_torch.load_model(tmp_path / "m")
    assert not any(t.is_meta for t in loaded.buffers())
    x = np.random.RandomState(0).randn(2, 3).astype(np.float32)
    np.testing.assert_allclose(_forward(loaded, x).numpy(), _forward(model, x).numpy())


# --- save errors ------------------------------------------------------------------------


def test_export_failure_names_the_cause_and_suggests_state_dict(tmp_path):
    with pytest.raises(SaveError, match="state_dict") as info:
        saveur_torch.save_model(trained(DataDependent()), tmp_path / "m",
                                input_example=np.ones((2, 4), dtype=np.float32))
    assert "DataDependent" in str(info.value)
    assert not (tmp_path / "m").exists()
    saveur_torch.save_model(trained(DataDependent()), tmp_path / "sd",
                            serialization_format="state_dict")


def test_export_without_an_example_says_what_to_pass(tmp_path):
    with pytest.raises(SaveError, match="input_example"):
        saveur_torch.save_model(trained(MLP()), tmp_path / "m")


def test_unknown_serialization_format_is_refused(tmp_path):
    with pytest.raises(SaveError, match="'torchscript'"):
        saveur_torch.save_model(trained(MLP()), tmp_path / "m",
                                serialization_format="torchscript")


def test_state_dict_without_the_constructor_arguments_fails_at_save(tmp_path):
    with pytest.raises(SaveError, match="init_kwargs"):
        saveur_torch.save_model(trained(MLP(n_in=3, hidden=5)), tmp_path / "m",
                                serialization_format="state_dict")
    assert not (tmp_path / "m").exists()


def test_state_dict_of_a_local_class_is_refused_at_save(tmp_path):
    class Local(torch.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(SaveError, match="importable module"):
        saveur_torch.save_model(Local(), tmp_path / "m", serialization_format="state_dict")


def test_init_kwargs_must_be_json_values(tmp_path):
    with pytest.raises(SaveError, match=r"init_kwargs\['act'\]"):
        saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="state_dict",
                                init_kwargs={"act": torch.nn.ReLU()})


def test_init_kwargs_with_another_format_is_refused(tmp_path):
    with pytest.raises(SaveError, match="init_kwargs"):
        saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="pickle",
                                init_kwargs={"n_in": 20})


def test_an_object_that_is_not_a_module_is_refused(tmp_path):
    with pytest.raises(SaveError, match="torch.nn.Module"):
        saveur.save_model({"weights": 1}, tmp_path / "m", flavor="pytorch")


def test_detection_ignores_lookalikes_that_are_not_modules():
    class Learner:  # a fastai Learner wraps a module but is not one
        model = torch.nn.Linear(2, 2)

    assert saveur_torch.saveur_detect_flavor(model=Learner()) is None
    claim = saveur_torch.saveur_detect_flavor(model=torch.nn.Linear(2, 2))
    assert (claim.flavor, claim.matched) == ("pytorch", torch.nn.Module)


# --- load errors ------------------------------------------------------------------------


def test_pickle_without_trust_is_refused_before_unpickling(tmp_path):
    saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="pickle")
    with pytest.raises(TrustError, match="model.pth"):
        saveur_torch.load_model(tmp_path / "m")
    with pytest.raises(TrustError, match="model.pth"):
        saveur.pyfunc.load_model(tmp_path / "m")


def test_unknown_load_option_and_bad_device_are_refused(tmp_path):
    saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="state_dict",
                            init_kwargs={})
    with pytest.raises(PluginError, match="colour"):
        saveur.load_model(tmp_path / "m", colour="red")
    with pytest.raises(PluginError, match="'tpu'"):
        saveur_torch.load_model(tmp_path / "m", device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: cuda loads there")
def test_cuda_without_a_gpu_says_so(tmp_path):
    saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="state_dict",
                            init_kwargs={})
    with pytest.raises(PluginError, match="cuda"):
        saveur_torch.load_model(tmp_path / "m", device="cuda")


def test_state_dict_class_must_be_a_module(tmp_path):
    saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="state_dict",
                            init_kwargs={})
    _edit_flavor(tmp_path / "m", module_class="numpy:ndarray")
    with pytest.raises(TrustError, match="not a torch.nn.Module"):
        saveur_torch.load_model(tmp_path / "m")
    _edit_flavor(tmp_path / "m", module_class="os:system")
    with pytest.raises(TrustError, match="standard library"):
        saveur_torch.load_model(tmp_path / "m")


def test_state_dict_class_from_inside_the_model_needs_trust(tmp_path, monkeypatch):
    model_dir = tmp_path / "m"
    saveur_torch.save_model(trained(MLP()), model_dir, serialization_format="state_dict",
                            init_kwargs={})
    marker = tmp_path / "imported"
    (model_dir / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    _edit_flavor(model_dir, module_class="evil_mod:Net")
    monkeypatch.syspath_prepend(str(model_dir))  # a REPL started in the model directory
    with pytest.raises(TrustError, match="inside the model directory"):
        saveur.load_model(model_dir, verify=False)
    assert not marker.exists()


def _edit_flavor(model_dir: Path, **changes) -> None:
    import yaml

    from saveur.saving import reseal

    text = yaml.safe_load((model_dir / "MLmodel").read_text())
    text["flavors"]["pytorch"].update(changes)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(text))
    reseal(model_dir)


# --- devices ----------------------------------------------------------------------------

_NO_GPU = "no CUDA device here (torch.cuda.is_available() is False)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason=_NO_GPU)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_predict_on_cuda_matches_the_cpu(tmp_path, fmt, device):
    model = trained(MLP())
    x = np.random.RandomState(0).randn(4, 20).astype(np.float32)
    _save(model, tmp_path / "m", fmt, x)
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m", device=device, **_load_options(fmt))
    out = pyfunc_model.predict(x)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, _forward(model, x).numpy(), rtol=1e-4, atol=1e-5)
    native = saveur_torch.load_model(tmp_path / "m", device=device, **_load_options(fmt))
    assert next(native.parameters()).device.type == "cuda"


def test_cpu_is_the_default_device(tmp_path):
    saveur_torch.save_model(trained(MLP()), tmp_path / "m", serialization_format="state_dict",
                            init_kwargs={})
    assert next(saveur_torch.load_model(tmp_path / "m").parameters()).device.type == "cpu"


def test_state_dict_class_shipped_in_code_paths_loads_with_trust(tmp_path, monkeypatch):
    import sys
    import textwrap

    src = tmp_path / "src" / "shipped_net.py"
    src.parent.mkdir()
    src.write_text(textwrap.dedent("""
        import torch

        class ShippedNet(torch.nn.Module):
            def __init__(self, width=3):
                super().__init__()
                self.lin = torch.nn.Linear(width, 2)

            def forward(self, x):
                return self.lin(x)
    """))
    monkeypatch.syspath_prepend(str(src.parent))
    import shipped_net

    model = trained(shipped_net.ShippedNet(width=4))
    saveur_torch.save_model(model, tmp_path / "m", serialization_format="state_dict",
                            init_kwargs={"width": 4}, code_paths=[str(src)])
    # From now on only the model's code/ folder provides the class.
    monkeypatch.delitem(sys.modules, "shipped_net")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(src.parent)])
    with pytest.raises(TrustError, match="code"):
        saveur_torch.load_model(tmp_path / "m")
    loaded = saveur_torch.load_model(tmp_path / "m", trust_code=True)
    x = np.random.RandomState(0).randn(2, 4).astype(np.float32)
    np.testing.assert_allclose(_forward(loaded, x).numpy(), _forward(model, x).numpy())
