"""Artifacts: copied never moved, listed only when complete, contained, umask-respecting."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import saveur.store as st
from saveur.errors import AlreadyExistsError, NotFoundError, StoreError, UnsafePathError
from saveur.store import _db


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("bb")
    return src


def test_log_artifact_copies_and_lists(store, tmp_path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    with st.start_run() as run:
        st.log_artifact(f)
        st.log_artifact(f, "docs/v1")
    assert f.read_text() == "hello"  # copied, not moved
    rid = run.info.run_id
    assert st.list_artifacts(rid) == [
        st.FileInfo("docs", True, None), st.FileInfo("notes.txt", False, 5)
    ]
    assert st.list_artifacts(rid, "docs") == [st.FileInfo("docs/v1", True, None)]
    assert st.list_artifacts(rid, "docs/v1") == [st.FileInfo("docs/v1/notes.txt", False, 5)]
    assert st.list_artifacts(rid, "missing") == []


def test_log_artifacts_copies_a_tree(store, tree) -> None:
    with st.start_run() as run:
        st.log_artifacts(tree, "data")
    rid = run.info.run_id
    assert [f.path for f in st.list_artifacts(rid, "data")] == ["data/a.txt", "data/sub"]
    assert (tree / "a.txt").exists()


def test_download_artifacts(store, tree, tmp_path) -> None:
    with st.start_run() as run:
        st.log_artifacts(tree, "data")
    rid = run.info.run_id
    out = st.download_artifacts(run_id=rid, artifact_path="data", dst_path=tmp_path / "out")
    assert out == str(tmp_path / "out" / "data")
    assert (tmp_path / "out" / "data" / "sub" / "b.txt").read_text() == "bb"
    one = st.download_artifacts(f"runs:/{rid}/data/a.txt", dst_path=tmp_path / "one")
    assert Path(one).read_text() == "a"
    everything = st.download_artifacts(run_id=rid)
    assert os.path.isfile(os.path.join(everything, "data", "sub", "b.txt"))
    assert stat.S_IMODE(os.stat(everything).st_mode) == 0o700


def test_download_errors(store) -> None:
    with st.start_run() as run:
        pass
    with pytest.raises(NotFoundError, match="has no artifact 'nope'"):
        st.download_artifacts(run_id=run.info.run_id, artifact_path="nope")
    with pytest.raises(StoreError, match="not both"):
        st.download_artifacts(f"runs:/{run.info.run_id}/x", run_id=run.info.run_id)
    with pytest.raises(StoreError, match="needs run_id"):
        st.download_artifacts()


def test_failed_copy_lists_nothing(store, tree, monkeypatch) -> None:
    from saveur.store import _artifacts

    real = _artifacts.copy_regular_file
    calls = {"n": 0}

    def flaky(src, dst, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(_artifacts, "copy_regular_file", flaky)
    with st.start_run() as run:
        with pytest.raises(OSError, match="disk full"):
            st.log_artifacts(tree, "data")
    assert st.list_artifacts(run.info.run_id) == []
    leftovers = [p for p in (store / "artifacts").rglob("*") if p.name.endswith(".partial")]
    assert leftovers == []


def test_unsafe_artifact_path_is_refused(store, tmp_path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    with st.start_run() as run:
        with pytest.raises(UnsafePathError, match="'..' segment"):
            st.log_artifact(f, "../../escape")
        with pytest.raises(UnsafePathError, match="percent-encoding"):
            st.log_artifact(f, "%2e%2e")
        with pytest.raises(UnsafePathError, match="is absolute"):
            st.list_artifacts(run.info.run_id, "/etc")
    assert not (store / "escape").exists()


def test_symlink_escaping_source_dir_is_refused(store, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    os.symlink(secret, src / "innocent.txt")
    with st.start_run() as run:
        with pytest.raises(UnsafePathError, match="outside"):
            st.log_artifacts(src)
    assert st.list_artifacts(run.info.run_id) == []


def test_symlink_inside_source_dir_is_copied_as_a_file(store, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.txt").write_text("r")
    os.symlink(src / "real.txt", src / "alias.txt")
    with st.start_run() as run:
        st.log_artifacts(src)
    copied = store / "artifacts" / "runs" / run.info.run_id / "alias.txt"
    assert copied.read_text() == "r" and not copied.is_symlink()


def test_symlink_planted_in_artifact_root_is_not_followed(store, tmp_path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    with st.start_run() as run:
        run_dir = store / "artifacts" / "runs" / run.info.run_id
        run_dir.mkdir(parents=True)
        os.symlink(outside, run_dir / "evil")
        with pytest.raises(UnsafePathError, match="resolves outside"):
            st.log_artifact(f, "evil")
    assert list(outside.iterdir()) == []


def test_file_and_directory_cannot_collide(store, tmp_path) -> None:
    f = tmp_path / "a"
    f.write_text("x")
    with st.start_run():
        st.log_artifact(f)
        with pytest.raises(StoreError, match="which is a file"):
            st.log_artifact(f, "a")


def test_overwriting_an_artifact_keeps_one_listing(store, tmp_path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("1")
    with st.start_run() as run:
        st.log_artifact(f)
        f.write_text("22")
        st.log_artifact(f)
    assert st.list_artifacts(run.info.run_id) == [st.FileInfo("a.txt", False, 2)]


def test_log_artifact_needs_a_file(store, tmp_path) -> None:
    with st.start_run():
        with pytest.raises(StoreError, match="it is not a file"):
            st.log_artifact(tmp_path / "missing")
        with pytest.raises(StoreError, match="it is not a directory"):
            st.log_artifacts(tmp_path / "missing")


def test_store_folders_follow_the_umask(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    f = tmp_path / "a.txt"
    f.write_text("a")
    old = os.umask(0o002)
    try:
        st.set_store_uri(tmp_path / "team")
        with st.start_run() as run:
            st.log_artifact(f, "shared")
        run_dir = tmp_path / "team" / "artifacts" / "runs" / run.info.run_id
        assert stat.S_IMODE(os.stat(tmp_path / "team").st_mode) == 0o775
        assert stat.S_IMODE(os.stat(run_dir / "shared").st_mode) == 0o775
        assert stat.S_IMODE(os.stat(run_dir / "shared" / "a.txt").st_mode) == 0o664
    finally:
        os.umask(old)
        st.set_store_uri(None)
        _db.close_stores()


def test_fsspec_artifact_root(tmp_path, monkeypatch) -> None:
    pytest.importorskip("fsspec", reason="fsspec is not installed")
    f = tmp_path / "a.txt"
    f.write_text("remote")
    st.set_store_uri(f"sqlite:///{tmp_path / 'm.db'}", artifact_root="memory://saveur-test")
    try:
        with st.start_run() as run:
            st.log_artifact(f, "x")
        assert st.list_artifacts(run.info.run_id, "x") == [st.FileInfo("x/a.txt", False, 6)]
        out = st.download_artifacts(run_id=run.info.run_id, artifact_path="x/a.txt",
                                    dst_path=tmp_path / "dl")
        assert Path(out).read_text() == "remote"
        with pytest.raises(AlreadyExistsError):
            from saveur.store import tracking

            tracking._copy_in(_db.get_store(), run.info.run_id, [("x/b", f)], new_only="x")
    finally:
        st.set_store_uri(None)
        _db.close_stores()
