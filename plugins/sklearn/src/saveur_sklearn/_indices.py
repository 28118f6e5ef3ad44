"""Checks of the index structures an untrusted model hands to scikit-learn's compiled code.

scikit-learn's Cython and C code follows the indices stored in a fitted model without bounds
checks: a decision tree's child and feature indices, a HistGradientBoosting predictor's
nodes and category bitsets, a KD/ball tree's index array and node ranges, libsvm's support
vector counts, a sparse matrix's ``indptr``/``indices``. ``Tree.__setstate__`` checks dtypes
only, so a skops file with one child index out of range loads and then crashes the process
at the first ``predict``. Every such structure in a model loaded without ``trust_code`` is
checked here, after construction and before the model is returned; a bad value raises
:class:`~saveur.errors.IntegrityError` naming the attribute path and the value.

The rules are the invariants scikit-learn's own builders keep, so every fitted model passes:
tree children come after their parent (which also rules out cycles), features are within the
input width the estimator validates, arrays have the sizes the compiled loops assume.
"""

from __future__ import annotations

from typing import Any

from saveur.errors import IntegrityError

#: A tree leaf's child index and its feature (sklearn's TREE_LEAF and TREE_UNDEFINED).
_LEAF = -1
_UNDEFINED = -2
#: HistGradientBoosting category bitsets: 8 words of 32 bits, categories 0..255.
_BITSET_WORDS = 8
_MAX_CATEGORY = 255


class _Bad(Exception):
    """One failed check: the attribute (relative to the object checked) and what is wrong."""


def check_indices(model: object, rel_name: str) -> None:
    """Refuse ``model`` if any index structure in it is out of range for scikit-learn."""
    try:
        _Walker().walk(model)
    except _Bad as e:
        raise IntegrityError(
            f"model file {rel_name!r} is inconsistent at {e}: refused, as scikit-learn "
            "would read outside its arrays; re-save the model from a trusted source"
        ) from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as e:
        # An attribute of the wrong kind where a check expects an array or a number.
        first = (str(e).splitlines() or [""])[0][:200]
        raise IntegrityError(
            f"model file {rel_name!r} holds an attribute that cannot be checked "
            f"({type(e).__name__}: {first}): refused; re-save the model from a trusted source"
        ) from None


