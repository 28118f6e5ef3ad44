"""Hostile ONNX models: external-data locations that leave the model directory.

A ``location`` in an ONNX file is a path chosen by whoever wrote the file, and onnx and
onnxruntime have had path-traversal bugs with it. saveur-onnx checks every location before
either library reads a byte of external data: these tests make both libraries' readers fail
the test if they are reached.
"""

from __future__ import annotations

import os

import pytest
from onnx_graphs import linear

import saveur
import saveur.pyfunc
import saveur_onnx
from saveur.errors import IntegrityError, UnsafePathError
from saveur.saving import reseal


@pytest.fixture
def no_external_reads(monkeypatch):
    """Make onnx's external-data loader and onnxruntime's session fail the test if called."""
    import onnx.external_data_helper
    import onnxruntime

    def forbidden(*args, **kwargs):
        pytest.fail("external data was read before its location was checked")

    monkeypatch.setattr(onnx.external_data_helper, "load_external_data_for_model", forbidden)
    monkeypatch.setattr(onnxruntime, "InferenceSession", forbidden)


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "outside" / "secret.bin"
    path.parent.mkdir()
    path.write_bytes(b"\x00" * 4096)  # big enough to satisfy the tensor's offset and length
    return path


def _point_external_data_at(model_dir, location, *, where="initializer"):
    """Rewrite model.onnx so its tensor names ``location``, and reseal the digests as an
    attacker who wrote the whole directory would."""
    import onnx

    model = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    if where == "initializer":
        tensors = list(model.graph.initializer)
    else:  # a Constant node's value attribute: found by walking nodes, not initializers
        from onnx import helper

        weight = model.graph.initializer.pop()
        constant = helper.make_node("Constant", [], [weight.name])
        constant.attribute.append(helper.make_attribute("value", weight))
        model.graph.node.insert(0, constant)
        tensors = [model.graph.node[0].attribute[0].t]
    for tensor in tensors:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save_model(model, str(model_dir / "model.onnx"))
    reseal(model_dir)


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model"
    saveur_onnx.save_model(linear(), path)
    assert (path / "model.onnx.data").is_file()
    return path


@pytest.mark.parametrize("location", [
    "../../etc/passwd",
    "../outside/secret.bin",
    "/etc/passwd",
    "sub/../../outside/secret.bin",
    "..\\outside\\secret.bin",
    "C:/Windows/win.ini",
    "model.onnx.data\x00.txt",
])
@pytest.mark.parametrize("where", ["initializer", "attribute"])
def test_escaping_location_is_refused_before_any_read(
    model_dir, secret, location, where, no_external_reads
):
    _point_external_data_at(model_dir, location, where=where)
    for load in (saveur.load_model, saveur.pyfunc.load_model):
        with pytest.raises(UnsafePathError, match="external data location"):
            load(model_dir)


def test_absolute_path_to_a_real_file_is_refused(model_dir, secret, no_external_reads):
    _point_external_data_at(model_dir, str(secret))
    with pytest.raises(UnsafePathError, match="absolute"):
        saveur.pyfunc.load_model(model_dir)


def test_symlink_out_of_the_model_is_refused(model_dir, secret, no_external_reads):
    _point_external_data_at(model_dir, "link.bin")
    os.symlink(secret, model_dir / "link.bin")
    # The host refuses any link in a model when it checks digests...
    with pytest.raises(UnsafePathError, match="link.bin"):
        saveur.pyfunc.load_model(model_dir)
    # ...and a link that escapes is refused even when digests are not checked.
    with pytest.raises(UnsafePathError, match="link.bin"):
        saveur.pyfunc.load_model(model_dir, verify=False)
    with pytest.raises(UnsafePathError, match="link.bin"):
        saveur.load_model(model_dir, verify=False)


def test_location_that_is_a_directory_is_refused(model_dir, no_external_reads):
    (model_dir / "adir").mkdir()
    _point_external_data_at(model_dir, "adir")
    with pytest.raises(IntegrityError, match="'adir', which is not a regular file"):
        saveur.load_model(model_dir, verify=False)


def test_missing_sidecar_is_named(model_dir, no_external_reads):
    _point_external_data_at(model_dir, "gone.data")
    with pytest.raises(IntegrityError, match="'gone.data', which is missing"):
        saveur.load_model(model_dir, verify=False)


def test_saving_a_file_whose_data_escapes_its_folder_is_refused(tmp_path, secret,
                                                                no_external_reads):
    import onnx

    src = tmp_path / "src"
    src.mkdir()
    onnx.save_model(linear(), str(src / "evil.onnx"), save_as_external_data=True,
                    location="evil.onnx.data")
    model = onnx.load(str(src / "evil.onnx"), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../outside/secret.bin"
    onnx.save_model(model, str(src / "evil.onnx"))
    with pytest.raises(UnsafePathError, match="external data location"):
        saveur_onnx.save_model(src / "evil.onnx", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_contained_sidecar_in_a_subfolder_is_accepted(tmp_path):
    """Containment is not a ban on folders: data beside or below the model file loads."""
    import numpy as np
    import onnx

    src = tmp_path / "src"
    (src / "weights").mkdir(parents=True)
    onnx.save_model(linear(), str(src / "net.onnx"), save_as_external_data=True,
                    location="weights/net.bin")
    saveur_onnx.save_model(src / "net.onnx", tmp_path / "m")
    X = np.ones((1, 300), dtype=np.float32)
    assert saveur.pyfunc.load_model(tmp_path / "m").predict(X)["y"].shape == (1, 3)
