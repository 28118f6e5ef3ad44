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