class _Walker:
    """Visits every object reachable from the model once, checking each by its type."""

    def __init__(self) -> None:
        import numpy as np
        import scipy.sparse
        from sklearn.cluster._kmeans import _BaseKMeans
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
        from sklearn.neighbors._ball_tree import BallTree64
        from sklearn.neighbors._kd_tree import KDTree64
        from sklearn.svm._base import BaseLibSVM
        from sklearn.tree._tree import Tree

        self.np = np
        self.sparse = scipy.sparse
        self.Tree = Tree
        self.TreePredictor = TreePredictor
        self.binary_trees: tuple[type, ...] = (KDTree64, BallTree64)
        try:
            from sklearn.neighbors._ball_tree import BallTree32
            from sklearn.neighbors._kd_tree import KDTree32

            self.binary_trees += (KDTree32, BallTree32)
        except ImportError:  # scikit-learn < 1.6 has 64-bit trees only
            pass
        self.BaseLibSVM = BaseLibSVM
        self.BaseKMeans = _BaseKMeans
        self.seen: set[int] = set()
        self.later: list[tuple[object, str]] = []
        self.trees: list[tuple[Any, str]] = []
        self.leaf_types = _leaf_types(np)

    def walk(self, model: object) -> None:
        # A path is kept as (parent path, key) pairs and rendered only for an error message:
        # formatting one string per attribute was most of the walk's cost on a forest.
        stack: list[tuple[object, Any]] = [(model, type(model).__name__)]
        np = self.np
        ndarray = np.ndarray
        # Values with nothing to check inside, by exact type (a subclass may carry
        # attributes, so it is walked): Python and numpy scalars and None.
        leaves = self.leaf_types
        seen = self.seen
        while stack:
            obj, path = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, type):  # a class held as a value: nothing fitted inside
                continue
            if isinstance(obj, ndarray):
                if obj.dtype == object:
                    stack.extend(
                        (v, (path, i)) for i, v in enumerate(obj.ravel()) if type(v) not in leaves
                    )
                continue
            if isinstance(obj, (list, tuple)):
                stack.extend((v, (path, i)) for i, v in enumerate(obj) if type(v) not in leaves)
                continue
            if isinstance(obj, dict):
                stack.extend((v, (path, repr(k))) for k, v in obj.items() if type(v) not in leaves)
                continue
            self._check(obj, _Path(path))
            attrs = getattr(obj, "__dict__", None)
            if isinstance(attrs, dict):
                stack.extend(
                    (v, (path, "." + k))
                    for k, v in attrs.items()
                    if type(v) not in leaves and not (isinstance(v, ndarray) and v.dtype != object)
                )
        # Every tree's node arrays in one vectorised pass (a forest has hundreds of trees).
        _check_trees(np, self.trees)
        # Checks that run part of the model: only once everything above has passed.
        for obj, path in self.later:
            self._check_gradient_boosting_width(obj, path)

    def _check(self, obj: object, path: str) -> None:
        if isinstance(obj, self.Tree):
            _check_tree_header(obj, path)
            self.trees.append((obj, path))
        elif isinstance(obj, self.TreePredictor):
            _check_predictor_nodes(self.np, obj, path)
        elif isinstance(obj, self.binary_trees):
            _check_binary_tree(self.np, obj, path)
        elif self.sparse.issparse(obj):
            _check_sparse(self.np, obj, path)
        if isinstance(getattr(obj, "tree_", None), self.Tree):
            _check_tree_estimator(obj, path)
        if hasattr(obj, "estimators_") and hasattr(obj, "n_features_in_"):
            self._check_ensemble(obj, path)
        if hasattr(obj, "_predictors") and hasattr(obj, "_bin_mapper"):
            _check_hist_gradient_boosting(self.np, obj, path)
        if isinstance(obj, self.BaseLibSVM):
            _check_libsvm(self.np, obj, path)
        if isinstance(getattr(obj, "input", None), str) and hasattr(obj, "build_analyzer"):
            _check_text_input(obj, path)
        if isinstance(getattr(obj, "vocabulary_", None), dict):
            _check_vocabulary(obj, path)
        if hasattr(obj, "_n_features_outs") and hasattr(obj, "_compute_n_features_outs"):
            _check_one_hot(obj, path)
        if isinstance(obj, self.BaseKMeans):
            _check_centers(self.np, obj, path)

    def _check_ensemble(self, obj: Any, path: str) -> None:
        # Forests and gradient boosting call their trees with check_input=False, on input
        # validated against the ensemble's own width: every tree must fit inside it.
        members = obj.estimators_
        if isinstance(members, self.np.ndarray):
            flat = list(members.ravel())
        elif isinstance(members, (list, tuple)):
            flat = list(members)
        else:
            raise _Bad(f"{path}.estimators_ (a {type(members).__name__}, not a list)")
        width = _int(obj.n_features_in_, f"{path}.n_features_in_")
        features = getattr(obj, "estimators_features_", None)
        for i, member in enumerate(flat):
            tree = getattr(member, "tree_", None)
            if not isinstance(tree, self.Tree):
                continue
            if tree.n_features > width:
                raise _Bad(
                    f"{path}.estimators_[{i}].tree_.n_features = {tree.n_features} "
                    f"(the ensemble takes {width} features)"
                )
            if features is not None:
                try:
                    subset = len(features[i])
                except (TypeError, IndexError):
                    raise _Bad(f"{path}.estimators_features_[{i}] (missing)") from None
                if tree.n_features > subset:
                    raise _Bad(
                        f"{path}.estimators_[{i}].tree_.n_features = "
                        f"{tree.n_features} (its feature subset has {subset})"
                    )
        if hasattr(obj, "n_trees_per_iteration_") and hasattr(obj, "init_"):
            self._check_gradient_boosting_shape(obj, path)

    def _check_gradient_boosting_shape(self, obj: Any, path: str) -> None:
        # predict_stages writes column k of the raw predictions for estimators_[:, k]
        # without bounds checks.
        est = obj.estimators_
        if not isinstance(est, self.np.ndarray) or est.ndim != 2 or est.shape[0] < 1:
            raise _Bad(f"{path}.estimators_ (not a 2-D array of trees)")
        k = est.shape[1]
        if k != _int(obj.n_trees_per_iteration_, f"{path}.n_trees_per_iteration_"):
            raise _Bad(
                f"{path}.estimators_ has {k} trees per stage, "
                f"n_trees_per_iteration_ is {obj.n_trees_per_iteration_}"
            )
        for i, member in enumerate(est.ravel()):
            if not isinstance(getattr(member, "tree_", None), self.Tree):
                raise _Bad(f"{path}.estimators_[{i}] (not a fitted tree)")
        first = est[0, 0]
        if getattr(first, "n_features_in_", None) != obj.n_features_in_:
            raise _Bad(
                f"{path}.estimators_[0, 0].n_features_in_ = "
                f"{getattr(first, 'n_features_in_', None)} (expected "
                f"{obj.n_features_in_})"
            )
        if not (isinstance(obj.init_, str) and obj.init_ == "zero"):
            self.later.append((obj, path))

    def _check_gradient_boosting_width(self, obj: Any, path: str) -> None:
        # The width of the initial raw predictions comes from the init estimator; it is
        # measured on one row of zeros, now that that estimator has itself been checked.
        np = self.np
        k = obj.estimators_.shape[1]
        try:
            raw = obj._raw_predict_init(np.zeros((1, obj.n_features_in_)))
            width = raw.shape[1] if getattr(raw, "ndim", 0) == 2 else -1
        except Exception as e:  # an init estimator that cannot predict is refused too
            raise _Bad(f"{path}.init_ (cannot predict: {type(e).__name__})") from None
        if width < k:
            raise _Bad(f"{path}.init_ predicts {width} columns, estimators_ has {k} per stage")


