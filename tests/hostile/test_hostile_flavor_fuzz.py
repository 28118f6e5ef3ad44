"""Every flavor key of real saved models set to every hostile value: SaveurError or a load."""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.errors import SaveurError

_HOSTILE = [
    None,
    5,
    1.5,
    True,
    "",
    "../x",
    "/etc/passwd",
    "a/../../x",
    [],
    [1],
    {},
    {"a": 1},
    {1: 2},
    "\x00",
    -1,
    {"path": "../x"},
    {"path": 5},
    ["../x"],
]


class _Identity(saveur.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _saved(kind, path, tmp_path):
    if kind == "sklearn":
        pytest.importorskip("saveur_sklearn")
        from sklearn.tree import DecisionTreeClassifier

        X = np.random.RandomState(0).rand(20, 3)
        saveur.save_model(DecisionTreeClassifier().fit(X, X[:, 0] > 0.5), path)
    elif kind == "reference":
        saveur.pyfunc.save_model(
            path, python_model="saveur_echo.pymodels:ScaledSum", model_config={"a": 1}
        )
    else:
        (tmp_path / "art.txt").write_text("x")
        saveur.pyfunc.save_model(
            path, python_model=_Identity(), artifacts={"a": str(tmp_path / "art.txt")}
        )


def _flavor_paths(doc, prefix=("flavors",)):
    node = doc
    for key in prefix:
        node = node[key]
    for key, value in node.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _flavor_paths(doc, (*prefix, key))


def _set(doc, path, value):
    cur = doc
    for key in path[:-1]:
        if not isinstance(cur.get(key), dict):
            cur[key] = {}
        cur = cur[key]
    cur[path[-1]] = value


@pytest.mark.parametrize("kind", ["sklearn", "reference", "pickle"])
def test_hostile_flavor_values_give_saveur_errors(tmp_path, kind):
    base = tmp_path / "base"
    _saved(kind, base, tmp_path)
    original = yaml.safe_load((base / "MLmodel").read_text())
    extra = [("flavors", "python_function", "code"), ("flavors", "python_function", "model_code")]
    X = np.random.RandomState(1).rand(1, 3)
    for i, path in enumerate([*_flavor_paths(original), *extra]):
        for j, value in enumerate(_HOSTILE):
            doc = copy.deepcopy(original)
            _set(doc, path, value)
            target = tmp_path / f"m{i}-{j}"
            shutil.copytree(base, target)
            (target / "MLmodel").write_text(yaml.safe_dump(doc))
            for trust in (False, True):
                try:
                    saveur.pyfunc.load_model(target, verify=False, trust_code=trust).predict(X)
                except SaveurError:
                    pass
            try:
                saveur.load_model(target, verify=False)
            except SaveurError:
                pass
            shutil.rmtree(target)
