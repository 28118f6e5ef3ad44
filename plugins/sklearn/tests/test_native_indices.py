"""Index structures of untrusted models are checked before scikit-learn's compiled code runs.

Each test corrupts one structure of a fitted model the way a hostile file would (the values
``__setstate__`` accepts because only dtypes are checked), saves it, and loads it without
trust: the load must refuse it with an IntegrityError naming the attribute. Nothing here
calls predict on a corrupted model; tests/hostile/test_hostile_sklearn.py does, in a
subprocess.
"""

from __future__ import annotations

import numpy as np
import pytest

import saveur_sklearn
from saveur.errors import IntegrityError


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    return X, rng.randint(0, 3, 120), X[:, 0] + X[:, 1]


def _refused(tmp_path, model, attribute, **save):
    saveur_sklearn.save_model(model, tmp_path / "m", **save)
    with pytest.raises(IntegrityError, match=attribute) as info:
        saveur_sklearn.load_model(tmp_path / "m")
    message = str(info.value)
    assert "model.skops" in message and "\n" not in message
    return message


def _edit_nodes(tree, **changes):
    """Write ``field=(index, value)`` into a Tree's node array (setstate checks dtypes only)."""
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    for field, (i, value) in changes.items():
        nodes[field][i] = value
    state["nodes"] = nodes
    tree.__setstate__(state)


def _fitted_tree(data):
    from sklearn.tree import DecisionTreeClassifier

    X, y, _ = data
    return DecisionTreeClassifier(random_state=0, max_depth=4).fit(X, y)


def _inner_node(tree):
    inner = np.flatnonzero(tree.children_left != -1)
    return int(inner[-1])


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        (lambda t: {"left_child": (0, t.node_count + 5)}, r"tree_\.children_left\[0\]"),
        (lambda t: {"right_child": (0, 0)}, r"tree_\.children_right\[0\] = 0"),
        (lambda t: {"left_child": (_inner_node(t), 0)}, r"children_left\[\d+\] = 0"),
        (lambda t: {"left_child": (0, -7)}, r"tree_\.children_left\[0\] = -7"),
        (lambda t: {"right_child": (0, -1)}, r"children_left/right\[0\]"),
        (lambda t: {"feature": (0, 40)}, r"tree_\.feature\[0\] = 40"),
        (lambda t: {"feature": (0, -3)}, r"tree_\.feature\[0\] = -3"),
        (lambda t: {"threshold": (0, np.nan)}, r"tree_\.threshold\[0\] = nan"),
    ],
    ids=[
        "child-past-end",
        "child-is-itself",
        "cycle-to-root",
        "negative-child",
        "half-leaf",
        "feature-past-width",
        "negative-feature",
        "nan-threshold",
    ],
)
def test_corrupt_decision_tree_is_refused(tmp_path, data, change, attribute):
    model = _fitted_tree(data)
    _edit_nodes(model.tree_, **change(model.tree_))
    _refused(tmp_path, model, attribute)


@pytest.mark.parametrize("batch_nodes", [1, 40, 1 << 18], ids=["tree-each", "mixed", "one"])
@pytest.mark.parametrize(
    ("field", "value", "attribute"),
    [
        # The smallest tree's own node count: inside the bigger trees' ranges, so only a
        # bound taken per tree refuses it.
        (
            "left_child",
            "own-count",
            r"estimators_\[2\]\.tree_\.children_left\[0\] = \d+ "
            r"\(must be in \(0, \d+\)\)",
        ),
        ("feature", 4, r"estimators_\[2\]\.tree_\.feature\[0\] = 4 \(must be in \[0, 4\)"),
        ("threshold", np.nan, r"estimators_\[2\]\.tree_\.threshold\[0\] = nan"),
    ],
    ids=["child-past-own-tree", "feature-past-width", "nan-threshold"],
)
def test_forest_trees_are_each_checked_against_their_own_bounds(
    tmp_path, data, monkeypatch, batch_nodes, field, value, attribute
):
    # The trees of a forest are checked together, in batches of about batch_nodes nodes;
    # each node is still held to its own tree's node count, and the tree named is the bad one.
    from sklearn.ensemble import RandomForestClassifier

    from saveur_sklearn import _indices

    monkeypatch.setattr(_indices, "_BATCH_NODES", batch_nodes)
    X, y, _ = data
    forest = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
    small = forest.estimators_[2]
    small.set_params(max_depth=2).fit(X, y)  # a tree with fewer nodes than its siblings
    assert small.tree_.node_count < min(
        e.tree_.node_count for i, e in enumerate(forest.estimators_) if i != 2
    )
    _edit_nodes(
        small.tree_, **{field: (0, small.tree_.node_count if value == "own-count" else value)}
    )
    _refused(tmp_path, forest, attribute)


