"""saveur-onnx through the conformance kit: a converted scikit-learn model, a torch MLP, and a
graph with several inputs and outputs."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import run_session, two_in_two_out, xy

from saveur.testing import FlavorConformance, read_requirements, requirement_name


class OnnxFixtures:
    @pytest.fixture
    def flavor_key(self):
        return "onnx"

    @pytest.fixture
    def distribution(self):
        return "saveur-onnx"

    @pytest.fixture
    def native_predict(self):
        return run_session

    @pytest.fixture
    def model_input(self):
        return xy(8, seed=1)[0]


class PortableConformance(OnnxFixtures, FlavorConformance):
    """The kit, with two checks adapted to a model MLflow loads with no saveur installed."""

    def test_requirements_name_the_runtime(self, saved_model):
        # Besides the kit's check (no saveur distribution in a portable model's requirements).
        names = {requirement_name(r) for r in read_requirements(saved_model)}
        assert {"onnx", "onnxruntime", "numpy"} <= names

    def test_pyfunc_without_signature_predicts(
        self, tmp_path, model, model_input, expected_output, save, tolerance
    ):
        # Replaces the kit's check, which expects no signature: an ONNX graph declares its
        # tensors, so saving without one records the signature derived from the graph.
        import saveur.pyfunc
        from saveur.testing import assert_predictions_equal
        from saveur_onnx._predict import derive_signature

        save(model, tmp_path / "model")
        pyfunc_model = saveur.pyfunc.load_model(tmp_path / "model")
        assert pyfunc_model.metadata.signature == derive_signature(model)
        assert_predictions_equal(pyfunc_model.predict(model_input), expected_output,
                                 **tolerance, what="pyfunc with the derived signature")


class TestSklearnLogisticRegression(PortableConformance):
    @pytest.fixture
    def model(self, logreg_onnx):
        return logreg_onnx


class TestTorchMLP(PortableConformance):
    @pytest.fixture
    def model(self, mlp_onnx):
        return mlp_onnx

    @pytest.fixture
    def tolerance(self):
        return {"rtol": 1e-6, "atol": 1e-6}


class TestTwoInputsTwoOutputs(PortableConformance):
    @pytest.fixture
    def model(self):
        return two_in_two_out()

    @pytest.fixture
    def model_input(self):
        return {"a": np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.5]], dtype=np.float32),
                "b": np.array([[1], [2], [3]], dtype=np.int64)}
