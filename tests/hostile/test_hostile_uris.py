"""Hostile model URIs and registry entries edited after registration."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

import saveur
import saveur.pyfunc
import saveur.store as st
from saveur.errors import IntegrityError, InvalidURIError, SaveurError, UnsafePathError
from saveur.store import _db
from saveur.uris import resolve_model_uri


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    st.set_store_uri(tmp_path / "store")
    yield tmp_path / "store"
    st.set_store_uri(None)
    _db.close_stores()


@pytest.fixture
def logged(store):
    import saveur_echo

    info = st.log_model(saveur_echo.EchoModel(factor=2.0), "model", registered_model_name="m")
    return info.run_id


_RUNS = [
    "runs:/{rid}/../{rid}/model",
    "runs:/{rid}/model/../../..",
    "runs:/{rid}/%2e%2e/model",
    "runs:/{rid}/%252e%252e/model",
    "runs:/{rid}/model%2f..%2f..",
    "runs:/{rid}/model\\..\\..",
    "runs:/{rid}/model#frag",
    "runs:/{rid}/model?x=1",
    "runs:/{rid}//model",
    "runs://{rid}/model",
    "runs:/{rid}/model\x00",
    "runs:/{rid}/./model",
    "runs:/{rid}/~root",
    "runs:/../../etc",
    "runs:/",
]
_MODELS = [
    "models:/../m/1",
    "models:/m/../1",
    "models:/m/%2e%2e",
    "models:/m%2f..%2f/1",
    "models:/m/%31",
    "models:/m/1#x",
    "models:/m/1?x",
    "models://m/1",
    "models:/m//1",
    "models:/m/1\x00",
    "models:/m\\..\\x/1",
    "models:/m/0",
    "models:/m/-1",
    "models:/m/1.0",
    "models:/m/99999999999999999999999",
    "models:/m/" + "9" * 5000,
    "models:/m/\u0661",
    "models:/m@latest",
    "models:/m@",
    "models:/@x",
    "models:/m",
    "models:/m/1/extra",
]


@pytest.mark.parametrize("template", _RUNS)
def test_hostile_runs_uris_are_invalid(logged, template):
    uri = template.format(rid=logged)
    with pytest.raises(InvalidURIError):
        resolve_model_uri(uri)
    with pytest.raises(InvalidURIError):
        saveur.pyfunc.load_model(uri)


@pytest.mark.parametrize("uri", _MODELS, ids=[u[:40] for u in _MODELS])
def test_hostile_models_uris_are_invalid(logged, uri):
    with pytest.raises(InvalidURIError):
        saveur.pyfunc.load_model(uri)


def test_huge_version_message_does_not_echo_it(logged):
    with pytest.raises(InvalidURIError, match="larger than any version") as info:
        resolve_model_uri("models:/m/" + "9" * 5000)
    assert len(str(info.value)) < 200


def test_valid_uris_still_load(logged):
    for uri in (
        f"runs:/{logged}/model",
        f"runs:/{logged}/model/",
        "models:/m/1",
        "models:/m/latest",
    ):
        assert saveur.pyfunc.load_model(uri).predict(np.array([1.0])).tolist() == [2.0]


def _registered_dir(name="m", version=1):
    return st.get_model_version(name, version).storage_location


def test_mlmodel_edited_after_registration_is_refused(logged):
    path = os.path.join(_registered_dir(), "MLmodel")
    with open(path, "a") as f:
        f.write("tampered: true\n")
    with pytest.raises(IntegrityError, match="modified in the artifact store after it was"):
        saveur.pyfunc.load_model("models:/m/1")
    # verify=False skips file digests, never the registry's anchor
    with pytest.raises(IntegrityError):
        saveur.pyfunc.load_model("models:/m/1", verify=False)


def test_weights_edited_after_registration_are_refused(logged):
    with open(os.path.join(_registered_dir(), "echo.json"), "w") as f:
        f.write('{"factor": 1000}')
    with pytest.raises(IntegrityError, match="'echo.json' does not match"):
        saveur.pyfunc.load_model("models:/m/1")


def test_model_without_digests_is_sealed_at_registration(store, tmp_path):
    """A model saved by MLflow records no digests; its registered copy gets them, so the
    registry's MLmodel digest anchors the weights too."""
    import saveur_echo

    source = tmp_path / "mlflow_like"
    saveur.save_model(saveur_echo.EchoModel(factor=2.0), source)
    doc = yaml.safe_load((source / "MLmodel").read_text())
    doc.pop("saveur")
    (source / "MLmodel").write_text(yaml.safe_dump(doc))
    st.register_model(str(source), "plain")
    copy = _registered_dir("plain")
    with open(os.path.join(copy, "MLmodel")) as f:
        digests = yaml.safe_load(f)["saveur"]["digests"]
    assert set(digests) == {"echo.json", "conda.yaml", "python_env.yaml", "requirements.txt"}
    assert saveur.pyfunc.load_model("models:/plain/1").predict(np.array([1.0])).tolist() == [2.0]
    with open(os.path.join(copy, "echo.json"), "w") as f:
        f.write('{"factor": 1000}')
    with pytest.raises(IntegrityError, match="'echo.json' does not match"):
        saveur.pyfunc.load_model("models:/plain/1")


def test_file_added_to_registered_copy_is_refused(logged):
    with open(os.path.join(_registered_dir(), "extra.py"), "w") as f:
        f.write("print('pwned')\n")
    with pytest.raises(IntegrityError, match="'extra.py' is not recorded"):
        saveur.pyfunc.load_model("models:/m/1")


def test_symlink_planted_in_registered_copy_is_refused(logged, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text('{"factor": 1000}')
    target = os.path.join(_registered_dir(), "echo.json")
    os.unlink(target)
    os.symlink(outside, target)
    with pytest.raises((UnsafePathError, IntegrityError)):
        saveur.pyfunc.load_model("models:/m/1")
    with pytest.raises(SaveurError):
        saveur.pyfunc.load_model("models:/m/1", verify=False)


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "a\\b", "a\x00b", "%2e%2e", "a#b", "a?b", "x@y", "a:b", ".."]
)
def test_hostile_registered_model_names_are_refused(logged, name):
    with pytest.raises(InvalidURIError):
        st.register_model(f"runs:/{logged}/model", name)


@pytest.mark.parametrize(
    "artifact_path", ["../x", "/abs", "a//b", "a\\b", "%2e%2e/x", "a/./b", "~/x", "a#b", "x\x00"]
)
def test_hostile_artifact_paths_are_refused(store, tmp_path, artifact_path):
    (tmp_path / "f.txt").write_text("x")
    with st.start_run(), pytest.raises((UnsafePathError, InvalidURIError)):
        st.log_artifact(str(tmp_path / "f.txt"), artifact_path=artifact_path)


def test_store_model_dir_replaced_by_symlink_is_refused(logged, tmp_path):
    import shutil

    import saveur_echo

    evil = tmp_path / "evil"
    saveur.save_model(saveur_echo.EchoModel(factor=1000.0), evil)
    run_dir = tmp_path / "store" / "artifacts" / "runs" / logged / "model"
    shutil.rmtree(run_dir)
    os.symlink(evil, run_dir)
    with pytest.raises(UnsafePathError, match="resolves outside"):
        saveur.pyfunc.load_model(f"runs:/{logged}/model")
    version_dir = _registered_dir()
    shutil.rmtree(version_dir)
    os.symlink(evil, version_dir)
    with pytest.raises(UnsafePathError, match="resolves outside"):
        saveur.pyfunc.load_model("models:/m/1")
