"""The types saveur-sklearn vouches for in skops files, and those it does not."""

from __future__ import annotations

import functools

import pytest

from saveur.errors import TrustError
from saveur_sklearn._trust import is_vouched, normalize_trusted_types, unvouched


@pytest.mark.parametrize(
    "name",
    [
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "numpy.ndarray",
        "numpy.random.mtrand.RandomState",
        "scipy.sparse._csr.csr_matrix",
    ],
)
def test_vouches_for_classes_of_sklearn_numpy_scipy(name):
    assert is_vouched(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("builtins.eval", "outside the three packages"),
        ("os.system", "outside the three packages"),
        ("numpy.load", "a function, not a class"),
        ("numpy.memmap", "maps files"),
        ("scipy.io.netcdf_file", "an I/O module"),
        ("sklearn.utils._testing.TempMemmap", "a testing module"),
        ("sklearn.utils._param_validation.Integral", "a re-export of numbers.Integral"),
        ("sklearn.no_such_module.Thing", "does not exist"),
        ("sklearn", "not a dotted type name"),
    ],
)
def test_does_not_vouch_for(name, why):
    assert not is_vouched(name), why


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
