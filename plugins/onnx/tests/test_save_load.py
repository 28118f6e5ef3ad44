"""Saving and loading ONNX models: the flavor config, the derived signature, external data,
the graph checker, sources, options and providers."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import linear, run_session, two_in_two_out, xy

import saveur
import saveur.pyfunc
import saveur_onnx
from saveur.errors import MissingDependencyError, PluginError, SaveError
from saveur.models import Model
from saveur.testing import block_modules


def test_detect_claims_model_proto_without_importing_onnx(logreg_onnx):
    import onnx

    claim = saveur_onnx.saveur_detect_flavor(logreg_onnx)
    assert (claim.flavor, claim.matched) == ("onnx", onnx.ModelProto)
    assert saveur_onnx.saveur_detect_flavor(object()) is None
    assert saveur_onnx.saveur_detect_flavor("model.onnx") is None


def test_flavor_conf_has_mlflow_keys_and_explicit_cpu_provider(tmp_path, logreg_onnx):
    import onnx

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    flavors = Model.load(tmp_path / "m").flavors
    assert flavors["onnx"] == {
        "onnx_version": onnx.__version__, "data": "model.onnx",
        "providers": ["CPUExecutionProvider"], "onnx_session_options": None, "code": None,
    }
    assert flavors["python_function"]["loader_module"] == "mlflow.onnx"
    assert flavors["python_function"]["data"] == "model.onnx"


def test_sklearn_round_trip_within_1e_5(tmp_path, logreg, logreg_onnx):
    X = xy(20, seed=3)[0]
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    out = saveur.pyfunc.load_model(tmp_path / "m").predict(X)
    np.testing.assert_allclose(out["probabilities"], logreg.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(out["label"], logreg.predict(X))


def test_torch_round_trip_within_1e_5_with_a_dynamic_batch(tmp_path, mlp, mlp_onnx):
    import torch

    saveur_onnx.save_model(mlp_onnx, tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m")
    for rows in (1, 7):
        X = xy(rows, seed=rows)[0]
        with torch.no_grad():
            expected = mlp(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(model.predict(X)["logits"], expected, atol=1e-5)


def test_signature_is_derived_from_the_graph(tmp_path):
    saveur_onnx.save_model(two_in_two_out(), tmp_path / "m")
    sig = Model.load(tmp_path / "m").signature
    assert [(s.name, s.type.name, s.shape) for s in sig.inputs.inputs] == [
        ("a", "float32", (-1, 2)), ("b", "int64", (-1, 1))]
    assert [(s.name, s.type.name, s.shape) for s in sig.outputs.inputs] == [
        ("total", "float32", (-1,)), ("doubled", "int64", (-1, 1))]


def test_single_input_signature_is_unnamed_so_arrays_and_frames_fit(tmp_path, logreg_onnx):
    import pandas as pd

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    spec = Model.load(tmp_path / "m").signature.inputs.inputs[0]
    assert (spec.name, spec.type.name, spec.shape) == (None, "float32", (-1, 4))
    model = saveur.pyfunc.load_model(tmp_path / "m")
    X = xy(5, seed=2)[0]
    frame = model.predict(pd.DataFrame(X, columns=list("abcd")))
    np.testing.assert_array_equal(frame["label"], model.predict(X)["label"])


def test_given_signature_wins_over_the_graph(tmp_path, logreg_onnx):
    from saveur.signature import infer_signature

    X = xy(5)[0]
    sig = infer_signature(X.astype(np.float64))
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m", signature=sig)
    assert Model.load(tmp_path / "m").signature == sig


def test_small_tensors_stay_inline_large_ones_go_to_the_sidecar(tmp_path, logreg_onnx):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "small")
    assert not (tmp_path / "small" / "model.onnx.data").exists()
    saveur_onnx.save_model(linear(), tmp_path / "big")
    digests = Model.load(tmp_path / "big").digests
    assert {"model.onnx", "model.onnx.data"} <= set(digests)
    X = np.random.RandomState(1).randn(2, 300).astype(np.float32)
    out = saveur.pyfunc.load_model(tmp_path / "big").predict(X)
    np.testing.assert_allclose(out["y"], run_session(linear(), X)["y"], rtol=1e-6)
    loaded = saveur_onnx.load_model(tmp_path / "big")
    np.testing.assert_allclose(run_session(loaded, X)["y"], out["y"], rtol=1e-6)


def test_save_as_external_data_false_keeps_one_file(tmp_path):
    saveur_onnx.save_model(linear(), tmp_path / "m", save_as_external_data=False)
    assert sorted(p.name for p in (tmp_path / "m").iterdir() if p.suffix in (".onnx", ".data")) \
        == ["model.onnx"]


def test_tampered_sidecar_is_refused(tmp_path):
    from saveur.errors import IntegrityError

    saveur_onnx.save_model(linear(), tmp_path / "m")
    with open(tmp_path / "m" / "model.onnx.data", "r+b") as f:
        f.write(b"\x7f")
    with pytest.raises(IntegrityError, match="model.onnx.data"):
        saveur.pyfunc.load_model(tmp_path / "m")


def test_saving_a_path_keeps_the_torch_sidecar(tmp_path, mlp):
    """The dynamo exporter writes <name>.onnx and <name>.onnx.data; both are kept."""
    import torch

    big = torch.nn.Linear(64, 8).eval()
    program = torch.onnx.export(big, (torch.zeros(2, 64),), dynamo=True,
                                dynamic_shapes=({0: torch.export.Dim("batch")},))
    src = tmp_path / "src"
    src.mkdir()
    program.save(str(src / "net.onnx"), external_data=True)
    assert (src / "net.onnx.data").is_file()
    saveur_onnx.save_model(src / "net.onnx", tmp_path / "m")
    assert (tmp_path / "m" / "model.onnx.data").is_file()
    X = np.random.RandomState(0).randn(3, 64).astype(np.float32)
    out = next(iter(saveur.pyfunc.load_model(tmp_path / "m").predict(X).values()))
    with torch.no_grad():
        np.testing.assert_allclose(out, big(torch.from_numpy(X)).numpy(), atol=1e-5)


def test_proto_with_unloaded_external_data_is_refused(tmp_path):
    import onnx

    onnx.save_model(linear(), str(tmp_path / "x.onnx"), save_as_external_data=True,
                    location="x.onnx.data")
    partial = onnx.load(str(tmp_path / "x.onnx"), load_external_data=False)
    with pytest.raises(SaveError, match="external data it has not loaded.*'W'"):
        saveur_onnx.save_model(partial, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_checker_failure_is_a_clear_save_error(tmp_path):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    bad = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["nowhere"], ["y"])], "g", [x], [y]))
    with pytest.raises(SaveError, match="fails onnx.checker"):
        saveur_onnx.save_model(bad, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_not_onnx_is_refused_by_type(tmp_path):
    with pytest.raises(SaveError, match="onnx.ModelProto or a path.*got dict"):
        saveur.save_model({}, tmp_path / "m", flavor="onnx")


def test_missing_source_file_is_refused(tmp_path):
    with pytest.raises(SaveError, match="nope.onnx.*does not exist"):
        saveur_onnx.save_model(tmp_path / "nope.onnx", tmp_path / "m")


def test_garbage_source_file_is_refused(tmp_path):
    from saveur.errors import IntegrityError

    (tmp_path / "junk.onnx").write_bytes(b"\xff\x00not a protobuf")
    with pytest.raises(IntegrityError, match="junk.onnx.*not a valid ONNX file"):
        saveur_onnx.save_model(tmp_path / "junk.onnx", tmp_path / "m")


@pytest.mark.parametrize(("options", "match"), [
    ({"onnx_execution_providers": ["CUDA"]}, "'CUDA' is not an onnxruntime execution provider"),
    ({"onnx_execution_providers": []}, "providers must be a non-empty list"),
    ({"onnx_execution_providers": [("CUDAExecutionProvider", 3)]}, "name or a \\(name, options"),
    ({"onnx_session_options": {"threads": 2}}, "unknown onnx_session_options key.*threads"),
    ({"onnx_session_options": {"intra_op_num_threads": -1}}, "'intra_op_num_threads'.*>= 0"),
    ({"onnx_session_options": {"execution_mode": "fast"}}, "'execution_mode'.*'sequential'"),
    ({"onnx_session_options": []}, "onnx_session_options must be a dict"),
    ({"save_as_external_data": "yes"}, "save_as_external_data must be True or False"),
    ({"zipmap": False}, "unknown save option.*zipmap"),
])
def test_bad_save_options_are_refused_by_name(tmp_path, logreg_onnx, options, match):
    with pytest.raises(SaveError, match=match):
        saveur.save_model(logreg_onnx, tmp_path / "m", **options)
    assert not (tmp_path / "m").exists()


def test_session_options_are_recorded_and_applied(tmp_path, logreg_onnx, monkeypatch):
    import onnxruntime as ort

    opts = {"intra_op_num_threads": 1, "execution_mode": "sequential",
            "graph_optimization_level": 1}
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m", onnx_session_options=opts)
    assert Model.load(tmp_path / "m").flavors["onnx"]["onnx_session_options"] == opts
    seen = {}
    real = ort.InferenceSession

    def spy(source, sess_options=None, providers=None):
        seen["so"], seen["providers"] = sess_options, providers
        return real(source, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    saveur.pyfunc.load_model(tmp_path / "m")
    assert seen["so"].intra_op_num_threads == 1
    assert seen["so"].graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert seen["providers"] == ["CPUExecutionProvider"]
    # Load options override what the model recorded.
    saveur.pyfunc.load_model(tmp_path / "m", onnx_session_options={"intra_op_num_threads": 2})
    assert seen["so"].intra_op_num_threads == 2


def test_unavailable_provider_falls_back_to_cpu_with_a_warning(tmp_path, logreg_onnx, caplog):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m",
                           onnx_execution_providers=["TensorrtExecutionProvider",
                                                     "CPUExecutionProvider"])
    with caplog.at_level("WARNING", logger="saveur_onnx._session"):
        model = saveur.pyfunc.load_model(tmp_path / "m")
    assert "TensorrtExecutionProvider" in caplog.text
    assert model.predict(xy(2)[0])["label"].shape == (2,)


def test_bad_load_options_are_refused(tmp_path, logreg_onnx):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    with pytest.raises(PluginError, match="unknown load option.*trusted_types"):
        saveur.pyfunc.load_model(tmp_path / "m", trusted_types=["x"])
    with pytest.raises(PluginError, match="providers must be a non-empty list"):
        saveur.pyfunc.load_model(tmp_path / "m", providers=[])


def _has_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.skipif(not _has_cuda(), reason="no CUDA: this onnxruntime build has no "
                    "CUDAExecutionProvider (install onnxruntime-gpu on a GPU machine)")
def test_cuda_is_used_when_asked_and_available(tmp_path, logreg_onnx, monkeypatch):
    import onnxruntime as ort

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    sessions = []
    real = ort.InferenceSession
    monkeypatch.setattr(ort, "InferenceSession",
                        lambda *a, **k: sessions.append(real(*a, **k)) or sessions[-1])
    saveur.pyfunc.load_model(tmp_path / "m", providers=["CUDAExecutionProvider",
                                                        "CPUExecutionProvider"])
    assert sessions[-1].get_providers()[0] == "CUDAExecutionProvider"


def test_native_load_returns_the_model_proto(tmp_path, logreg_onnx):
    import onnx

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    loaded = saveur_onnx.load_model(tmp_path / "m")
    assert isinstance(loaded, onnx.ModelProto)
    assert loaded.graph == logreg_onnx.graph


def test_load_pyfunc_entry_predicts(tmp_path, logreg_onnx):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    X = xy(3)[0]
    wrapper = saveur_onnx._load_pyfunc(str(tmp_path / "m" / "model.onnx"))
    np.testing.assert_array_equal(wrapper.predict(X)["label"],
                                  run_session(logreg_onnx, X)["label"])


def test_converters_name_what_to_install(monkeypatch, logreg):
    block_modules(monkeypatch, ("skl2onnx",))
    with pytest.raises(MissingDependencyError, match="pip install skl2onnx"):
        saveur_onnx.from_sklearn(logreg, xy(1)[0])
    block_modules(monkeypatch, ("onnxscript",))
    with pytest.raises(MissingDependencyError, match="pip install torch onnxscript"):
        saveur_onnx.from_torch(object(), None)


def test_unconvertible_estimator_is_a_save_error():
    from sklearn.base import BaseEstimator

    class Odd(BaseEstimator):
        def predict(self, X):
            return X

    with pytest.raises(SaveError, match="skl2onnx cannot convert Odd"):
        saveur_onnx.from_sklearn(Odd(), xy(1)[0])


def test_requirements_pin_the_runtime_and_no_saveur_plugin(tmp_path, logreg_onnx):
    from importlib.metadata import version

    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert f"onnxruntime=={version('onnxruntime').split('+')[0]}" in reqs
    assert f"onnx=={version('onnx')}" in reqs
    assert not any(r.startswith("saveur-onnx") for r in reqs)


def test_input_example_signature_wins_over_the_graph(tmp_path, logreg_onnx):
    import pandas as pd

    frame = pd.DataFrame(xy(3)[0], columns=list("abcd"))
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m", input_example=frame)
    sig = Model.load(tmp_path / "m").signature
    assert not sig.inputs.is_tensor_spec()
    assert sig.inputs.input_names() == list("abcd")
    assert sig.outputs.input_names() == ["label", "probabilities"]  # the model ran on it
    # The columns are float32 like the graph's input: the frame predicts through pyfunc.
    out = saveur.pyfunc.load_model(tmp_path / "m").predict(frame)
    np.testing.assert_allclose(out["probabilities"],
                               run_session(logreg_onnx, frame.to_numpy())["probabilities"])


def test_saving_a_path_with_an_input_example_infers_the_outputs(tmp_path, logreg_onnx):
    import onnx

    onnx.save_model(logreg_onnx, str(tmp_path / "clf.onnx"))
    saveur_onnx.save_model(tmp_path / "clf.onnx", tmp_path / "m", input_example=xy(2)[0])
    sig = Model.load(tmp_path / "m").signature
    assert sig.outputs is not None
    assert sig.outputs.input_names() == ["label", "probabilities"]


def test_log_model_logs_to_a_run(tmp_path, logreg_onnx, monkeypatch):
    monkeypatch.setenv("SAVEUR_STORE_URI", str(tmp_path / "store"))
    info = saveur_onnx.log_model(logreg_onnx, "model")
    assert saveur_onnx.load_model(info.model_uri).graph == logreg_onnx.graph
    X = xy(2)[0]
    np.testing.assert_array_equal(saveur.pyfunc.load_model(info.model_uri).predict(X)["label"],
                                  run_session(logreg_onnx, X)["label"])


def test_load_pyfunc_wrapper_exposes_the_model_proto(tmp_path, logreg_onnx):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    wrapper = saveur_onnx._load_pyfunc(str(tmp_path / "m"))
    assert wrapper.get_raw_model().graph == logreg_onnx.graph
