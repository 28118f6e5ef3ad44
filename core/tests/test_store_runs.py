"""Runs: lifecycle, nesting, params, metrics, tags, search and deletion."""

from __future__ import annotations

import pytest

import saveur.store as st
from saveur.errors import InvalidURIError, NotFoundError, StoreError
from saveur.store import _db


def test_default_store_is_a_local_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    st.set_store_uri(None)
    try:
        assert st.get_store_uri() == "./saveur-store"
        with st.start_run():
            pass
        assert (tmp_path / "saveur-store" / "store.db").is_file()
        assert (tmp_path / "saveur-store" / "artifacts").is_dir()
    finally:
        _db.close_stores()


def test_env_var_selects_the_store(tmp_path, monkeypatch) -> None:
    st.set_store_uri(None)
    monkeypatch.setenv("SAVEUR_STORE_URI", str(tmp_path / "env-store"))
    try:
        assert st.get_store_uri() == str(tmp_path / "env-store")
        with st.start_run():
            pass
        assert (tmp_path / "env-store" / "store.db").is_file()
    finally:
        _db.close_stores()


def test_database_url_with_artifact_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", str(tmp_path / "arts"))
    st.set_store_uri(f"sqlite:///{tmp_path / 'meta' / 'x.db'}")
    try:
        with st.start_run() as run:
            (tmp_path / "f.txt").write_text("x")
            st.log_artifact(tmp_path / "f.txt")
        assert (tmp_path / "meta" / "x.db").is_file()
        assert (tmp_path / "arts" / "runs" / run.info.run_id / "f.txt").is_file()
    finally:
        st.set_store_uri(None)
        _db.close_stores()


def test_folder_store_with_explicit_artifact_root(tmp_path) -> None:
    st.set_store_uri(tmp_path / "meta", artifact_root=str(tmp_path / "elsewhere"))
    try:
        with st.start_run() as run:
            (tmp_path / "f.txt").write_text("x")
            st.log_artifact(tmp_path / "f.txt")
        assert (tmp_path / "elsewhere" / "runs" / run.info.run_id / "f.txt").is_file()
        assert (tmp_path / "meta" / "store.db").is_file()
    finally:
        st.set_store_uri(None)
        _db.close_stores()


def test_database_url_without_artifact_root_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("SAVEUR_ARTIFACT_ROOT", raising=False)
    st.set_store_uri("postgresql://u@127.0.0.1:1/db")
    try:
        with pytest.raises(StoreError, match="set SAVEUR_ARTIFACT_ROOT"):
            st.start_run()
    finally:
        st.set_store_uri(None)


def test_unknown_store_scheme_is_refused() -> None:
    st.set_store_uri("ftp://host/x")
    try:
        with pytest.raises(StoreError, match="neither a folder nor a database URL"):
            st.start_run()
    finally:
        st.set_store_uri(None)


def test_run_block_finishes_the_run(store) -> None:
    with st.start_run(name="train", tags={"team": "a"}) as run:
        assert st.active_run() is run
        assert run.info.status == "RUNNING"
    assert st.active_run() is None
    got = st.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "train"
    assert got.info.end_time is not None
    assert got.data.tags == {"team": "a"}


def test_run_block_that_raises_marks_the_run_failed(store) -> None:
    with pytest.raises(ValueError), st.start_run() as run:
        raise ValueError("boom")
    assert st.get_run(run.info.run_id).info.status == "FAILED"
    assert st.active_run() is None


def test_second_run_without_nested_is_refused(store) -> None:
    with st.start_run() as outer:
        with pytest.raises(StoreError, match=f"run {outer.info.run_id} is already active"):
            st.start_run()


def test_nested_run_records_its_parent(store) -> None:
    with st.start_run() as outer:
        with st.start_run(nested=True) as inner:
            assert st.active_run() is inner
        assert st.active_run() is outer
    child = st.get_run(inner.info.run_id)
    assert child.info.parent_run_id == outer.info.run_id
    assert child.data.tags["mlflow.parentRunId"] == outer.info.run_id
    assert st.search_runs(f"parent_run_id = '{outer.info.run_id}'")[0].info.run_id == (
        inner.info.run_id
    )


def test_failure_in_outer_block_ends_open_nested_runs(store) -> None:
    with pytest.raises(RuntimeError), st.start_run() as outer:
        inner = st.start_run(nested=True)
        raise RuntimeError("x")
    assert st.get_run(inner.info.run_id).info.status == "FAILED"
    assert st.get_run(outer.info.run_id).info.status == "FAILED"


def test_end_run_with_status(store) -> None:
    run = st.start_run()
    st.end_run("KILLED")
    assert st.get_run(run.info.run_id).info.status == "KILLED"
    with pytest.raises(StoreError, match="run status 'DONE' is invalid"):
        st.end_run("DONE")


