"""Predicting through pyfunc: input forms, mapping by name, stacking, casts, output forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from onnx_graphs import run_session, two_in_two_out, xy

import saveur.pyfunc
import saveur_onnx
from saveur.errors import SchemaError

A = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.5]], dtype=np.float32)
B = np.array([[1], [2], [3]], dtype=np.int64)


@pytest.fixture
def multi(tmp_path):
    """The two-input graph saved without a signature, as MLflow saves ONNX models."""
    path = tmp_path / "multi"
    saveur_onnx.save_model(two_in_two_out(), path)
    _drop_signature(path)
    return saveur.pyfunc.load_model(path)


@pytest.fixture
def single(tmp_path, logreg_onnx):
    path = tmp_path / "single"
    saveur_onnx.save_model(logreg_onnx, path)
    _drop_signature(path)
    return saveur.pyfunc.load_model(path)


def _drop_signature(path):
    from saveur.models import Model
    from saveur.saving import reseal

    mlmodel = Model.load(path)
    mlmodel.signature = None
    mlmodel.save(path / "MLmodel")
    reseal(path)


def test_dict_input_gives_a_dict_of_named_outputs(multi):
    out = multi.predict({"a": A, "b": B})
    assert set(out) == {"total", "doubled"}
    np.testing.assert_allclose(out["total"], [4.0, 9.0, 4.0])
    np.testing.assert_array_equal(out["doubled"], [[2], [4], [6]])


def test_dataframe_columns_map_to_inputs_by_name(multi):
    frame = pd.DataFrame({"b": B[:, 0], "a": list(A), "ignored": ["x", "y", "z"]})
    out = multi.predict(frame)
    # One value per row for every output: a DataFrame, as MLflow answers.
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["total", "doubled"]
    np.testing.assert_allclose(out["total"], [4.0, 9.0, 4.0])
    np.testing.assert_array_equal(out["doubled"], [2, 4, 6])


def test_dataframe_missing_an_input_column_names_it(multi):
    with pytest.raises(SchemaError, match="no column 'b' for graph input 'b'"):
        multi.predict(pd.DataFrame({"a": list(A)}))


def test_dataframe_columns_are_stacked_into_a_single_input(single, logreg_onnx):
    X = xy(4, seed=5)[0]
    out = single.predict(pd.DataFrame(X, columns=["w", "x", "y", "z"]))
    # probabilities has two values per row: MLflow's flattening would break the rows, so
    # the answer is the dict.
    assert isinstance(out, dict)
    np.testing.assert_allclose(out["probabilities"], run_session(logreg_onnx, X)["probabilities"])


def test_dataframe_with_the_input_name_as_a_column_of_arrays(single, logreg_onnx):
    X = xy(3, seed=6)[0]
    out = single.predict(pd.DataFrame({"X": list(X)}))
    np.testing.assert_allclose(out["probabilities"], run_session(logreg_onnx, X)["probabilities"])


def test_array_needs_a_single_input_graph(multi):
    with pytest.raises(SchemaError, match="single-input graph; this one takes \\['a', 'b'\\]"):
        multi.predict(A)


def test_dict_missing_or_extra_inputs_are_named(multi):
    with pytest.raises(SchemaError, match="lacks graph input 'b'"):
        multi.predict({"a": A})
    with pytest.raises(SchemaError, match="'c', which is not a graph input"):
        multi.predict({"a": A, "b": B, "c": B})


def test_unsupported_input_type_is_named(single):
    with pytest.raises(SchemaError, match="got str"):
        single.predict("1,2,3,4")


def test_safe_casts_are_made(multi):
    out = multi.predict({"a": A.astype(np.float16), "b": B.astype(np.int32)})
    np.testing.assert_allclose(out["total"], [4.0, 9.0, 4.0])


def test_float64_is_cast_to_float32_as_mlflow_does(single, logreg_onnx):
    X = xy(3)[0]
    out = single.predict(X.astype(np.float64))
    np.testing.assert_allclose(out["probabilities"], run_session(logreg_onnx, X)["probabilities"])


def test_integers_are_cast_when_every_value_fits(multi):
    out = multi.predict({"a": np.array([[1, 2]], dtype=np.int64), "b": np.array([[1]])})
    np.testing.assert_allclose(out["total"], [4.0])


def test_integers_that_do_not_fit_are_refused(multi):
    too_big = np.array([[2**25 + 1, 0]], dtype=np.int64)
    with pytest.raises(SchemaError, match="input 'a' expects float32.*do not all fit"):
        multi.predict({"a": too_big, "b": np.array([[1]])})


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (A, B.astype(np.float64), "input 'b' expects int64.*got float64"),
        (A.astype(str), B, "input 'a' expects float32.*got <U"),
        (A, B.astype(bool), "input 'b' expects int64.*got bool"),
    ],
)
def test_unsafe_casts_are_refused_with_the_input_named(multi, a, b, match):
    with pytest.raises(SchemaError, match=match):
        multi.predict({"a": a, "b": b})


def test_derived_signature_is_enforced_before_the_graph_runs(tmp_path):
    saveur_onnx.save_model(two_in_two_out(), tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(SchemaError, match="'a'"):
        model.predict({"a": A[:, :1], "b": B})
    np.testing.assert_allclose(model.predict({"a": A, "b": B})["total"], [4.0, 9.0, 4.0])


def _same_answer(got, want):
    assert list(got) == list(want)
    for name in want:
        assert got[name].dtype == want[name].dtype
        np.testing.assert_array_equal(got[name], want[name])


@pytest.mark.parametrize("rows", [1, 3, 0])
def test_an_array_of_the_input_dtype_answers_as_the_general_path(tmp_path, logreg_onnx, rows):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m")
    X = xy(max(rows, 1), seed=7)[0][:rows]  # float32, the graph's dtype: the fast path
    want = run_session(logreg_onnx, X)
    _same_answer(model.predict(X), want)
    # The same values by the general paths: lists (mapped and cast), float64 (cast by the
    # plugin as MLflow does), a masked array (not a plain ndarray), and without enforcement.
    if rows:  # (no rows as lists is [], which has no width)
        _same_answer(model.predict_checked(X.tolist()), want)
    _same_answer(model.predict_checked(X.astype(np.float64)), want)
    _same_answer(model.predict_checked(np.ma.masked_array(X)), want)
    _same_answer(model.predict_checked(X), want)


def test_the_fast_path_still_enforces_the_signature(tmp_path, logreg_onnx):
    saveur_onnx.save_model(logreg_onnx, tmp_path / "m")
    model = saveur.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(SchemaError, match=r"expects shape \(-1, 4\) \(-1 = any size\), got \(4,\)"):
        model.predict(xy(1)[0][0])
    with pytest.raises(SchemaError, match="expects dtype float32, got int64"):
        model.predict(np.zeros((1, 4), dtype=np.int64))


def test_a_float64_array_for_a_two_input_graph_is_refused(multi):
    # No single input to take it: never fed under a made-up name.
    with pytest.raises(SchemaError, match="single-input graph; this one takes \\['a', 'b'\\]"):
        multi.predict(A.astype(np.float64))


@pytest.mark.parametrize("names", [["y"], ["label", "probabilities"], ["a", "b", "c"]])
def test_output_dict_names_every_output_in_order(names):
    from saveur_onnx._predict import output_dict

    outputs = [np.full(2, i) for i in range(len(names))]
    got = output_dict(names)(outputs)
    assert list(got) == names
    assert all(got[n] is o for n, o in zip(names, outputs, strict=True))