def test_sound_forest_loads_whatever_the_batch_size(tmp_path, data, monkeypatch):
    from sklearn.ensemble import RandomForestClassifier

    from saveur_sklearn import _indices

    X, y, _ = data
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    saveur_sklearn.save_model(forest, tmp_path / "m")
    for batch_nodes in (1, 30, 1 << 18):
        monkeypatch.setattr(_indices, "_BATCH_NODES", batch_nodes)
        loaded = saveur_sklearn.load_model(tmp_path / "m")
        np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))


def test_tree_node_count_beyond_its_node_array_is_refused():
    # scikit-learn's __setstate__ clamps node_count to the node array today; the check keeps
    # the arrays from being read past their end should that ever change.
    from types import SimpleNamespace

    from saveur_sklearn._indices import _Bad, _check_tree

    with pytest.raises(_Bad, match=r"t\.node_count = 10000 \(the node array holds 3\)"):
        _check_tree(np, SimpleNamespace(node_count=10_000, capacity=3), "t")


def test_tree_wider_than_its_estimator_is_refused(tmp_path, data):
    from sklearn.tree._tree import Tree

    model = _fitted_tree(data)
    old = model.tree_
    wide = Tree(old.n_features + 6, np.asarray(old.n_classes, dtype=np.intp), old.n_outputs)
    wide.__setstate__(old.__getstate__())
    model.tree_ = wide
    _refused(tmp_path, model, r"tree_\.n_features = 10 \(n_features_in_ is 4\)")


def test_forest_tree_wider_than_the_forest_is_refused(tmp_path, data):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree._tree import Tree

    X, y, _ = data
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    member = forest.estimators_[1]
    old = member.tree_
    wide = Tree(9, np.asarray(old.n_classes, dtype=np.intp), old.n_outputs)
    state = old.__getstate__()
    state["nodes"]["feature"][0] = 8  # the forest validates 4 columns, the tree reads 9
    wide.__setstate__(state)
    member.tree_, member.n_features_in_ = wide, 9
    _refused(tmp_path, forest, r"estimators_\[1\]\.tree_\.n_features = 9")


def test_gradient_boosting_stages_wider_than_its_predictions_are_refused(tmp_path, data):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y, _ = data
    model = GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    # Four trees per stage and a matching count: predict_stages would write column 3 of a
    # 3-column array.
    model.estimators_ = np.concatenate([model.estimators_, model.estimators_[:, :1]], axis=1)
    model.n_trees_per_iteration_ = 4
    _refused(tmp_path, model, r"init_ predicts 3 columns, estimators_ has 4")


def test_gradient_boosting_stage_count_mismatch_is_refused(tmp_path, data):
    from sklearn.ensemble import GradientBoostingClassifier

    X, y, _ = data
    model = GradientBoostingClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    model.n_trees_per_iteration_ = 2
    _refused(tmp_path, model, r"estimators_ has 3 trees per stage")


@pytest.fixture
def hgb(data):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X = data[0]
    cats = np.random.RandomState(1).randint(0, 5, len(X))
    Xc = np.c_[cats, X[:, 1:]]
    y = np.isin(cats, [1, 3]) * 3.0 + 0.1 * X[:, 1]  # the root splits on the category
    return HistGradientBoostingRegressor(max_iter=2, categorical_features=[0], random_state=0).fit(
        Xc, y
    )


def _predictor(model):
    predictor = model._predictors[0][0]
    predictor.nodes = predictor.nodes.copy()
    return predictor


