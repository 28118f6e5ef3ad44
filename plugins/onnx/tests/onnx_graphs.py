"""Tiny models for the ONNX plugin's tests: a converted LogisticRegression, a torch MLP, and
hand-built graphs (several inputs and outputs, external data)."""

from __future__ import annotations

import numpy as np


def xy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def run_session(model, feeds):
    """The raw onnxruntime answer for ``feeds`` (a dict, or one array for one input)."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    if not isinstance(feeds, dict):
        feeds = {session.get_inputs()[0].name: feeds}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def two_in_two_out(*, batch_param: str = "N"):
    """A graph with inputs a (float [N, 2]) and b (int64 [N, 1]) and outputs sum and doubled."""
    from onnx import TensorProto, helper

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [batch_param, 2])
    b = helper.make_tensor_value_info("b", TensorProto.INT64, [batch_param, 1])
    total = helper.make_tensor_value_info("total", TensorProto.FLOAT, [batch_param])
    doubled = helper.make_tensor_value_info("doubled", TensorProto.INT64, [batch_param, 1])
    two = helper.make_tensor("two", TensorProto.INT64, [1], [2])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Cast", ["b"], ["b_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["a", "axes"], ["a_sum"], keepdims=0),
        helper.make_node("Squeeze", ["b_float", "axes"], ["b_flat"]),
        helper.make_node("Add", ["a_sum", "b_flat"], ["total"]),
        helper.make_node("Mul", ["b", "two"], ["doubled"]),
    ]
    graph = helper.make_graph(nodes, "two_in_two_out", [a, b], [total, doubled],
                              initializer=[two, axes])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=9)


def linear(n_in: int = 300, seed: int = 0):
    """y = x @ W with W float32 [n_in, 3]: W is over 1 KiB, so it goes to external data."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.RandomState(seed).randn(n_in, 3).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_in])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "linear", [x],
                              [y], initializer=[numpy_helper.from_array(w, "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


