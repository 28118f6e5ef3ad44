"""Hostile MLmodel files: YAML bombs, tags, wrong types, paths that leave the model."""

from __future__ import annotations

import copy
import os
import shutil

import numpy as np
import pytest
import yaml

import saveur
import saveur.pyfunc
from saveur.errors import MLmodelError, SaveurError, UnsafePathError
from saveur.mlmodel import Model


def _edit(model_dir, change):
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(doc)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


def _append(model_dir, text):
    with open(model_dir / "MLmodel", "a") as f:
        f.write(text)


_LAUGHS = "lol0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_LAUGHS, "aliases expand to more than"),
        ("metadata: &r {self: *r}\n", "refers to a node that contains it"),
        ("extra: &r [*r]\n", "refers to a node that contains it"),
        # libyaml recurses in C: without the depth check this kills the process (SIGSEGV).
        # Newer libyaml refuses deep nesting itself, in its own words: assert only that the
        # error is an MLmodelError naming the file, whichever layer refused first.
        ("deep: " + "[" * 100_000 + "]" * 100_000 + "\n", "MLmodel"),
        ("deep: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n", "MLmodel"),
        ("evil: !!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
        ("evil: !!python/name:os.system ''\n", "invalid YAML"),
        ("---\nsecond: document\n", "invalid YAML"),
    ],
    ids=[
        "billion-laughs",
        "recursive-map",
        "recursive-list",
        "deep-list",
        "deep-map",
        "python-object-tag",
        "python-name-tag",
        "two-documents",
    ],
)
def test_hostile_yaml_is_refused_with_mlmodel_error(echo_dir, text, message):
    _append(echo_dir, text)
    with pytest.raises(MLmodelError, match=message):
        saveur.pyfunc.load_model(echo_dir)


def test_yaml_aliases_that_expand_modestly_still_load(echo_dir):
    # PyYAML's safe_dump writes an anchor when one object appears twice (a user's metadata).
    _append(echo_dir, "metadata:\n  a: &shared [1, 2]\n  b: *shared\n")
    model = Model.load(echo_dir)
    assert model.metadata == {"a": [1, 2], "b": [1, 2]}


def test_huge_mlmodel_is_refused_before_reading(echo_dir, monkeypatch):
    from saveur import mlmodel

    monkeypatch.setattr(mlmodel, "MAX_MLMODEL_BYTES", 4096)
    _append(echo_dir, "padding: '" + "x" * 8192 + "'\n")
    with pytest.raises(MLmodelError, match="over the 4096 byte limit"):
        saveur.pyfunc.load_model(echo_dir)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"- a list\n", b"", b"just text\n"])
def test_non_mapping_or_binary_mlmodel_is_mlmodel_error(echo_dir, content):
    (echo_dir / "MLmodel").write_bytes(content)
    with pytest.raises(MLmodelError):
        saveur.pyfunc.load_model(echo_dir, verify=False)


_HOSTILE_VALUES = [
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
    10**30,
]
_KEYS = [
    ("flavors",),
    ("flavors", "python_function"),
    ("flavors", "python_function", "loader_module"),
    ("flavors", "python_function", "data"),
    ("flavors", "python_function", "code"),
    ("flavors", "python_function", "env"),
    ("flavors", "python_function", "artifacts"),
    ("flavors", "echo"),
    ("flavors", "echo", "data"),
    ("flavors", "echo", "code"),
    ("signature",),
    ("signature", "inputs"),
    ("signature", "outputs"),
    ("signature", "params"),
    ("saved_input_example_info",),
    ("saved_input_example_info", "artifact_path"),
    ("saved_input_example_info", "type"),
    ("saved_input_example_info", "serving_input_path"),
    ("metadata",),
    ("run_id",),
    ("artifact_path",),
    ("model_uuid",),
    ("utc_time_created",),
    ("model_size_bytes",),
    ("saveur",),
    ("saveur", "digests"),
    ("saveur", "digests", "../x"),
    ("saveur", "digests", "/etc/passwd"),
    ("saveur", "digests", "echo.json"),
]


def _set(doc, path, value):
    cur = doc
    for key in path[:-1]:
        if not isinstance(cur.get(key), dict):
            cur[key] = {}
        cur = cur[key]
    cur[path[-1]] = value


