"""Common scikit-learn models load from skops with no trust, and predict the same."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import saveur_sklearn
from saveur.errors import TrustError


@functools.cache
def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    y2 = (X[:, 0] > 0).astype(int)
    y3 = rng.randint(0, 3, 80)
    yr = X[:, 1] + 0.1 * rng.randn(80)
    Xc = np.c_[rng.randint(0, 4, 80), X[:, 1:]]
    return X, y2, y3, yr, Xc


def _build(kind, frame=False):
    """The fitted model of ``kind``; fitted on DataFrames with named columns when ``frame``."""
    from sklearn import (
        calibration,
        cluster,
        compose,
        decomposition,
        discriminant_analysis,
        ensemble,
        feature_selection,
        gaussian_process,
        impute,
        linear_model,
        naive_bayes,
        neighbors,
        neural_network,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    X, y2, y3, yr, Xc = _data()
    if frame:
        X, Xc = _frame(X), _frame(Xc)
    table = {
        "logistic": lambda: linear_model.LogisticRegression().fit(X, y3),
        "ridge": lambda: linear_model.Ridge().fit(X, yr),
        "sgd": lambda: linear_model.SGDClassifier(random_state=0).fit(X, y2),
        "sparse-coef": lambda: linear_model.LogisticRegression().fit(X, y2).sparsify(),
        "tree": lambda: tree.DecisionTreeClassifier(random_state=0).fit(X, y3),
        "tree-multioutput": lambda: tree.DecisionTreeRegressor(random_state=0).fit(
            X, np.c_[yr, -yr]),
        "forest": lambda: ensemble.RandomForestClassifier(5, random_state=0).fit(X, y3),
        "extra-trees": lambda: ensemble.ExtraTreesRegressor(5, random_state=0).fit(X, yr),
        "gradient-boosting": lambda: ensemble.GradientBoostingClassifier(
            n_estimators=3, random_state=0).fit(X, y3),
        "gradient-boosting-binary": lambda: ensemble.GradientBoostingClassifier(
            n_estimators=3, random_state=0).fit(X, y2),
        "hist-gradient-boosting": lambda: ensemble.HistGradientBoostingClassifier(
            max_iter=3).fit(X, y3),
        "hist-gradient-boosting-categorical": lambda: ensemble.HistGradientBoostingRegressor(
            max_iter=3, categorical_features=[0]).fit(Xc, yr),
        "isolation-forest": lambda: ensemble.IsolationForest(
            n_estimators=3, max_features=0.5, random_state=0).fit(X),
        "bagging": lambda: ensemble.BaggingClassifier(
            n_estimators=3, max_features=2, random_state=0).fit(X, y2),
        "adaboost": lambda: ensemble.AdaBoostClassifier(n_estimators=3).fit(X, y2),
        "voting": lambda: ensemble.VotingClassifier(
            [("lr", linear_model.LogisticRegression()), ("dt", tree.DecisionTreeClassifier())]
        ).fit(X, y2),
        "svc": lambda: svm.SVC(random_state=0).fit(X, y3),
        "svr": lambda: svm.SVR().fit(X, yr),
        "one-class-svm": lambda: svm.OneClassSVM().fit(X),
        "linear-svc": lambda: svm.LinearSVC().fit(X, y2),
        "knn-kd-tree": lambda: neighbors.KNeighborsClassifier(algorithm="kd_tree").fit(X, y2),
        "knn-ball-tree": lambda: neighbors.KNeighborsRegressor(
            algorithm="ball_tree").fit(X, yr),
        "knn-brute": lambda: neighbors.KNeighborsClassifier(algorithm="brute").fit(X, y2),
        "naive-bayes": lambda: naive_bayes.GaussianNB().fit(X, y2),
        "kmeans": lambda: cluster.KMeans(3, n_init=1, random_state=0).fit(X),
        "pipeline": lambda: pipeline.make_pipeline(
            preprocessing.StandardScaler(), impute.SimpleImputer(), decomposition.PCA(2),
            linear_model.LogisticRegression()).fit(X, y2),
        "column-transformer": lambda: pipeline.make_pipeline(
            compose.ColumnTransformer([
                ("onehot", preprocessing.OneHotEncoder(handle_unknown="ignore"), [0]),
                ("scale", preprocessing.StandardScaler(), [1, 2, 3]),
            ]),
            linear_model.Ridge()).fit(Xc, yr),
        "function-transformer-none": lambda: preprocessing.FunctionTransformer().fit(X),
        "function-transformer-ufunc": lambda: preprocessing.FunctionTransformer(
            np.log1p).fit(np.abs(X)),
        "select-k-best": lambda: feature_selection.SelectKBest(k=2).fit(X, y2),
        "calibrated": lambda: calibration.CalibratedClassifierCV(
            linear_model.LogisticRegression(), cv=2).fit(X, y2),
        "gaussian-process": lambda: gaussian_process.GaussianProcessRegressor(
            gaussian_process.kernels.RBF() + gaussian_process.kernels.WhiteKernel()).fit(X, yr),
        "mlp": lambda: neural_network.MLPClassifier(max_iter=5, random_state=0).fit(X, y2),
        "lda": lambda: discriminant_analysis.LinearDiscriminantAnalysis().fit(X, y2),
    }
    return table[kind]()


def _frame(X):
    import pandas as pd

    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


_KINDS = [
    "logistic", "ridge", "sgd", "sparse-coef", "tree", "tree-multioutput", "forest",
    "extra-trees", "gradient-boosting", "gradient-boosting-binary", "hist-gradient-boosting",
    "hist-gradient-boosting-categorical", "isolation-forest", "bagging", "adaboost", "voting",
    "svc", "svr", "one-class-svm", "linear-svc", "knn-kd-tree", "knn-ball-tree", "knn-brute",
    "naive-bayes", "kmeans", "pipeline", "column-transformer", "function-transformer-none",
    "function-transformer-ufunc", "select-k-best", "calibrated", "gaussian-process", "mlp",
    "lda",
]


def _output(model, X):
    for name in ("predict", "transform"):
        if method := getattr(model, name, None):
            return method(X)
    raise AssertionError(f"{type(model).__name__} has neither predict nor transform")


@pytest.mark.parametrize("kind", _KINDS)
def test_common_model_loads_without_trust_and_predicts_the_same(tmp_path, kind):
    model = _build(kind)
    X, Xc = _data()[0], _data()[4]
    X = {"hist-gradient-boosting-categorical": Xc, "column-transformer": Xc,
         "function-transformer-ufunc": np.abs(X)}.get(kind, X)
    predict_fn = "predict" if hasattr(model, "predict") else "transform"
    saveur_sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn=predict_fn)
    loaded = saveur_sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(np.asarray(_output(loaded, X)), np.asarray(_output(model, X)))


@pytest.mark.parametrize(
    ("func", "name"),
    [
        (np.mean, "numpy.mean"),
        (functools.partial(np.round, decimals=1), "numpy.round"),
    ],
    ids=["plain-function", "partial-of-function"],
)
def test_function_transformer_with_a_non_ufunc_needs_trust(tmp_path, func, name):
    from sklearn.preprocessing import FunctionTransformer

    X = _data()[0]
    saveur_sklearn.save_model(FunctionTransformer(func).fit(X), tmp_path / "m",
                              pyfunc_predict_fn="transform")
    with pytest.raises(TrustError, match=rf"does not vouch for: .*{name}"):
        saveur_sklearn.load_model(tmp_path / "m")
    loaded = saveur_sklearn.load_model(tmp_path / "m", trusted_types=[name, "functools.partial"])
    np.testing.assert_array_equal(loaded.transform(X), func(X))
