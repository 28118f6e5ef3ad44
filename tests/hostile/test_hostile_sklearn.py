"""Hostile scikit-learn model files: skops gadgets and pickles without the caller's trust."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.errors import SaveurError, TrustError, UnsafePathError

pytest.importorskip("sklearn")
pytest.importorskip("skops")
pytest.importorskip("saveur_sklearn")


@pytest.fixture(scope="module")
def xy():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    return X, (X[:, 0] > 0).astype(int)


@pytest.fixture
def transformer_dir(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "ft"
    saveur.save_model(FunctionTransformer(func=np.log1p), path, pyfunc_predict_fn="transform")
    return path


@pytest.fixture
def tree_dir(tmp_path, xy):
    from sklearn.tree import DecisionTreeClassifier

    path = tmp_path / "tree"
    saveur.save_model(DecisionTreeClassifier(random_state=0).fit(*xy), path)
    return path


def _rewrite_schema(model_dir, change):
    """Edit model.skops's schema.json and drop saveur's digests (as an MLflow model has none)."""
    file = model_dir / "model.skops"
    with zipfile.ZipFile(file) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    schema = json.loads(members["schema.json"])
    change(schema)
    members["schema.json"] = json.dumps(schema).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    file.write_bytes(buf.getvalue())
    _strip_digests(model_dir)


def _strip_digests(model_dir):
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    doc.pop("saveur", None)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


def _find(node, loader):
    if isinstance(node, dict):
        if node.get("__loader__") == loader:
            yield node
        for value in node.values():
            yield from _find(value, loader)
    elif isinstance(node, list):
        for value in node:
            yield from _find(value, loader)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("os", "system"),
        ("subprocess", "getoutput"),
        ("importlib", "import_module"),
    ],
)
def test_skops_function_reference_to_dangerous_callable_is_refused(transformer_dir, module, name):
    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.update({"__module__": module, "__class__": name})

    _rewrite_schema(transformer_dir, change)
    with pytest.raises(TrustError, match=rf"does not vouch for: {module}\.{name}"):
        saveur.pyfunc.load_model(transformer_dir)
    with pytest.raises(TrustError, match="trusted_types="):
        saveur.load_model(transformer_dir)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("subprocess", "Popen"),
        ("os", "_wrap_close"),
        ("numpy", "memmap"),
        ("numpy.lib._npyio_impl", "NpzFile"),
        ("sklearn.datasets._base", "Bunch"),
        ("numpy.testing", "TestCase"),
        ("scipy.io", "FortranFile"),
    ],
)
def test_skops_object_of_unvouched_class_is_refused(transformer_dir, module, name):
    def change(schema):
        schema.update({"__module__": module, "__class__": name})

    _rewrite_schema(transformer_dir, change)
    with pytest.raises(TrustError, match="does not vouch for"):
        saveur.pyfunc.load_model(transformer_dir)


def test_skops_reduce_node_naming_eval_is_refused(tree_dir):
    """A __reduce__-style node whose class is builtins.eval: refused before construction."""

    def change(schema):
        nodes = list(_find(schema, "TreeNode"))
        assert nodes, "a fitted tree is stored through skops' reduce-based TreeNode"
        nodes[0].update({"__module__": "builtins", "__class__": "eval"})

    _rewrite_schema(tree_dir, change)
    with pytest.raises(TrustError, match="builtins.eval"):
        saveur.pyfunc.load_model(tree_dir)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update({"__loader__": "NoSuchNode"}),
        lambda s: s.update({"__loader__": None}),
        lambda s: s.pop("__module__"),
        lambda s: s.update({"content": "not a dict"}),
        lambda s: s.update({"__id__": "x", "content": {"__loader__": 5}}),
    ],
    ids=["unknown-loader", "null-loader", "no-module", "content-string", "bad-child"],
)
def test_malformed_skops_schema_is_a_saveur_error(transformer_dir, change):
    _rewrite_schema(transformer_dir, change)
    with pytest.raises(SaveurError):
        saveur.pyfunc.load_model(transformer_dir)


def test_skops_file_that_is_not_a_zip_is_an_integrity_error(transformer_dir):
    (transformer_dir / "model.skops").write_bytes(b"not a zip at all")
    _strip_digests(transformer_dir)
    with pytest.raises(SaveurError, match="not a valid skops file"):
        saveur.pyfunc.load_model(transformer_dir)


class _Gadget:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned')",))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_pickle_formats_need_trust(tree_dir, fmt):
    (tree_dir / "model.skops").unlink()
    (tree_dir / "model.pkl").write_bytes(pickle.dumps(_Gadget()))
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc.pop("saveur")
    doc["flavors"]["sklearn"].update(serialization_format=fmt, pickled_model="model.pkl")
    doc["flavors"]["python_function"]["model_path"] = "model.pkl"
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match=f"model.pkl' \\({fmt}\\) would run code"):
        saveur.pyfunc.load_model(tree_dir)
    with pytest.raises(TrustError):
        saveur.load_model(tree_dir)


def test_mlflow_style_model_without_serialization_format_is_a_pickle(tree_dir):
    # Old MLflow models record no serialization_format: they are pickles, so trust is needed.
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc.pop("saveur")
    doc["flavors"]["sklearn"].pop("serialization_format")
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match="would run code"):
        saveur.pyfunc.load_model(tree_dir)


def test_skops_trusted_types_in_mlmodel_grant_nothing(transformer_dir):
    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.update({"__module__": "builtins", "__class__": "eval"})

    _rewrite_schema(transformer_dir, change)
    doc = yaml.safe_load((transformer_dir / "MLmodel").read_text())
    doc["flavors"]["sklearn"]["skops_trusted_types"] = ["builtins.eval"]
    (transformer_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(TrustError, match="builtins.eval"):
        saveur.pyfunc.load_model(transformer_dir)


@pytest.mark.parametrize("value", ["../model.skops", "/etc/passwd", "a/../../model.skops"])
def test_pickled_model_path_outside_the_model_is_refused(tree_dir, value):
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc["flavors"]["sklearn"]["pickled_model"] = value
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(UnsafePathError):
        saveur.pyfunc.load_model(tree_dir, verify=False)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("serialization_format", ["skops"]),
        ("serialization_format", {"a": 1}),
        ("serialization_format", 5),
        ("pickled_model", 5),
        ("pickled_model", None),
        ("pickled_model", ["model.skops"]),
    ],
)
def test_sklearn_flavor_wrong_types_are_saveur_errors(tree_dir, key, value):
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc["flavors"]["sklearn"][key] = value
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(SaveurError):
        saveur.pyfunc.load_model(tree_dir, verify=False)


@pytest.mark.parametrize(
    "predict_fn", ["__class__", "fit", "__reduce__", "set_params", 5, ["predict"]]
)
def test_predict_fn_outside_the_allowed_methods_is_refused(tree_dir, predict_fn):
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc["flavors"]["python_function"]["predict_fn"] = predict_fn
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(SaveurError, match="predict_fn"):
        saveur.pyfunc.load_model(tree_dir, verify=False)


def test_mlflow_loader_module_without_its_flavor_entry_is_an_mlmodel_error(tree_dir):
    doc = yaml.safe_load((tree_dir / "MLmodel").read_text())
    doc["flavors"].pop("sklearn")
    doc["flavors"]["python_function"]["loader_module"] = "mlflow.sklearn"
    (tree_dir / "MLmodel").write_text(yaml.safe_dump(doc))
    with pytest.raises(SaveurError, match="no 'pickled_model' file name|no 'sklearn' flavor entry"):
        saveur.pyfunc.load_model(tree_dir, verify=False)


# --- skops payloads: each class of gadget is refused before anything runs (issue 9, item 1)


def _schema_of(obj):
    """The skops schema of ``obj`` alone, to splice into another file as an attacker would."""
    import skops.io

    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))) as zf:
        return json.loads(zf.read("schema.json"))


def _replace_func(model_dir, node):
    """Put ``node`` where the FunctionTransformer's ``func`` is."""

    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.clear()
        func.update(node)

    _rewrite_schema(model_dir, change)