@pytest.mark.parametrize("path", _KEYS, ids=[".".join(p) for p in _KEYS])
def test_wrong_types_anywhere_give_saveur_errors(echo_dir, tmp_path, path):
    """Every key set to every hostile value: a SaveurError or a clean load, nothing else."""
    from saveur.examples import read_serving_input_example

    original = yaml.safe_load((echo_dir / "MLmodel").read_text())
    for i, value in enumerate(_HOSTILE_VALUES):
        doc = copy.deepcopy(original)
        _set(doc, path, value)
        target = tmp_path / f"m{i}"
        shutil.copytree(echo_dir, target)
        (target / "MLmodel").write_text(yaml.safe_dump(doc))
        for call in (
            lambda t=target: Model.load(t).signature,
            lambda t=target: Model.load(t).to_yaml(),
            lambda t=target: Model.load(t).load_input_example(t),
            lambda t=target: read_serving_input_example(t, Model.load(t).saved_input_example_info),
            lambda t=target: saveur.pyfunc.load_model(t).predict(np.array([1.0])),
            lambda t=target: saveur.pyfunc.load_model(t, verify=False, trust_code=True),
            lambda t=target: saveur.load_model(t, verify=False),
        ):
            try:
                call()
            except SaveurError:
                pass


@pytest.mark.parametrize("value", ["../outside.json", "a/../../outside.json", "/tmp/outside.json"])
def test_flavor_data_path_that_leaves_the_model_is_refused(echo_dir, value):
    _edit(echo_dir, lambda d: d["flavors"]["echo"].update(data=value))
    with pytest.raises(UnsafePathError):
        saveur.load_model(echo_dir, verify=False)


@pytest.mark.parametrize("value", ["../outside.json", "a/../../outside.json", "/tmp/outside.json"])
def test_custom_loader_data_path_is_contained_before_its_module_is_imported(echo_dir, value):
    def change(doc):
        doc["flavors"] = {"python_function": {"loader_module": "no_such_loader", "data": value}}

    _edit(echo_dir, change)
    with pytest.raises(UnsafePathError, match="python_function.data"):
        saveur.pyfunc.load_model(echo_dir, verify=False, trust_code=True)


@pytest.mark.parametrize("entry", ["../../etc/passwd", "/etc/passwd", "a/../../../etc/hosts"])
def test_digest_entries_outside_the_model_are_refused(echo_dir, entry):
    _edit(echo_dir, lambda d: d["saveur"]["digests"].update({entry: "0" * 64}))
    with pytest.raises(UnsafePathError):
        saveur.pyfunc.load_model(echo_dir)


