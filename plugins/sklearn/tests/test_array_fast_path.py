"""A frame matching the fitted columns reaches the estimator as an ndarray, with the same answer.

Every model of test_common_models_load, fitted on a DataFrame, is saved, loaded as pyfunc and
predicted on frames; the answers must equal the estimator's own on the frame, with no
warning, whether the fast path applies or not (and it must not apply where it could change
the answer).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from test_common_models_load import _KINDS, _build, _data, _frame

import saveur
import saveur_sklearn
from saveur_sklearn._fastpath import array_columns, array_predict

#: models that read a frame for more than its values, or answer with transform: no fast path
_DATAFRAME_PATH = {
    "column-transformer",  # ColumnTransformer
    "function-transformer-none",  # FunctionTransformer, and transform
    "function-transformer-ufunc",
    "select-k-best",  # transform only
    "hist-gradient-boosting-categorical",  # holds a ColumnTransformer of its own
}


def _input(kind):
    X, Xc = _data()[0], _data()[4]
    X = {"hist-gradient-boosting-categorical": Xc, "column-transformer": Xc,
         "function-transformer-ufunc": np.abs(X)}.get(kind, X)
    return _frame(X)


@pytest.mark.parametrize("kind", _KINDS)
def test_pyfunc_answers_as_the_estimator_on_its_frame(tmp_path, kind):
    model = _build(kind, frame=True)
    predict_fn = "predict" if hasattr(model, "predict") else "transform"
    X = _input(kind)
    saveur_sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn=predict_fn)
    pyfunc = saveur.pyfunc.load_model(tmp_path / "m")
    fast = array_columns(model, predict_fn)
    assert (fast is None) == (kind in _DATAFRAME_PATH)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in (X, X.iloc[:1]):
            # against the estimator on the same rows: BLAS may round 1 row unlike 80
            expected = np.asarray(getattr(model, predict_fn)(rows))
            np.testing.assert_array_equal(np.asarray(pyfunc.predict(rows)), expected)


def _logreg_on(columns, dtype="float64"):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.rand(60, len(columns)), columns=columns).astype(dtype)
    return LogisticRegression().fit(X, (rng.rand(60) > 0.5).astype(int)), X


def _counting(method):
    seen = []

    def call(x):
        seen.append(type(x).__name__)
        return method(x)

    return call, seen


def test_matching_frame_is_given_as_ndarray_and_other_inputs_as_they_are():
    model, X = _logreg_on(["a", "b", "c"])
    call, seen = _counting(model.predict)
    predict = array_predict(call, array_columns(model, "predict"))
    expected = model.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(predict(X), expected)
        # columns in another order: the frame goes as is, and sklearn's own check answers
        with pytest.raises(ValueError, match="feature names"):
            predict(X[["b", "a", "c"]])
        mixed = X.astype({"a": "float32"})
        np.testing.assert_array_equal(predict(mixed), model.predict(mixed))
        ints = X.astype({"a": "int64"})
        np.testing.assert_array_equal(predict(ints), model.predict(ints))
    assert seen == ["ndarray", "DataFrame", "DataFrame", "DataFrame"]


def test_nullable_and_object_frames_keep_the_dataframe_path():
    model, X = _logreg_on(["a", "b"])
    call, seen = _counting(model.predict)
    predict = array_predict(call, array_columns(model, "predict"))
    predict(X.astype("Float64"))
    predict(X.astype(object))
    assert seen == ["DataFrame", "DataFrame"]


def test_integer_frame_takes_the_fast_path_with_the_same_answer():
    model, X = _logreg_on(["a", "b"])
    ints = (X * 10).astype("int64")
    call, seen = _counting(model.predict)
    predict = array_predict(call, array_columns(model, "predict"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(predict(ints), model.predict(ints))
    assert seen == ["ndarray"]


def test_column_transformer_by_name_with_mixed_dtypes_keeps_the_frame():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.RandomState(1)
    X = pd.DataFrame({"size": rng.rand(50), "city": rng.choice(["a", "b", "c"], 50),
                      "age": rng.randint(0, 90, 50)})
    pipe = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(), ["city"]),
                           ("num", StandardScaler(), ["size", "age"])]),
        Ridge(),
    ).fit(X, rng.rand(50))
    assert array_columns(pipe, "predict") is None
    numeric = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), ["size", "age"])]), Ridge()
    ).fit(X[["size", "age"]].astype("float64"), rng.rand(50))
    # all-float columns in fitted order would pass the frame test: the model walk stops it
    assert array_columns(numeric, "predict") is None


def test_pandas_output_transform_and_foreign_classes_keep_the_frame():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model, X = _logreg_on(["a", "b"])
    y = np.arange(len(X)) % 2
    pandas_out = make_pipeline(StandardScaler().set_output(transform="pandas"),
                               LogisticRegression()).fit(X, y)
    assert array_columns(pandas_out, "predict") is None
    assert array_columns(StandardScaler().fit(X), "transform") is None

    class Mine(LogisticRegression):
        pass

    assert array_columns(Mine().fit(X, y), "predict") is None
    # fitted on an ndarray: nothing to match
    assert array_columns(LogisticRegression().fit(X.to_numpy(), y), "predict") is None


@pytest.mark.parametrize("kind", _KINDS)
def test_predict_array_answers_as_the_estimator_on_the_frame_of_those_values(tmp_path, kind):
    """The host's ArrayInput route (a server's dataframe_split of exactly the columns): the
    values alone, never built into a frame, get the estimator's answer on that frame."""
    from saveur.signature import infer_signature

    model = _build(kind, frame=True)
    predict_fn = "predict" if hasattr(model, "predict") else "transform"
    X = _input(kind)
    saveur_sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn=predict_fn,
                              signature=infer_signature(X))
    pyfunc = saveur.pyfunc.load_model(tmp_path / "m")
    if kind in _DATAFRAME_PATH:
        assert pyfunc.array_columns is None
        return
    assert pyfunc.array_columns == tuple(X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in (X, X.iloc[:1]):
            expected = np.asarray(getattr(model, predict_fn)(rows))
            np.testing.assert_array_equal(np.asarray(pyfunc.predict_array(rows.to_numpy())),
                                          expected)


def test_array_input_under_pandas_output_hands_the_frame_over():
    """With scikit-learn set to answer frames, the steps must see the frame's names: the
    values are turned back into that frame, as the frame path would have kept it."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from saveur_sklearn._fastpath import values_predict

    model, X = _logreg_on(["a", "b", "c"])
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, np.arange(len(X)) % 2)
    call, seen = _counting(pipe.predict)
    predict = values_predict(call, array_columns(pipe, "predict"))
    values = X.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(predict(values), pipe.predict(X))
    with warnings.catch_warnings(record=True) as frame_path, \
            sklearn.config_context(transform_output="pandas"):
        expected = pipe.predict(X)
    with warnings.catch_warnings(record=True) as values_path, \
            sklearn.config_context(transform_output="pandas"):
        np.testing.assert_array_equal(predict(values), expected)
    # scikit-learn's own warning of this setup, as many times either way
    assert [str(w.message) for w in values_path] == [str(w.message) for w in frame_path]
    assert seen == ["ndarray", "DataFrame"]


def test_values_of_the_wrong_shape_are_refused_by_name():
    from saveur_sklearn._fastpath import values_predict

    model, X = _logreg_on(["a", "b", "c"])
    predict = values_predict(model.predict, ["a", "b", "c"])
    with pytest.raises(TypeError, match=r"expected a 2-D ndarray with 3 columns \(a, b, c"):
        predict(X.to_numpy()[:, :2])
    with pytest.raises(TypeError, match="got DataFrame"):
        predict(X)
