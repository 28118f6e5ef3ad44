"""The built-in ``runs:/``/``models:/`` resolver plugin (saveur.store.resolver)."""

from __future__ import annotations

import os
import stat

import pytest

import saveur.store as st
from saveur.errors import InvalidURIError, NotFoundError
from saveur.pyfunc import PythonModel
from saveur.store import _db, resolver
from saveur.uris import resolve_model_uri


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def test_other_schemes_are_left_to_other_plugins() -> None:
    assert resolver.saveur_resolve_uri("/some/path") is None
    assert resolver.saveur_resolve_uri("file:///x") is None
    assert resolver.saveur_resolve_uri("s3://bucket/x") is None


def test_runs_uri_resolves_to_the_logged_model(store) -> None:
    info = st.log_model(Echo(), "model", flavor="python_function")
    resolved = resolve_model_uri(info.model_uri)
    assert resolved.local_path == store / "artifacts" / "runs" / info.run_id / "model"
    assert resolved.mlmodel_sha256 is None and resolved.registered_name is None
    via_file = resolve_model_uri(f"{info.model_uri}/MLmodel")
    assert via_file.local_path == resolved.local_path


def test_models_uri_carries_the_trust_anchor(store) -> None:
    info = st.log_model(Echo(), "model", flavor="python_function", registered_model_name="e")
    version = st.get_model_version("e", info.registered_model_version)
    resolved = resolve_model_uri("models:/e/1")
    assert resolved.mlmodel_sha256 == version.mlmodel_sha256
    assert (resolved.registered_name, resolved.registered_version) == ("e", "1")
    assert str(resolved.local_path) == version.storage_location


def test_unknown_runs_and_paths(store) -> None:
    info = st.log_model(Echo(), "model", flavor="python_function")
    with pytest.raises(NotFoundError, match="has no artifact directory 'other'"):
        resolve_model_uri(f"runs:/{info.run_id}/other")
    with pytest.raises(NotFoundError, match="does not exist"):
        resolve_model_uri("runs:/" + "f" * 32 + "/model")


@pytest.mark.parametrize(
    "uri",
    [
        "runs:/{rid}/../../../etc/passwd",  # CVE-2023-1177 shape
        "runs:/{rid}/model#/../../etc",  # CVE-2023-6909 shape
        "runs:/{rid}/%2e%2e/%2e%2e/etc",  # CVE-2024-1560 shape
        "runs:/{rid}/%252e%252e/etc",  # doubly encoded
        "runs:/{rid}//etc/passwd",  # CVE-2023-6977 shape
        "runs:/{rid}/model?x=1",
        "runs:/{rid}/..\\..\\etc",
        "models:/../../etc/1",
        "models:/e/1/../../../etc",
        "models:/e/%2e%2e",
    ],
)
def test_traversal_uris_are_refused(store, uri) -> None:
    info = st.log_model(Echo(), "model", flavor="python_function")
    with pytest.raises(InvalidURIError):
        resolve_model_uri(uri.format(rid=info.run_id))


def test_runs_uri_through_escaping_symlink_is_refused(store, tmp_path) -> None:
    from saveur.errors import UnsafePathError

    info = st.log_model(Echo(), "model", flavor="python_function")
    # an attacker with write access swaps the model directory for a link out of the store
    run_dir = store / "artifacts" / "runs" / info.run_id
    os.rename(run_dir / "model", tmp_path / "moved")
    os.symlink(tmp_path / "moved", run_dir / "model")
    with pytest.raises(UnsafePathError, match="resolves outside"):
        resolve_model_uri(info.model_uri)


def test_remote_artifact_root_is_fetched_privately(tmp_path, monkeypatch) -> None:
    pytest.importorskip("fsspec", reason="fsspec is not installed")
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    st.set_store_uri(f"sqlite:///{tmp_path / 'm.db'}", artifact_root="memory://saveur-uris")
    try:
        info = st.log_model(Echo(), "model", flavor="python_function",
                            registered_model_name="remote")
        for uri in (info.model_uri, "models:/remote/latest"):
            local = resolve_model_uri(uri).local_path
            assert (local / "MLmodel").is_file()
            assert stat.S_IMODE(os.stat(local).st_mode) == 0o700
        from saveur.loading import open_model

        assert open_model("models:/remote/1").resolved.registered_version == "1"
        # registering from a models:/ URI on a remote root copies within the root
        assert st.register_model("models:/remote/1", "remote-copy").version == 1
    finally:
        st.set_store_uri(None)
        _db.close_stores()