class _Path:
    """A path rendered only when a message is formatted."""

    __slots__ = ("parts",)

    def __init__(self, parts: Any) -> None:
        self.parts = parts

    def __format__(self, spec: str) -> str:
        return _render(self.parts)

    __str__ = __repr__ = lambda self: _render(self.parts)


def _render(path: Any) -> str:
    """Turn nested (parent, key) pairs into ``Forest.estimators_[3].tree_``."""
    keys = []
    while isinstance(path, tuple):
        path, key = path
        keys.append(key if isinstance(key, str) and key.startswith(".") else f"[{key}]")
    return path + "".join(reversed(keys))


def _int(value: object, path: str) -> int:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _Bad(f"{path} = {value!r} (not an integer)")
    return int(value)


_LEAF_TYPES: list[frozenset[type]] = []


def _leaf_types(np: Any) -> frozenset[type]:
    """The exact types of values the walk skips: Python and numpy scalars, and None."""
    if not _LEAF_TYPES:
        scalars = {
            t
            for t in set(np.sctypeDict.values())
            if issubclass(
                t, (np.number, np.bool_, np.str_, np.bytes_, np.datetime64, np.timedelta64)
            )
        }
        _LEAF_TYPES.append(frozenset({str, bytes, int, float, bool, type(None)} | scalars))
    return _LEAF_TYPES[0]


def _first(mask: Any) -> int:
    return int(mask.nonzero()[0][0])


def _check_tree_header(tree: Any, path: str) -> None:
    """A decision tree's counts, checked before any of its node arrays is read."""
    # node_count comes from the file apart from the node array itself (capacity): reading
    # the node arrays before this check would read past the end.
    n, capacity = tree.node_count, tree.capacity
    if n < 1 or n != capacity:
        raise _Bad(f"{path}.node_count = {n} (the node array holds {capacity})")
    if tree.n_features < 1 or tree.n_outputs < 1:
        raise _Bad(f"{path}.n_features = {tree.n_features}, n_outputs = {tree.n_outputs}")


def _check_tree(np: Any, tree: Any, path: str) -> None:
    """A decision tree's node arrays (sklearn.tree._tree.Tree)."""
    _check_tree_header(tree, path)
    _check_trees(np, [(tree, path)])


#: Nodes checked in one vectorised pass: bounds the temporary arrays of a huge forest.
_BATCH_NODES = 1 << 18


def _check_trees(np: Any, trees: list[tuple[Any, str]]) -> None:
    """The arrays of trees whose headers passed, many trees to each vectorised pass.

    Per-tree numpy calls were most of a forest's check; here the child, feature and
    threshold arrays of a batch of trees are joined and every node is tested against its
    own tree's bounds (node count, input width). The detailed pass that names what is wrong
    runs only on the first tree that fails.
    """
    start = total = 0
    for i, (tree, _) in enumerate(trees):
        total += tree.node_count
        if total >= _BATCH_NODES or i == len(trees) - 1:
            _check_tree_batch(np, trees[start : i + 1])
            start, total = i + 1, 0
    for tree, path in trees:
        n_classes = np.asarray(tree.n_classes)
        expected = (tree.node_count, tree.n_outputs, tree.max_n_classes)
        if (
            tree.value.shape != expected
            or n_classes.shape != (tree.n_outputs,)
            or not (1 <= min(counts := n_classes.tolist()) and max(counts) <= tree.max_n_classes)
        ):
            raise _Bad(
                f"{path}.value has shape {tree.value.shape}, n_classes "
                f"{n_classes.tolist()} (expected {expected})"
            )