def _predict_runs_payload(model_dir, marker):
    """Load with trust_code=True and transform: shows the payload is live when trusted."""
    model = saveur.load_model(model_dir, trust_code=True, verify=False)
    try:
        model.transform(np.ones((2, 2)))
    except Exception:  # the payload's own return value may break transform; it ran already
        pass
    return marker.exists()


def test_scipy_distribution_whose_setstate_execs_a_string_is_refused(tmp_path):
    """scipy.stats distributions exec() their stored argument-parser template on load."""
    import scipy.stats
    from sklearn.preprocessing import FunctionTransformer

    marker = tmp_path / "pwned"
    path = tmp_path / "ft"
    saveur.save_model(FunctionTransformer(kw_args={"dist": scipy.stats.norm}), path,
                      pyfunc_predict_fn="transform")

    def change(schema):
        (dist,) = [n for n in _find(schema, "ObjectNode") if n["__class__"] == "norm_gen"]
        template = dist["content"]["content"]["_parse_arg_template"]
        code = json.loads(template["content"])
        payload = f"import pathlib; pathlib.Path({str(marker)!r}).touch()\n"
        template["content"] = json.dumps(payload + code)
        template.pop("__id__", None)

    _rewrite_schema(path, change)
    with pytest.raises(TrustError, match=r"scipy\.stats\._continuous_distns\.norm_gen"):
        saveur.pyfunc.load_model(path, verify=False)
    with pytest.raises(TrustError, match="norm_gen"):
        saveur.load_model(path, verify=False)
    assert not marker.exists()
    # The same file with the caller's trust does run the payload: the refusal above is
    # what kept it from running.
    saveur.load_model(path, trust_code=True, verify=False)
    assert marker.exists()


