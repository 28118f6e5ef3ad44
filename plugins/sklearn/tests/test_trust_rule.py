"""The types saveur-sklearn vouches for in skops files, and those it does not."""

from __future__ import annotations

import functools

import pytest

from saveur.errors import TrustError
from saveur_sklearn._trust import (
    is_vouched,
    is_vouched_function,
    normalize_trusted_types,
    unvouched,
)


@pytest.mark.parametrize(
    "name",
    [
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.gaussian_process.kernels.RBF",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn.utils._bunch.Bunch",
        "sklearn.calibration._SigmoidCalibration",
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.number",
        "numpy.random.mtrand.RandomState",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_array",
        "functools.partial",
    ],
)
def test_vouches_for_data_only_types(name):
    assert is_vouched(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("builtins.eval", "a builtin function"),
        ("os.system", "outside the allowlist"),
        ("numpy.load", "a function, not a type"),
        ("numpy.memmap", "maps files"),
        ("numpy.lib._npyio_impl.NpzFile", "opens files"),
        ("scipy.io.netcdf_file", "an I/O module"),
        ("scipy.io._fortran.FortranFile", "an I/O module"),
        ("scipy.stats._continuous_distns.norm_gen", "__setstate__ exec()s a string"),
        ("scipy.stats._distn_infrastructure.rv_continuous_frozen", "holds a distribution"),
        ("scipy.sparse._lil.lil_matrix", "a sparse format the index checks do not cover"),
        ("sklearn.utils._testing.TempMemmap", "a testing module"),
        ("sklearn.utils._mocking.CheckingClassifier", "a testing estimator"),
        ("sklearn.metrics._dist_metrics.PyFuncDistance64", "calls a function"),
        ("sklearn.datasets._base.Bunch", "not where Bunch is defined"),
        ("sklearn.utils.Bunch", "a re-export, not the defining module"),
        ("sklearn.utils._param_validation.Integral", "a re-export of numbers.Integral"),
        ("sklearn.tree._classes.DecisionTreeClassifier.predict", "a method"),
        ("operator.attrgetter", "picks attributes to read"),
        ("operator.methodcaller", "picks a method to call"),
        ("sklearn.no_such_module.Thing", "does not exist"),
        ("sklearn", "not a dotted type name"),
    ],
)
def test_does_not_vouch_for(name, why):
    assert not is_vouched(name), why


def test_vouched_functions_are_a_short_list():
    assert is_vouched_function("sklearn.utils.validation.check_array")
    assert is_vouched_function("sklearn.feature_selection._univariate_selection.f_classif")
    for name in (
        "numpy.load",
        "builtins.eval",
        "sklearn.datasets.fetch_openml",
        "sklearn.tree._tree.Tree",
        "numpy.lib.format.open_memmap",
    ):
        assert not is_vouched_function(name), name


def test_unvouched_checks_functions_against_the_function_list():
    # A vouched type named where a function is expected is still refused, and the reverse.
    refused = unvouched({"sklearn.utils.validation.check_array"}, (), {"sklearn.tree._tree.Tree"})
    assert refused == ["sklearn.tree._tree.Tree", "sklearn.utils.validation.check_array"]


def test_unvouched_keeps_only_what_nobody_trusts():
    found = {"sklearn.tree._tree.Tree", "my.Thing", "other.Thing"}
    assert unvouched(found, ("my.Thing",)) == ["other.Thing"]


def test_trusted_types_accept_names_and_classes():
    from sklearn.tree import DecisionTreeClassifier

    assert normalize_trusted_types(None) == ()
    assert normalize_trusted_types("a.B") == ("a.B",)
    assert normalize_trusted_types([DecisionTreeClassifier, "a.B"]) == (
        "sklearn.tree._classes.DecisionTreeClassifier",
        "a.B",
    )


def test_trusted_types_of_the_wrong_kind_are_refused():
    with pytest.raises(TrustError, match="got ''"):
        normalize_trusted_types([""])


@functools.cache
def _models():

    import numpy as np
    from custom_estimators import AddOne
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    return {
        "forest": RandomForestClassifier(n_estimators=3).fit(X, y),
        "boosting": GradientBoostingClassifier(n_estimators=3).fit(X, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        "custom": make_pipeline(AddOne(), LogisticRegression()).fit(X, y),
        "ufunc": make_pipeline(FunctionTransformer(np.abs), LogisticRegression()).fit(X, y),
        "function": FunctionTransformer(np.mean).fit(X),
        "partial": FunctionTransformer(functools.partial(np.round, decimals=1)).fit(X),
        "columns": ColumnTransformer([("oh", OneHotEncoder(), [0])]).fit(X.round()),
    }


@pytest.mark.parametrize(
    "kind", ["boosting", "columns", "custom", "forest", "function", "partial", "pipeline", "ufunc"]
)
def test_fast_audit_finds_exactly_what_skops_finds(kind):
    import io
    import zipfile

    import skops.io
    from skops.io._audit import get_tree
    from skops.io._utils import read_schema

    from saveur_sklearn._formats import unsafe_types

    data = skops.io.dumps(_models()[kind])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        schema, context = read_schema(zf)
        tree = get_tree(schema, context, trusted=None)
        assert unsafe_types(tree) == tree.get_unsafe_set()


@pytest.mark.parametrize(
    "kind", ["boosting", "columns", "custom", "forest", "function", "partial", "pipeline", "ufunc"]
)
def test_save_time_audit_reads_names_only_and_matches_skops(kind, monkeypatch):
    # At save the dump is audited without reading its array members; the names it reports
    # (written to MLmodel for MLflow, checked for importability) are skops' own.
    import zipfile

    import skops.io

    from saveur_sklearn import _formats

    data = skops.io.dumps(_models()[kind])
    expected = sorted(skops.io.get_untrusted_types(data=data))
    read = []
    real_read = zipfile.ZipFile.read

    def spy(self, name, *args):
        read.append(name)
        return real_read(self, name, *args)

    monkeypatch.setattr(zipfile.ZipFile, "read", spy)
    assert _formats._untrusted_types(data) == expected
    assert read == ["schema.json"]