def test_symlink_inside_model_pointing_outside_is_refused(echo_dir, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text('{"factor": 7}')
    (echo_dir / "echo.json").unlink()
    os.symlink(secret, echo_dir / "echo.json")
    with pytest.raises(UnsafePathError, match="resolves outside|symbolic link"):
        saveur.pyfunc.load_model(echo_dir)
    # verify=False skips digests, not the walk: a link out of the model is refused anyway.
    with pytest.raises(UnsafePathError, match="outside"):
        saveur.pyfunc.load_model(echo_dir, verify=False)


def test_symlinked_mlmodel_is_refused(echo_dir, tmp_path):
    real = tmp_path / "elsewhere.yaml"
    shutil.move(echo_dir / "MLmodel", real)
    os.symlink(real, echo_dir / "MLmodel")
    with pytest.raises(MLmodelError, match="no MLmodel file"):
        saveur.pyfunc.load_model(echo_dir)


def test_model_dir_that_is_a_symlink_is_the_callers_choice(echo_dir, tmp_path):
    # The caller named the path: following its link is what they asked for. Every path the
    # *model* names is still contained in the resolved directory.
    link = tmp_path / "link"
    os.symlink(echo_dir, link)
    model = saveur.pyfunc.load_model(link)
    assert model.model_dir == echo_dir.resolve()
    assert model.predict(np.array([1.0])).tolist() == [2.0]


def test_malformed_flavor_conf_in_plugin_is_a_plugin_error(echo_dir):
    _edit(echo_dir, lambda d: d["flavors"]["echo"].pop("data"))
    with pytest.raises(SaveurError, match="'echo' plugin .* could not load the model.*KeyError"):
        saveur.load_model(echo_dir, verify=False)


@pytest.mark.parametrize("loader", ["../evil", "os;rm", "a..b", ".relative", "x y"])
def test_custom_loader_module_that_is_not_a_module_name_is_refused(echo_dir, loader):
    _edit(echo_dir, lambda d: d["flavors"]["python_function"].update(loader_module=loader))
    with pytest.raises(MLmodelError, match="is not a dotted module name"):
        saveur.pyfunc.load_model(echo_dir, verify=False, trust_code=True)


@pytest.mark.parametrize(
    ("info", "content", "message"),
    [
        ({"artifact_path": ".", "type": "dataframe"}, None, "cannot be read: Is a directory"),
        (
            {"artifact_path": "ex.json", "type": "ndarray"},
            "[" * 100_000 + "]" * 100_000,
            "is not valid JSON",
        ),
        (
            {"artifact_path": "ex.json", "type": "dataframe"},
            '{"columns": 5, "data": "x"}',
            "DataFrame input example is malformed",
        ),
        (
            {"artifact_path": "ex.json", "type": "sparse_matrix_csr"},
            '{"indices": "x"}',
            "sparse input example is malformed",
        ),
        ({"artifact_path": "ex.json", "type": ["dataframe"]}, "[]", "is not one of"),
        ({"artifact_path": "../ex.json", "type": "ndarray"}, None, "contains '..'"),
    ],
)
def test_hostile_input_example_is_a_saveur_error(echo_dir, info, content, message):
    if content is not None:
        (echo_dir / "ex.json").write_text(content)
    _edit(echo_dir, lambda d: d.update(saved_input_example_info=info))
    with pytest.raises(SaveurError, match=message):
        Model.load(echo_dir).load_input_example(echo_dir)


def test_oversized_example_files_are_refused_before_reading_them_whole(echo_dir):
    """A model may carry an example far larger than memory: it is refused by size, unread."""
    from saveur.examples import MAX_EXAMPLE_BYTES, InputExampleError, read_serving_input_example

    for name in ("ex.json", "serving.json"):
        with open(echo_dir / name, "wb") as f:  # sparse: no disk used
            f.write(b"[")
            f.truncate(MAX_EXAMPLE_BYTES + 10)
    info = {"artifact_path": "ex.json", "type": "ndarray", "serving_input_path": "serving.json"}
    _edit(echo_dir, lambda d: d.update(saved_input_example_info=info))
    with pytest.raises(InputExampleError, match=r"input example file 'ex.json' is over the \d+ byte"):
        Model.load(echo_dir).load_input_example(echo_dir)
    with pytest.raises(InputExampleError, match=r"serving input example 'serving.json' is over"):
        read_serving_input_example(echo_dir, info)
    # at the limit exactly, the file is read (and here found not to be JSON)
    with open(echo_dir / "ex.json", "r+b") as f:
        f.truncate(MAX_EXAMPLE_BYTES)
    with pytest.raises(InputExampleError, match="not valid JSON"):
        Model.load(echo_dir).load_input_example(echo_dir)


@pytest.mark.parametrize("name", [".", "sub"])
def test_serving_input_example_that_is_a_directory_is_a_saveur_error(echo_dir, name):
    from saveur.examples import read_serving_input_example

    (echo_dir / "sub").mkdir()
    with pytest.raises(SaveurError, match="cannot be read: Is a directory"):
        read_serving_input_example(echo_dir, {"serving_input_path": name})


@pytest.mark.parametrize("verify", [True, False])
def test_fifo_in_model_is_refused_instead_of_hanging(echo_dir, verify):
    (echo_dir / "echo.json").unlink()
    os.mkfifo(echo_dir / "echo.json")
    _edit(echo_dir, lambda d: d.pop("saveur"))  # as an MLflow model: no digests to check
    with pytest.raises(UnsafePathError, match="'echo.json' is not a regular file"):
        saveur.pyfunc.load_model(echo_dir, verify=verify)


def test_link_to_a_device_is_refused(echo_dir):
    (echo_dir / "echo.json").unlink()
    os.symlink("/dev/zero", echo_dir / "echo.json")
    _edit(echo_dir, lambda d: d.pop("saveur"))
    with pytest.raises(UnsafePathError, match="not a regular file"):
        saveur.pyfunc.load_model(echo_dir, verify=False)


@pytest.mark.parametrize("depth", [101, 500])
def test_yaml_nested_past_saveurs_limit_is_refused_by_saveur(echo_dir, depth):
    # Shallow enough that no YAML library refuses it itself: saveur's own depth check must.
    _append(echo_dir, "deep: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(MLmodelError, match="nested more than 100 levels"):
        saveur.pyfunc.load_model(echo_dir)