def _categorical_node(nodes):
    found = np.flatnonzero((nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 1))
    assert found.size, "the fixture model splits on its categorical feature"
    return int(found[0])


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        (
            lambda p, m: p.nodes["left"].__setitem__(0, 10_000),
            r"_predictors\[0\]\[0\]\.nodes\[0\]\.left = 10000",
        ),
        (
            lambda p, m: p.nodes["right"].__setitem__(0, 0),
            r"_predictors\[0\]\[0\]\.nodes\[0\]\.right = 0",
        ),
        (
            lambda p, m: p.nodes["feature_idx"].__setitem__(0, 17),
            r"_predictors\[0\]\[0\]\.nodes\[0\]\.feature_idx = 17",
        ),
        (
            lambda p, m: p.nodes["bitset_idx"].__setitem__(_categorical_node(p.nodes), 50),
            r"bitset_idx = 50",
        ),
        (
            lambda p, m: setattr(p, "raw_left_cat_bitsets", p.raw_left_cat_bitsets[:, :4].copy()),
            r"raw_left_cat_bitsets has shape",
        ),
        (
            lambda p, m: m._bin_mapper.bin_thresholds_[0].__setitem__(0, 300.0),
            r"bin_thresholds_\[0\] holds category 300",
        ),
        (
            lambda p, m: m._bin_mapper.is_categorical_.__setitem__(0, 0),
            r"splits on feature 0 as categorical",
        ),
    ],
    ids=[
        "left-past-end",
        "right-to-itself",
        "feature-past-width",
        "bitset-row-past-end",
        "short-bitsets",
        "category-past-bitset",
        "categorical-split-on-numeric-feature",
    ],
)
def test_corrupt_hist_gradient_boosting_is_refused(tmp_path, hgb, change, attribute):
    change(_predictor(hgb), hgb)
    _refused(tmp_path, hgb, attribute)


@pytest.fixture
def knn(data):
    from sklearn.neighbors import KNeighborsClassifier

    X, y, _ = data
    return KNeighborsClassifier(algorithm="kd_tree", leaf_size=10).fit(X, y)


def _edit_binary_tree(tree, index, change):
    state = list(tree.__getstate__())
    state[index] = change(state[index])
    tree.__setstate__(tuple(state))


def _with(array, i, field=None, value=None):
    array = np.array(array, copy=True)
    if field is None:
        array[i] = value
    else:
        array[field][i] = value
    return array


@pytest.mark.parametrize(
    ("index", "change", "attribute"),
    [
        (1, lambda a: _with(a, 3, value=5000), r"_tree\.idx_array"),
        (1, lambda a: _with(a, 3, value=-1), r"_tree\.idx_array"),
        (2, lambda a: _with(a, 0, "idx_end", 999), r"_tree\.node_data\[0\] covers \[0, 999\)"),
        (2, lambda a: _with(a, 0, "idx_start", -4), r"_tree\.node_data\[0\] covers \[-4"),
        (2, lambda a: _with(a, len(a) - 1, "is_leaf", 0), r"is not a leaf but has no children"),
        (6, lambda n: n + 2, r"_tree\.node_data has"),
        (3, lambda b: np.ascontiguousarray(np.asarray(b)[:, :1]), r"_tree\.node_bounds"),
    ],
    ids=[
        "index-past-end",
        "negative-index",
        "range-past-end",
        "negative-start",
        "inner-node-without-children",
        "node-count",
        "bounds-shape",
    ],
)
def test_corrupt_kd_tree_is_refused(tmp_path, knn, index, change, attribute):
    _edit_binary_tree(knn._tree, index, change)
    _refused(tmp_path, knn, attribute)


def test_weighted_metric_of_the_wrong_size_is_refused(tmp_path, data):
    from sklearn.neighbors import KNeighborsRegressor

    X, _, y = data
    model = KNeighborsRegressor(
        algorithm="ball_tree", metric="minkowski", metric_params={"w": np.ones(4)}
    ).fit(X, y)
    metric = model._tree.__getstate__()[11]
    p, _vec, mat = metric.__getstate__()[:3]
    metric.__setstate__((p, np.ones(2), mat))
    _refused(tmp_path, model, r"_tree\.dist_metric\.w has 2 entries \(expected 4\)")


def test_sparse_coefficients_with_indices_past_the_end_are_refused(tmp_path, data):
    from sklearn.linear_model import LogisticRegression

    X, y, _ = data
    model = LogisticRegression().fit(X, y).sparsify()
    model.coef_.indices[0] = 50
    _refused(tmp_path, model, r"coef_ \(csr sparse matrix")


@pytest.fixture
def svc(data):
    from sklearn.svm import SVC

    X, y, _ = data
    return SVC().fit(X, y)


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        (
            lambda m: setattr(m, "_n_support", (m._n_support * 40).astype(np.int32)),
            r"_n_support sums to",
        ),
        (
            lambda m: setattr(m, "_n_support", np.array([-5, 3, 2], dtype=np.int32)),
            r"_n_support = \[-5, 3, 2\]",
        ),
        (lambda m: setattr(m, "_dual_coef_", m._dual_coef_[:1].copy()), r"dual_coef_ has shape"),
        (lambda m: setattr(m, "_intercept_", m._intercept_[:1].copy()), r"intercept_ has shape"),
        (
            lambda m: setattr(m, "support_vectors_", m.support_vectors_[:, :2].copy()),
            r"support_vectors_ has shape",
        ),
        (lambda m: setattr(m, "_probA", np.ones(7)), r"_probA has 7 entries"),
    ],
    ids=[
        "support-count",
        "negative-support-count",
        "dual-coef-rows",
        "intercepts",
        "support-vector-width",
        "probability-pairs",
    ],
)
def test_corrupt_libsvm_model_is_refused(tmp_path, svc, change, attribute):
    change(svc)
    _refused(tmp_path, svc, attribute)