def _check_tree_batch(np: Any, trees: list[tuple[Any, str]]) -> None:
    nodes = [tree.__getstate__()["nodes"] for tree, _ in trees]
    if len(trees) == 1:
        tree = trees[0][0]
        left, right = nodes[0]["left_child"], nodes[0]["right_child"]
        feature, threshold = nodes[0]["feature"], nodes[0]["threshold"]
        n, width, ids = tree.node_count, tree.n_features, np.arange(tree.node_count)
        ends = None
    else:
        sizes = np.array([tree.node_count for tree, _ in trees], dtype=np.int64)
        ends = np.cumsum(sizes)
        left = np.concatenate([a["left_child"] for a in nodes])
        right = np.concatenate([a["right_child"] for a in nodes])
        feature = np.concatenate([a["feature"] for a in nodes])
        threshold = np.concatenate([a["threshold"] for a in nodes])
        # Per node: its index within its own tree, that tree's node count and input width.
        n = np.repeat(sizes, sizes)
        width = np.repeat(np.array([tree.n_features for tree, _ in trees], dtype=np.int64), sizes)
        ids = np.arange(int(ends[-1])) - np.repeat(ends - sizes, sizes)
    leaf = left == _LEAF
    # Children come after their parent in every tree scikit-learn builds: this bounds the
    # walk from the root and rules out cycles.
    ok = leaf == (right == _LEAF)
    ok &= np.where(
        leaf,
        feature == _UNDEFINED,
        (left > ids)
        & (left < n)
        & (right > ids)
        & (right < n)
        & (feature >= 0)
        & (feature < width)
        & ~np.isnan(threshold),
    )
    if not ok.all():
        k = 0 if ends is None else int(np.searchsorted(ends, _first(~ok), side="right"))
        tree, path = trees[k]
        _explain_tree(np, tree, nodes[k], path)


def _explain_tree(np: Any, tree: Any, nodes: Any, path: str) -> None:
    n = tree.node_count
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == _LEAF
    bad = leaf != (right == _LEAF)
    if bad.any():
        i = _first(bad)
        raise _Bad(
            f"{path}.children_left/right[{i}] = {left[i]}, {right[i]} "
            "(one child is a leaf marker, the other is not)"
        )
    ids = np.arange(n)
    # Children come after their parent in every tree scikit-learn builds: this bounds the
    # walk from the root and rules out cycles.
    for name, child in (("children_left", left), ("children_right", right)):
        bad = ~leaf & ((child <= ids) | (child >= n))
        if bad.any():
            i = _first(bad)
            raise _Bad(f"{path}.{name}[{i}] = {child[i]} (must be in ({i}, {n}))")
    bad = ~leaf & ((feature < 0) | (feature >= tree.n_features))
    bad |= leaf & (feature != _UNDEFINED)
    if bad.any():
        i = _first(bad)
        raise _Bad(
            f"{path}.feature[{i}] = {feature[i]} (must be in [0, {tree.n_features}) "
            f"for a split, {_UNDEFINED} for a leaf)"
        )
    raise _Bad(f"{path}.threshold[{_first(~leaf & np.isnan(nodes['threshold']))}] = nan")


def _check_tree_estimator(est: Any, path: str) -> None:
    """A tree estimator validates input against n_features_in_; its tree must agree."""
    tree = est.tree_
    width = getattr(est, "n_features_in_", None)
    if width is not None and tree.n_features != width:
        raise _Bad(f"{path}.tree_.n_features = {tree.n_features} (n_features_in_ is {width})")
    outputs = getattr(est, "n_outputs_", None)
    if outputs is not None and tree.n_outputs != outputs:
        raise _Bad(f"{path}.tree_.n_outputs = {tree.n_outputs} (n_outputs_ is {outputs})")