def test_operator_methodcaller_writing_a_file_is_refused(transformer_dir, tmp_path):
    """methodcaller('tofile', path) as func: transform() would write the request to disk."""
    import operator

    marker = tmp_path / "written"
    _replace_func(transformer_dir, _schema_of(operator.methodcaller("tofile", str(marker))))
    with pytest.raises(TrustError, match=r"operator\.methodcaller"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)
    assert not marker.exists()
    assert _predict_runs_payload(transformer_dir, marker)


@pytest.mark.parametrize("getter", ["attrgetter", "itemgetter"])
def test_operator_getters_are_refused(transformer_dir, getter):
    import operator

    _replace_func(transformer_dir, _schema_of(getattr(operator, getter)("T")))
    with pytest.raises(TrustError, match=rf"operator\.{getter}"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)


def test_bound_method_of_a_vouched_estimator_is_refused(transformer_dir, xy):
    """A MethodNode names a method to call, even on a class the plugin vouches for."""
    import skops.io
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    # saveur refuses to save this (not importable by name); skops writes it all the same.
    func = DecisionTreeClassifier().fit(*xy).predict_proba
    (transformer_dir / "model.skops").write_bytes(skops.io.dumps(FunctionTransformer(func)))
    _strip_digests(transformer_dir)
    with pytest.raises(TrustError, match=r"DecisionTreeClassifier\.predict_proba"):
        saveur.pyfunc.load_model(transformer_dir)


def test_constructor_call_of_an_unvouched_class_is_refused(transformer_dir, tmp_path):
    """ConstructorFromReduceNode calls cls(*args) on load: subprocess.Popen(['touch', ...])."""
    marker = tmp_path / "spawned"
    _replace_func(transformer_dir, {
        "__class__": "Popen", "__module__": "subprocess",
        "__loader__": "ConstructorFromReduceNode",
        "content": _schema_of((["touch", str(marker)],)),
    })
    with pytest.raises(TrustError, match=r"subprocess\.Popen"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)
    assert not marker.exists()


def test_object_node_of_an_unvouched_class_with_state_is_refused(transformer_dir):
    """ObjectNode: cls.__new__ then __setstate__(state from the file)."""
    _replace_func(transformer_dir, {
        "__class__": "rv_continuous_frozen", "__module__": "scipy.stats._distn_infrastructure",
        "__loader__": "ObjectNode", "content": _schema_of({"args": (), "kwds": {}}),
    })
    with pytest.raises(TrustError, match=r"rv_continuous_frozen"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("numpy", "load"),
        ("numpy.lib.format", "open_memmap"),
        ("numpy", "fromfile"),
        ("scipy.io", "loadmat"),
        ("sklearn.datasets", "fetch_openml"),
        ("sklearn.datasets", "load_svmlight_file"),
        ("sklearn.utils._testing", "create_memmap_backed_data"),
        ("sklearn.utils", "all_estimators"),
        ("importlib", "import_module"),
        ("pickle", "loads"),
    ],
)
def test_function_reference_outside_the_short_list_is_refused(transformer_dir, module, name):
    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.update({"__module__": module, "__class__": name})

    _rewrite_schema(transformer_dir, change)
    with pytest.raises(TrustError, match=rf"{module}\.{name}"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)


@pytest.mark.parametrize("loader", ["TypeNode", "PartialNode"])
def test_function_reached_through_a_type_or_partial_is_refused(transformer_dir, loader):
    import functools

    if loader == "TypeNode":
        node = {"__class__": "system", "__module__": "os", "__loader__": "TypeNode"}
    else:
        node = _schema_of(functools.partial(np.round, decimals=1))
        (inner,) = _find(node, "FunctionNode")
        inner.update({"__module__": "os", "__class__": "system"})
    _replace_func(transformer_dir, node)
    with pytest.raises(TrustError, match=r"os\.system"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)


def test_vouched_type_named_as_a_function_is_refused(transformer_dir):
    """The type and function lists are separate: a vouched class is no vouched function."""

    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.update({"__module__": "sklearn.tree._tree", "__class__": "Tree"})

    _rewrite_schema(transformer_dir, change)
    with pytest.raises(TrustError, match=r"sklearn\.tree\._tree\.Tree"):
        saveur.pyfunc.load_model(transformer_dir, verify=False)