def test_resume_run(store) -> None:
    with st.start_run() as run:
        pass
    with st.start_run(run_id=run.info.run_id) as again:
        assert again.info.status == "RUNNING"
        st.log_param("late", 1)
    assert st.get_run(run.info.run_id).data.params == {"late": "1"}


def test_params_metrics_tags(store) -> None:
    with st.start_run() as run:
        st.log_params({"lr": 0.1, "depth": 3})
        st.log_param("lr", 0.1)  # same value again is fine
        st.log_metric("loss", 0.9, step=0)
        st.log_metrics({"loss": 0.5, "acc": 0.8}, step=1)
        st.log_metric("loss", 0.7, step=0)  # older step: not the latest
        st.set_tags({"stage": "dev"})
        st.set_tag("stage", "prod")
    data = st.get_run(run.info.run_id).data
    assert data.params == {"lr": "0.1", "depth": "3"}
    assert data.metrics == {"loss": 0.5, "acc": 0.8}
    assert data.tags == {"stage": "prod"}
    assert [v for _, _, v in st.get_metric_history(run.info.run_id, "loss")] == [0.9, 0.5, 0.7]


def test_param_cannot_change(store) -> None:
    with st.start_run():
        st.log_param("lr", 0.1)
        with pytest.raises(StoreError, match="param 'lr' .* is already '0.1'; params are immutable"):
            st.log_param("lr", 0.2)


def test_bad_metric_and_key_are_refused(store) -> None:
    with st.start_run():
        with pytest.raises(StoreError, match="metric 'acc' must be a number, got 'high'"):
            st.log_metric("acc", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidURIError, match="param key 'a#b' is invalid"):
            st.log_param("a#b", 1)


def test_logging_without_active_run_is_refused(store) -> None:
    with pytest.raises(StoreError, match="no active run"):
        st.log_param("x", 1)


def test_logging_to_explicit_run_id(store) -> None:
    with st.start_run() as run:
        pass
    st.log_metric("m", 1.0, run_id=run.info.run_id)
    assert st.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_get_unknown_run(store) -> None:
    with pytest.raises(NotFoundError, match="run '0{32}' does not exist"):
        st.get_run("0" * 32)


def test_search_runs_filters(store) -> None:
    ids = []
    for lr, acc in [(0.1, 0.7), (0.2, 0.9), (0.3, 0.95)]:
        with st.start_run(name=f"lr{lr}", tags={"kind": "grid"}) as run:
            st.log_param("lr", lr)
            st.log_metric("acc", 0.1, step=0)
            st.log_metric("acc", acc, step=1)
        ids.append(run.info.run_id)
    found = st.search_runs("metrics.acc > 0.8 AND tags.kind = 'grid'")
    assert {r.info.run_id for r in found} == set(ids[1:])
    assert [r.info.run_id for r in st.search_runs("params.lr = '0.1'")] == [ids[0]]
    assert len(st.search_runs("run_name LIKE 'lr0.%'")) == 3
    assert len(st.search_runs("attributes.status = 'FINISHED'")) == 3
    assert st.search_runs("metrics.acc < 0.2") == []  # only the latest value counts
    assert [r.info.run_id for r in st.search_runs()] == ids[::-1]  # newest first
    assert len(st.search_runs(max_results=1)) == 1


def test_search_runs_bad_filter(store) -> None:
    with pytest.raises(StoreError, match="cannot filter runs on 'colour'"):
        st.search_runs("colour = 'red'")
    with pytest.raises(StoreError, match="OR is not supported"):
        st.search_runs("status = 'x' OR status = 'y'")
    with pytest.raises(StoreError, match="run_view_type 'some' is invalid"):
        st.search_runs(run_view_type="some")


def test_delete_run_hides_it_from_search(store) -> None:
    with st.start_run() as run:
        pass
    st.delete_run(run.info.run_id)
    assert st.search_runs() == []
    assert st.search_runs(run_view_type="deleted")[0].info.lifecycle_stage == "deleted"
    with pytest.raises(StoreError, match="is deleted"):
        st.start_run(run_id=run.info.run_id)
    with pytest.raises(StoreError, match="is deleted"):
        st.log_param("x", 1, run_id=run.info.run_id)


def test_permanent_delete_removes_records_and_files(store, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with st.start_run() as run:
        st.log_artifact(tmp_path / "a.txt")
    st.delete_run(run.info.run_id, permanent=True)
    with pytest.raises(NotFoundError):
        st.get_run(run.info.run_id)
    assert not (store / "artifacts" / "runs" / run.info.run_id).exists()


def test_each_thread_has_its_own_active_run(store) -> None:
    import threading

    seen: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with st.start_run() as run:  # no "already active" error across threads
                for step in range(5):
                    st.log_metric("m", i, step=step)
                seen[i] = run.info.run_id
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {st.get_run(rid).data.metrics["m"] for rid in seen.values()} == {0.0, 1.0, 2.0, 3.0}