def _predictor_nodes(np: Any, predictor: Any, path: str) -> Any:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes = predictor.nodes
    if (
        not isinstance(nodes, np.ndarray)
        or nodes.dtype != PREDICTOR_RECORD_DTYPE
        or (nodes.ndim != 1 or nodes.size < 1)
    ):
        raise _Bad(f"{path}.nodes (not a 1-D array of predictor nodes)")
    return nodes


def _check_predictor_nodes(np: Any, predictor: Any, path: str) -> None:
    """A HistGradientBoosting TreePredictor: children and bitset rows."""
    nodes = _predictor_nodes(np, predictor, path)
    n = nodes.size
    inner = nodes["is_leaf"] == 0
    ids = np.arange(n)
    for name in ("left", "right"):
        child = nodes[name].astype(np.int64)
        bad = inner & ((child <= ids) | (child >= n))
        if bad.any():
            i = _first(bad)
            raise _Bad(f"{path}.nodes[{i}].{name} = {child[i]} (must be in ({i}, {n}))")
    for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bits = getattr(predictor, name)
        if not isinstance(bits, np.ndarray) or bits.ndim != 2 or (bits.shape[1] != _BITSET_WORDS):
            raise _Bad(
                f"{path}.{name} has shape {getattr(bits, 'shape', None)} "
                f"(expected (n, {_BITSET_WORDS}))"
            )
        categorical = inner & (nodes["is_categorical"] != 0)
        bad = categorical & (nodes["bitset_idx"].astype(np.int64) >= bits.shape[0])
        if bad.any():
            i = _first(bad)
            raise _Bad(
                f"{path}.nodes[{i}].bitset_idx = {nodes['bitset_idx'][i]} "
                f"({name} has {bits.shape[0]} rows)"
            )


def _check_hist_gradient_boosting(np: Any, est: Any, path: str) -> None:
    """Predictor features against the input width and the known categories."""
    width = _int(getattr(est, "n_features_in_", None), f"{path}.n_features_in_")
    mapper = est._bin_mapper
    is_cat = getattr(mapper, "is_categorical_", None)
    if is_cat is None:
        is_cat = np.zeros(width, dtype=np.uint8)
    is_cat = np.asarray(is_cat)
    if is_cat.shape != (width,):
        raise _Bad(
            f"{path}._bin_mapper.is_categorical_ has shape {is_cat.shape} "
            f"(the model takes {width} features)"
        )
    thresholds = mapper.bin_thresholds_
    for f in np.flatnonzero(is_cat):
        cats = np.asarray(thresholds[f], dtype=np.float64)
        bad = ~((cats >= 0) & (cats <= _MAX_CATEGORY) & (cats == np.round(cats)))
        if bad.any():
            raise _Bad(
                f"{path}._bin_mapper.bin_thresholds_[{f}] holds category "
                f"{cats[bad][0]} (must be an integer in [0, {_MAX_CATEGORY}])"
            )
    _check_hgb_preprocessor(np, est, width, path)
    for it, stage in enumerate(est._predictors):
        for k, predictor in enumerate(stage):
            where = f"{path}._predictors[{it}][{k}]"
            nodes = _predictor_nodes(np, predictor, where)
            inner = nodes["is_leaf"] == 0
            feature = nodes["feature_idx"].astype(np.int64)
            bad = inner & ((feature < 0) | (feature >= width))
            if bad.any():
                i = _first(bad)
                raise _Bad(
                    f"{where}.nodes[{i}].feature_idx = {feature[i]} (must be in [0, {width}))"
                )
            # A categorical split looks the feature up in the known-category bitsets, which
            # exist only for features the binner marks categorical.
            bad = (
                inner
                & (nodes["is_categorical"] != 0)
                & (is_cat[np.clip(feature, 0, width - 1)] == 0)
            )
            if bad.any():
                i = _first(bad)
                raise _Bad(
                    f"{where}.nodes[{i}] splits on feature {feature[i]} as "
                    "categorical, which the binner does not mark categorical"
                )