def test_precomputed_kernel_support_index_past_training_rows_is_refused(tmp_path, data):
    from sklearn.svm import SVC

    X, y, _ = data
    model = SVC(kernel="precomputed").fit(X @ X.T, y)
    model.support_ = model.support_.copy()
    model.support_[0] = 10_000
    _refused(tmp_path, model, r"support_ holds 10000")


@pytest.mark.parametrize("value", ["filename", "file"])
def test_vectorizer_reading_files_named_by_the_request_is_refused(tmp_path, value):
    from sklearn.feature_extraction.text import TfidfVectorizer

    model = TfidfVectorizer().fit(["alpha beta", "beta gamma"])
    model.input = value
    _refused(tmp_path, model, rf"TfidfVectorizer\.input = '{value}'", pyfunc_predict_fn="transform")


def test_trust_code_skips_the_checks(tmp_path, data):
    # The caller's consent covers the model's content as a whole; the checks are for
    # untrusted files. Nothing is predicted here.
    model = _fitted_tree(data)
    _edit_nodes(model.tree_, feature=(0, 40))
    saveur_sklearn.save_model(model, tmp_path / "m")
    loaded = saveur_sklearn.load_model(tmp_path / "m", trust_code=True)
    assert loaded.tree_.feature[0] == 40


@pytest.mark.parametrize("kind", ["count", "dict"])
def test_vocabulary_index_past_the_matrix_width_is_refused(tmp_path, kind):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import CountVectorizer

    if kind == "count":
        model = CountVectorizer().fit(["alpha beta", "beta gamma"])
        term = "gamma"
    else:
        model = DictVectorizer().fit([{"alpha": 1, "beta": 2}])
        term = "beta"
    model.vocabulary_[term] = 1 << 30
    _refused(
        tmp_path, model, rf"vocabulary_\['{term}'\] = 1073741824", pyfunc_predict_fn="transform"
    )


def test_one_hot_output_width_disagreeing_with_its_categories_is_refused(tmp_path, data):
    from sklearn.preprocessing import OneHotEncoder

    X = data[0].round()
    model = OneHotEncoder(handle_unknown="ignore").fit(X)
    model._n_features_outs = [1] * len(model._n_features_outs)
    _refused(
        tmp_path,
        model,
        r"OneHotEncoder\._n_features_outs = \[1, 1, 1, 1\]",
        pyfunc_predict_fn="transform",
    )


def test_kmeans_centres_narrower_than_the_input_are_refused(tmp_path, data):
    from sklearn.cluster import KMeans

    model = KMeans(3, n_init=1, random_state=0).fit(data[0])
    model.cluster_centers_ = model.cluster_centers_[:, :2].copy()
    _refused(tmp_path, model, r"KMeans\.cluster_centers_ has shape \(3, 2\)")


def test_attribute_of_the_wrong_kind_is_refused_not_raised_raw(tmp_path, hgb):
    hgb._predictors = 5
    _refused(tmp_path, hgb, r"cannot be checked \(TypeError")


def test_walk_skips_scalars_and_classes_but_not_subclasses_of_scalars(data):
    # Scalars (Python or numpy) and classes hold nothing to check; an instance of a scalar
    # subclass may carry attributes, and those are walked.
    from sklearn.tree import DecisionTreeClassifier

    from saveur_sklearn._indices import check_indices

    class Tagged(int):
        pass

    model = _fitted_tree(data)
    model.extra_ = [np.int64(3), np.float32(1.5), 7, "s", DecisionTreeClassifier]
    check_indices(model, "model.skops")

    bad = _fitted_tree(data)
    _edit_nodes(bad.tree_, feature=(0, 40))
    tagged = Tagged(3)
    tagged.inner = bad
    model.extra_.append(tagged)
    with pytest.raises(IntegrityError, match=r"extra_\[5\]\.inner\.tree_\.feature\[0\] = 40"):
        check_indices(model, "model.skops")
