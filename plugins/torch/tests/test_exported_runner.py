"""The direct run of an exported program's graph (``_predict.exported_runner``).

It must compute what ``ExportedProgram.module()`` computes, keep torch's input checks (number,
rank, static sizes, dynamic sizes unified and in range) and leave the loaded module alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_models import MLP, TwoInputs, TwoOutputs, trained

import saveur.pyfunc
import saveur_torch
from saveur.errors import SchemaError
from saveur_torch._predict import build_predict, exported_runner


def _exported(model, path, example, **kwargs):
    saveur_torch.save_model(model, path, input_example=example, **kwargs)
    return saveur_torch.load_model(path)


def _reference(module, *arrays):
    with torch.no_grad():
        return module(*(torch.from_numpy(a) for a in arrays))


def test_runner_matches_the_programs_module_on_any_batch_size(tmp_path):
    model = trained(MLP())
    module = _exported(model, tmp_path / "m", np.zeros((1, 20), np.float32))
    run = exported_runner(module)
    assert run is not None
    for rows in (1, 2, 9):
        x = np.random.RandomState(rows).randn(rows, 20).astype(np.float32)
        with torch.inference_mode():
            got = run((torch.from_numpy(x),))
        assert torch.equal(got, _reference(module, x))
        np.testing.assert_allclose(got.numpy(), _reference(model, x).numpy(), rtol=1e-6)


def test_runner_reads_the_modules_weights_not_a_copy(tmp_path):
    module = _exported(trained(MLP()), tmp_path / "m", np.zeros((1, 20), np.float32))
    predict = build_predict(module, "cpu", None)
    x = np.ones((2, 20), np.float32)
    before = predict(x)
    with torch.no_grad():  # an in-place edit of the loaded module's weights
        module.get_parameter("net.2.bias").add_(1.0)
    np.testing.assert_allclose(predict(x), before + 2.0, rtol=1e-6)  # forward scales by 2


def test_pyfunc_leaves_the_loaded_modules_input_checks_on(tmp_path):
    saveur_torch.save_model(
        trained(MLP()), tmp_path / "m", input_example=np.zeros((1, 20), np.float32)
    )
    pyfunc_model = saveur.pyfunc.load_model(tmp_path / "m")
    assert pyfunc_model.get_raw_model().validate_inputs is True


def test_two_named_inputs_and_two_outputs(tmp_path):
    rng = np.random.RandomState(0)
    two_in = trained(TwoInputs())
    module = _exported(
        two_in,
        tmp_path / "in",
        {
            "numbers": rng.randn(1, 3).astype(np.float32),
            "extra": rng.randn(1, 4).astype(np.float32),
        },
    )
    assert exported_runner(module) is not None
    predict = build_predict(module, "cpu", None)
    numbers, extra = rng.randn(5, 3).astype(np.float32), rng.randn(5, 4).astype(np.float32)
    np.testing.assert_array_equal(
        predict({"extra": extra, "numbers": numbers}), _reference(module, numbers, extra).numpy()
    )

    two_out = trained(TwoOutputs())
    module = _exported(two_out, tmp_path / "out", rng.randn(1, 5).astype(np.float32))
    x = rng.randn(4, 5).astype(np.float32)
    out = build_predict(module, "cpu", None)(x)
    first, second = _reference(module, x)
    assert sorted(out) == ["output_0", "output_1"]
    np.testing.assert_array_equal(out["output_0"], first.numpy())
    np.testing.assert_array_equal(out["output_1"], second.numpy())


def test_inputs_whose_batch_sizes_differ_are_refused(tmp_path):
    rng = np.random.RandomState(0)
    module = _exported(
        trained(TwoInputs()),
        tmp_path / "m",
        {
            "numbers": rng.randn(1, 3).astype(np.float32),
            "extra": rng.randn(1, 4).astype(np.float32),
        },
    )
    predict = build_predict(module, "cpu", None)
    with pytest.raises(
        SchemaError,
        match=r"input 'extra' has size 2 in dimension 0, but the "
        r"exported program requires it to equal dimension 0 of input "
        r"'numbers' \(3\)",
    ):
        predict({"numbers": np.zeros((3, 3), np.float32), "extra": np.zeros((2, 4), np.float32)})


def test_a_missing_input_is_refused(tmp_path):
    rng = np.random.RandomState(0)
    module = _exported(
        trained(TwoInputs()),
        tmp_path / "m",
        {
            "numbers": rng.randn(1, 3).astype(np.float32),
            "extra": rng.randn(1, 4).astype(np.float32),
        },
    )
    with pytest.raises(
        SchemaError,
        match=r"the exported program takes 2 input tensor\(s\) "
        r"\(numbers, extra\), got 1",
    ):
        build_predict(module, "cpu", None)({"numbers": np.zeros((3, 3), np.float32)})


def test_wrong_rank_and_wrong_static_size_are_refused(tmp_path):
    module = _exported(trained(MLP()), tmp_path / "m", np.zeros((1, 20), np.float32))
    predict = build_predict(module, "cpu", None)  # no signature: only torch's checks
    with pytest.raises(
        SchemaError,
        match=r"input 'x' has shape \(20,\); the exported program "
        r"expects 2 dimension\(s\) \(s\w+, 20\)",
    ):
        predict(np.zeros(20, np.float32))
    with pytest.raises(
        SchemaError,
        match=r"input 'x' has size 19 in dimension 1; the exported "
        r"program expects 20 \(s\w+, 20\)",
    ):
        predict(np.zeros((3, 19), np.float32))


def test_a_dynamic_size_outside_the_programs_range_is_refused(tmp_path):
    model = trained(MLP()).eval()
    batch = torch.export.Dim("batch", min=3, max=6)
    program = torch.export.export(model, (torch.zeros(4, 20),), dynamic_shapes=({0: batch},))
    saveur_torch.save_model(program, tmp_path / "m")
    predict = build_predict(saveur_torch.load_model(tmp_path / "m"), "cpu", None)
    assert predict(np.zeros((6, 20), np.float32)).shape == (6, 2)
    with pytest.raises(
        SchemaError,
        match=r"input 'x' has size 7 in dimension 0; the exported "
        r"program accepts 3 to 6 there",
    ):
        predict(np.zeros((7, 20), np.float32))
    with pytest.raises(SchemaError, match="program accepts 3 to 6 there"):
        predict(np.zeros((2, 20), np.float32))
    # as torch: a minimum of 2 or less is not checked (sizes 0 and 1 are allowed at run time)
    open_ended = torch.export.export(
        model, (torch.zeros(4, 20),), dynamic_shapes=({0: torch.export.Dim("rows", min=2)},)
    )
    saveur_torch.save_model(open_ended, tmp_path / "open")
    predict = build_predict(saveur_torch.load_model(tmp_path / "open"), "cpu", None)
    assert predict(np.zeros((1, 20), np.float32)).shape == (1, 2)
    assert predict(np.zeros((100, 20), np.float32)).shape == (100, 2)


class _Scaled(torch.nn.Module):
    def forward(self, x: torch.Tensor, *, scale: torch.Tensor) -> torch.Tensor:
        return x * scale


def test_a_program_with_keyword_inputs_is_left_to_its_module():
    program = torch.export.export(
        _Scaled(), (torch.ones(2, 3),), kwargs={"scale": torch.ones(2, 3)}
    )
    assert exported_runner(program.module(check_guards=False)) is None


class _ReportsInferenceMode(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0],), float(torch.is_inference_mode_enabled()))


def test_predict_runs_under_inference_mode():
    predict = build_predict(_ReportsInferenceMode(), "cpu", None)
    np.testing.assert_array_equal(predict(np.zeros((2, 3), np.float32)), [1.0, 1.0])
    assert not torch.is_inference_mode_enabled()  # and leaves it as it was


def test_a_program_with_a_derived_size_is_left_to_its_module():
    model = trained(MLP()).eval()
    half = torch.export.Dim("half", min=1, max=8)
    program = torch.export.export(
        model, (torch.zeros(4, 20),), dynamic_shapes=({0: 2 * half},)
    )  # rows must be even: an expression, not one symbol
    # (the pt2 audit refuses an archive with a size expression without trust: used unsaved)
    module = program.module(check_guards=False)
    assert exported_runner(module) is None
    x = np.random.RandomState(0).randn(6, 20).astype(np.float32)
    np.testing.assert_allclose(
        build_predict(module, "cpu", None)(x), _reference(model, x).numpy(), rtol=1e-5, atol=1e-6
    )