def _check_hgb_preprocessor(np: Any, est: Any, width: int, path: str) -> None:
    # With categorical features the input goes through an OrdinalEncoder inside a
    # ColumnTransformer first; the predictors index its output, which must keep the width.
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return
    import functools

    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder
    from sklearn.utils.validation import check_array

    total = 0
    for name, transformer, columns in getattr(pre, "transformers_", None) or ():
        if isinstance(transformer, str) and transformer == "drop":
            continue
        func = getattr(transformer, "func", None)
        keeps_width = (
            isinstance(transformer, OrdinalEncoder)
            or (isinstance(transformer, str) and transformer == "passthrough")
            or (
                isinstance(transformer, FunctionTransformer)
                and (
                    func is None
                    or (isinstance(func, functools.partial) and func.func is check_array)
                )
            )
        )
        if not keeps_width:
            raise _Bad(
                f"{path}._preprocessor transformer {name!r} "
                f"({type(transformer).__name__}, which may change the width)"
            )
        try:
            cols = np.asarray(columns)
            total += int(cols.sum()) if cols.dtype == bool else len(cols)
        except TypeError:
            raise _Bad(f"{path}._preprocessor columns of {name!r}") from None
    if total != width:
        raise _Bad(f"{path}._preprocessor outputs {total} columns (the model takes {width})")


def _check_binary_tree(np: Any, tree: Any, path: str) -> None:
    """A KDTree or BallTree: index array, node ranges, bounds and metric sizes."""
    state = tree.__getstate__()
    data, idx, node_data, bounds = (np.asarray(a) for a in state[:4])
    n_levels, n_nodes = state[5], state[6]
    metric, weights = state[11], state[12]
    if data.ndim != 2 or data.shape[0] < 1:
        raise _Bad(f"{path}.data has shape {data.shape}")
    n, width = data.shape
    if idx.shape != (n,) or (idx < 0).any() or (idx >= n).any():
        raise _Bad(f"{path}.idx_array (shape {idx.shape}, values must be in [0, {n}))")
    if n_nodes < 1 or n_nodes != 2**n_levels - 1 or node_data.shape != (n_nodes,):
        raise _Bad(
            f"{path}.node_data has {node_data.shape} entries, n_nodes = {n_nodes}, "
            f"n_levels = {n_levels}"
        )
    start, end = node_data["idx_start"], node_data["idx_end"]
    bad = (start < 0) | (start > end) | (end > n)
    if bad.any():
        i = _first(bad)
        raise _Bad(f"{path}.node_data[{i}] covers [{start[i]}, {end[i]}) (must be within [0, {n}])")
    # A query descends from node i to 2i+1 and 2i+2 unless i is a leaf.
    inner = np.flatnonzero(node_data["is_leaf"] == 0)
    if inner.size and 2 * int(inner.max()) + 2 >= n_nodes:
        raise _Bad(f"{path}.node_data[{int(inner.max())}] is not a leaf but has no children")
    if bounds.ndim != 3 or bounds.shape[1:] != (n_nodes, width) or bounds.shape[0] not in (1, 2):
        raise _Bad(f"{path}.node_bounds has shape {bounds.shape}")
    if weights is not None and np.asarray(weights).shape != (n,):
        raise _Bad(f"{path}.sample_weight has shape {np.asarray(weights).shape}")
    _check_metric(np, metric, width, f"{path}.dist_metric")


def _check_metric(np: Any, metric: Any, width: int, path: str) -> None:
    # Weighted metrics read one weight (or one matrix row) per feature.
    try:
        _p, vec, mat = metric.__getstate__()[:3]
    except Exception:
        raise _Bad(f"{path} ({type(metric).__name__}) has no readable state") from None
    name = type(metric).__name__
    vec, mat = np.asarray(vec), np.asarray(mat)
    if name.startswith("SEuclidean") and vec.shape != (width,):
        raise _Bad(f"{path}.V has {vec.size} entries (expected {width})")
    if name.startswith("Minkowski") and vec.size not in (0, width):
        raise _Bad(f"{path}.w has {vec.size} entries (expected {width})")
    if name.startswith("Mahalanobis") and mat.shape != (width, width):
        raise _Bad(f"{path}.VI has shape {mat.shape} (expected ({width}, {width}))")


def _check_sparse(np: Any, matrix: Any, path: str) -> None:
    """A scipy sparse matrix: indices within its shape, indptr consistent."""
    fmt = matrix.format
    try:
        if fmt in ("csr", "csc", "bsr"):
            matrix.check_format(full_check=True)
        elif fmt == "coo":
            rows, cols = matrix.shape
            coords = matrix.coords if hasattr(matrix, "coords") else (matrix.row, matrix.col)
            r, c = coords
            if (
                r.shape != c.shape
                or r.shape != matrix.data.shape
                or (r.size and (r.min() < 0 or r.max() >= rows or c.min() < 0 or c.max() >= cols))
            ):
                raise ValueError("coordinates out of range")
        else:
            raise ValueError(f"format {fmt!r} is not read from untrusted models")
    except (ValueError, TypeError, IndexError) as e:
        raise _Bad(f"{path} ({fmt} sparse matrix: {e})") from None


