"""SAVEUR_ARTIFACT_ROOT next to a folder store: ignored, with a warning that says so."""

from __future__ import annotations

import warnings

import pytest

import saveur.store as st
from saveur.store import _config, _db


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(_config, "_warned", set())
    yield
    st.set_store_uri(None)
    _db.close_stores()


def test_artifact_root_with_a_folder_store_warns_and_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", str(tmp_path / "elsewhere"))
    st.set_store_uri(tmp_path / "store")
    with pytest.warns(UserWarning, match=r"SAVEUR_ARTIFACT_ROOT is ignored: the store .*store"):
        with st.start_run() as run:
            (tmp_path / "f.txt").write_text("x")
            st.log_artifact(tmp_path / "f.txt")
    assert (tmp_path / "store" / "artifacts" / "runs" / run.info.run_id / "f.txt").is_file()
    assert not (tmp_path / "elsewhere").exists()


def test_the_warning_comes_once_per_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", str(tmp_path / "elsewhere"))
    st.set_store_uri(tmp_path / "store")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with st.start_run():
            st.log_param("a", 1)
        st.search_runs()
    assert sum("SAVEUR_ARTIFACT_ROOT" in str(w.message) for w in caught) == 1


def test_no_warning_with_a_database_url_or_an_explicit_root(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", str(tmp_path / "arts"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st.set_store_uri(f"sqlite:///{tmp_path / 'meta.db'}")
        with st.start_run():
            pass
        st.set_store_uri(tmp_path / "store", artifact_root=str(tmp_path / "arts2"))
        with st.start_run():
            pass