def test_callers_trusted_types_admit_an_unvouched_function(transformer_dir):
    def change(schema):
        (func,) = _find(schema, "FunctionNode")
        func.update({"__module__": "numpy", "__class__": "negative"})  # a ufunc: vouched
    _rewrite_schema(transformer_dir, change)
    model = saveur.load_model(transformer_dir, verify=False)
    np.testing.assert_array_equal(model.transform(np.ones((1, 2))), -np.ones((1, 2)))


# --- corrupt index structures never crash the process (issue 9, item 5)

_PREDICT_IN_CHILD = """
import sys
import numpy as np
import saveur.pyfunc
from saveur.errors import SaveurError

try:
    model = saveur.pyfunc.load_model(sys.argv[1], verify=False)
except SaveurError as e:
    print("REFUSED", type(e).__name__, e)
    raise SystemExit(0)
model.predict(np.random.RandomState(0).rand(50, int(sys.argv[2])) * 4)
print("PREDICTED")
"""


def _predict_in_subprocess(model_dir, width):
    """Load and predict in a child process: a crash there fails the test, not pytest."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SAVEUR_TRUST_CODE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-c", _PREDICT_IN_CHILD, str(model_dir), str(width)],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    return done.stdout


def _corrupt_tree(model):
    state = model.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = 1 << 40  # a child far outside the node array
    state["nodes"] = nodes
    model.tree_.__setstate__(state)


def _corrupt_forest_feature(model):
    tree = model.estimators_[0].tree_
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes["feature"][0] = 1 << 30
    state["nodes"] = nodes
    tree.__setstate__(state)


def _corrupt_hgb(model):
    predictor = model._predictors[0][0]
    predictor.nodes = predictor.nodes.copy()
    predictor.nodes["left"][0] = 1 << 30


def _corrupt_kd_tree(model):
    state = list(model._tree.__getstate__())
    idx = np.array(state[1], copy=True)
    idx[:] = 1 << 40
    state[1] = idx
    model._tree.__setstate__(tuple(state))


def _corrupt_svc(model):
    model._n_support = (model._n_support * 1000).astype(np.int32)


def _corrupt_sparse_coef(model):
    model.coef_.indices[:] = 1 << 30


def _model(kind, xy):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    fitted = {
        "tree": lambda: DecisionTreeClassifier(random_state=0).fit(*xy),
        "forest": lambda: RandomForestClassifier(3, random_state=0).fit(*xy),
        "hist-gradient-boosting": lambda: HistGradientBoostingClassifier(max_iter=2).fit(*xy),
        "kd-tree": lambda: KNeighborsClassifier(algorithm="kd_tree").fit(*xy),
        "svc": lambda: SVC().fit(*xy),
        "sparse-coef": lambda: LogisticRegression().fit(*xy).sparsify(),
    }
    return fitted[kind]()


_CORRUPT = {
    "tree": (_corrupt_tree, r"tree_\.children_left\[0\]"),
    "forest": (_corrupt_forest_feature, r"estimators_\[0\]\.tree_\.feature\[0\]"),
    "hist-gradient-boosting": (_corrupt_hgb, r"_predictors\[0\]\[0\]\.nodes\[0\]\.left"),
    "kd-tree": (_corrupt_kd_tree, r"_tree\.idx_array"),
    "svc": (_corrupt_svc, r"_n_support sums to"),
    "sparse-coef": (_corrupt_sparse_coef, r"coef_ \(csr sparse matrix"),
}


@pytest.mark.parametrize("kind", sorted(_CORRUPT))
def test_corrupt_index_structure_is_refused_and_never_crashes_predict(tmp_path, xy, kind):
    import re

    model = _model(kind, xy)
    corrupt, attribute = _CORRUPT[kind]
    corrupt(model)
    path = tmp_path / kind
    saveur.save_model(model, path)
    _strip_digests(path)  # as a hostile MLflow-format model would come, with no digests
    out = _predict_in_subprocess(path, xy[0].shape[1])
    assert out.startswith("REFUSED IntegrityError"), out
    assert re.search(attribute, out), out
    assert "model.skops" in out


def test_sound_models_still_predict_in_a_subprocess(tmp_path, xy):
    path = tmp_path / "forest"
    saveur.save_model(_model("forest", xy), path)
    assert _predict_in_subprocess(path, xy[0].shape[1]).startswith("PREDICTED")


def test_loss_node_renamed_to_a_function_is_refused(tmp_path, xy):
    """LossNode calls the class it names with arguments from the file."""
    from sklearn.linear_model import SGDClassifier

    path = tmp_path / "sgd"
    saveur.save_model(SGDClassifier(random_state=0).fit(*xy), path)

    def change(schema):
        (loss,) = _find(schema, "LossNode")
        loss.update({"__module__": "os", "__class__": "system"})

    _rewrite_schema(path, change)
    with pytest.raises(TrustError, match=r"os\.system"):
        saveur.pyfunc.load_model(path)