def _check_libsvm(np: Any, est: Any, path: str) -> None:
    """libsvm's C code sizes its loops by _n_support and reads support vectors by it."""
    if not hasattr(est, "support_"):
        return
    support = np.asarray(est.support_)
    n_support = np.asarray(est._n_support)
    sv = est.support_vectors_
    n_sv = support.shape[0] if support.ndim == 1 else -1
    if n_support.ndim != 1 or (n_support < 0).any():
        raise _Bad(f"{path}._n_support = {n_support.tolist()}")
    n_class = n_support.shape[0]
    classifies = est._impl in ("c_svc", "nu_svc")
    if classifies and int(n_support.sum()) != n_sv:
        raise _Bad(
            f"{path}._n_support sums to {int(n_support.sum())} (support_ has {n_sv} entries)"
        )
    precomputed = (
        isinstance(est.kernel, str) and est.kernel == "precomputed" or callable(est.kernel)
    )
    if precomputed:
        fit_rows = int(est.shape_fit_[0])
        if n_sv and (support.min() < 0 or support.max() >= fit_rows):
            raise _Bad(f"{path}.support_ holds {support.max()} (must be in [0, {fit_rows}))")
    elif sv.shape[0] != n_sv or (
        n_sv and sv.shape[1] != getattr(est, "n_features_in_", sv.shape[1])
    ):
        raise _Bad(f"{path}.support_vectors_ has shape {sv.shape} (support_ has {n_sv} entries)")
    dual = est._dual_coef_
    rows = max(n_class - 1, 1) if classifies else 1
    if dual.shape != (rows, n_sv):
        raise _Bad(f"{path}.dual_coef_ has shape {dual.shape} (expected ({rows}, {n_sv}))")
    pairs = n_class * (n_class - 1) // 2 if classifies else 1
    if np.asarray(est._intercept_).shape != (pairs,):
        raise _Bad(
            f"{path}.intercept_ has shape {np.asarray(est._intercept_).shape} (expected ({pairs},))"
        )
    for name in ("_probA", "_probB"):
        size = np.asarray(getattr(est, name)).size
        if size not in (0, pairs):
            raise _Bad(f"{path}.{name} has {size} entries (expected 0 or {pairs})")


def _check_text_input(est: Any, path: str) -> None:
    # input='filename' or 'file' makes transform() open the paths a request sends.
    if est.input != "content":
        raise _Bad(
            f"{path}.input = {est.input!r} (a served model must take 'content'; "
            "'filename' and 'file' read files named by the request)"
        )


def _check_vocabulary(est: Any, path: str) -> None:
    # Count and dict vectorizers use vocabulary_ values as column indices of a sparse matrix
    # of len(vocabulary_) columns, which scipy's C++ code then follows.
    import numbers

    vocab = est.vocabulary_
    n = len(vocab)
    for term, column in vocab.items():
        if (
            isinstance(column, bool)
            or not isinstance(column, numbers.Integral)
            or not (0 <= column < n)
        ):
            raise _Bad(f"{path}.vocabulary_[{term!r}] = {column!r} (must be in [0, {n}))")


def _check_one_hot(est: Any, path: str) -> None:
    # transform() builds a sparse matrix whose width is sum(_n_features_outs) and whose
    # column indices come from categories_: the two must agree.
    try:
        expected = [int(n) for n in est._compute_n_features_outs()]
    except Exception as e:
        raise _Bad(f"{path}.categories_ ({type(e).__name__})") from None
    stored = est._n_features_outs
    if not isinstance(stored, list | tuple) or [int(n) for n in stored] != expected:
        raise _Bad(f"{path}._n_features_outs = {stored!r} (its categories give {expected})")


def _check_centers(np: Any, est: Any, path: str) -> None:
    # KMeans' Cython assigns labels reading len(X[0]) values from each centre.
    centers = np.asarray(est.cluster_centers_)
    width = getattr(est, "n_features_in_", None)
    if (
        centers.ndim != 2
        or centers.shape[0] < 1
        or (width is not None and centers.shape[1] != width)
    ):
        raise _Bad(
            f"{path}.cluster_centers_ has shape {centers.shape} (the model takes {width} features)"
        )
