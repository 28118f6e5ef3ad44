"""Runs: start/end, params, metrics, tags, artifacts.

A run's artifacts live under ``runs/<run_id>/`` of the artifact root and are listed from the
database: files are copied first and their rows committed last, so a failed or interrupted
copy leaves nothing listed.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from saveur.errors import AlreadyExistsError, NotFoundError, StoreError
from saveur.store._artifacts import iter_source_files
from saveur.store._db import Store, get_store
from saveur.store._filters import compare, parse_filter
from saveur.store._validation import (
    contained,
    optional_artifact_path,
    parse_runs_uri,
    validate_artifact_path,
    validate_key,
    validate_run_id,
)
from saveur.store.entities import FileInfo, Run, RunData, RunInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
_STATUSES = (RUNNING, FINISHED, FAILED, KILLED, "SCHEDULED")
ACTIVE, DELETED = "active", "deleted"
_MAX_PARAM = 6000

_local = threading.local()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def run_prefix(run_id: str) -> str:
    """Where a run's artifacts live, relative to the artifact root."""
    return f"runs/{run_id}"


class ActiveRun(Run):
    """The run :func:`start_run` returns; as a context manager it ends the run on exit."""

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = KILLED
        else:
            status = FAILED
        stack = _stack()
        if any(run is self for run in stack):
            # Ending an outer run also ends any nested runs still open inside it.
            while stack and stack[-1] is not self:
                end_run(status)
            end_run(status)


# --- runs ------------------------------------------------------------------------------


def start_run(
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    nested: bool = False,
    *,
    run_name: str | None = None,
    run_id: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active; use it as a context manager.

    A second run while one is active is refused unless ``nested=True`` (the new run records
    the active one as its parent). The block's exit marks the run finished, or failed when
    the block raised.
    """
    stack = _stack()
    if stack and not nested:
        raise StoreError(
            f"run {stack[-1].info.run_id} is already active; end it first "
            "(saveur.end_run()) or pass nested=True to start a child run"
        )
    store = get_store()
    parent = stack[-1].info.run_id if stack else None
    if run_id is not None:
        validate_run_id(run_id)
        with store.write() as conn:
            _live_run(conn, run_id)
            conn.execute(
                _t().runs.update().where(_t().runs.c.run_id == run_id).values(
                    status=RUNNING, end_time=None
                )
            )
    else:
        run_id = uuid.uuid4().hex
        label = name or run_name or f"run-{run_id[:8]}"
        if len(label) > 250:
            raise StoreError(f"run name is {len(label)} characters long; the limit is 250")
        with store.write() as conn:
            conn.execute(
                _t().runs.insert().values(
                    run_id=run_id,
                    name=label,
                    status=RUNNING,
                    lifecycle_stage=ACTIVE,
                    start_time=_now_ms(),
                    end_time=None,
                    parent_run_id=parent,
                )
            )
            if parent:
                _put_tags(conn, run_id, {"mlflow.parentRunId": parent})
            if tags:
                _put_tags(conn, run_id, tags)
    run = get_run(run_id)
    active = ActiveRun(run.info, run.data)
    stack.append(active)
    return active


def end_run(status: str = FINISHED) -> None:
    """End the innermost active run with ``status`` (FINISHED, FAILED or KILLED)."""
    if status not in _STATUSES:
        raise StoreError(f"run status {status!r} is invalid; use one of {', '.join(_STATUSES)}")
    stack = _stack()
    if not stack:
        return
    run = stack.pop()
    _set_status(run.info.run_id, status)


def _set_status(run_id: str, status: str) -> None:
    t = _t()
    with get_store().write() as conn:
        conn.execute(
            t.runs.update().where(t.runs.c.run_id == run_id).values(
                status=status, end_time=_now_ms()
            )
        )


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or ``None``."""
    stack = _stack()
    return stack[-1] if stack else None


def _resolve_run_id(run_id: str | None) -> str:
    if run_id is not None:
        return validate_run_id(run_id)
    run = active_run()
    if run is None:
        raise StoreError(
            "no active run; use `with saveur.start_run():` or pass run_id= explicitly"
        )
    return run.info.run_id


def _t() -> Any:
    from saveur.store import _schema

    return _schema


def _run_row(conn: Connection, run_id: str) -> Any:
    t = _t()
    row = conn.execute(t.runs.select().where(t.runs.c.run_id == run_id)).first()
    if row is None:
        raise NotFoundError(f"run {run_id!r} does not exist in this store")
    return row


def _live_run(conn: Connection, run_id: str) -> Any:
    row = _run_row(conn, run_id)
    if row.lifecycle_stage != ACTIVE:
        raise StoreError(f"run {run_id} is deleted; it cannot be changed")
    return row


def _load_run(conn: Connection, store: Store, row: Any) -> Run:
    t = _t()
    run_id = row.run_id
    params = {r.key: r.value for r in conn.execute(
        t.params.select().where(t.params.c.run_id == run_id))}
    tags = {r.key: r.value for r in conn.execute(
        t.run_tags.select().where(t.run_tags.c.run_id == run_id))}
    metrics: dict[str, float] = {}
    latest: dict[str, tuple[int, int, int]] = {}
    for r in conn.execute(t.metrics.select().where(t.metrics.c.run_id == run_id)):
        rank = (r.step, r.timestamp, r.id)
        if r.key not in latest or rank > latest[r.key]:
            latest[r.key] = rank
            metrics[r.key] = r.value
    info = RunInfo(
        run_id=run_id,
        run_name=row.name,
        status=row.status,
        lifecycle_stage=row.lifecycle_stage,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=f"{store.artifacts.uri.rstrip('/')}/{run_prefix(run_id)}",
        parent_run_id=row.parent_run_id,
    )
    return Run(info, RunData(params, metrics, tags))


def get_run(run_id: str) -> Run:
    """The run ``run_id`` with its params, latest metrics and tags."""
    validate_run_id(run_id)
    store = get_store()
    with store.read() as conn:
        return _load_run(conn, store, _run_row(conn, run_id))


def search_runs(
    filter_string: str | None = None,
    *,
    max_results: int = 1000,
    run_view_type: str = "active",
) -> list[Run]:
    """Runs matching an MLflow filter (``params.lr = '0.1' AND metrics.acc > 0.9``), newest first.

    ``run_view_type`` is ``active``, ``deleted`` or ``all``.
    """
    from sqlalchemy import and_, exists, select

    t = _t()
    conditions = []
    if run_view_type == "active":
        conditions.append(t.runs.c.lifecycle_stage == ACTIVE)
    elif run_view_type == "deleted":
        conditions.append(t.runs.c.lifecycle_stage == DELETED)
    elif run_view_type != "all":
        raise StoreError(f"run_view_type {run_view_type!r} is invalid; use active, deleted or all")
    attributes = {
        "run_id": t.runs.c.run_id, "run_name": t.runs.c.name, "name": t.runs.c.name,
        "status": t.runs.c.status, "start_time": t.runs.c.start_time,
        "end_time": t.runs.c.end_time, "parent_run_id": t.runs.c.parent_run_id,
        "lifecycle_stage": t.runs.c.lifecycle_stage,
    }
    for clause in parse_filter(filter_string):
        if clause.kind == "attribute":
            column = attributes.get(clause.key)
            if column is None:
                raise StoreError(
                    f"cannot filter runs on {clause.key!r}; use one of {', '.join(attributes)}, "
                    "or params.<key>, metrics.<key>, tags.<key>"
                )
            conditions.append(compare(column, clause.op, clause.value))
            continue
        table = {"tag": t.run_tags, "param": t.params}.get(clause.kind)
        if table is not None:
            value = clause.value
            if not isinstance(value, (str, tuple)):
                value = str(value)
            conditions.append(exists(select(table.c.run_id).where(
                table.c.run_id == t.runs.c.run_id, table.c.key == clause.key,
                compare(table.c.value, clause.op, value))))
            continue
        # metrics: compare the latest value (highest step, then timestamp, then id)
        m, later = t.metrics.alias("m"), t.metrics.alias("later")
        newer = exists(select(later.c.id).where(
            later.c.run_id == m.c.run_id, later.c.key == m.c.key,
            (later.c.step > m.c.step)
            | ((later.c.step == m.c.step) & (later.c.timestamp > m.c.timestamp))
            | ((later.c.step == m.c.step) & (later.c.timestamp == m.c.timestamp)
               & (later.c.id > m.c.id))))
        conditions.append(exists(select(m.c.id).where(
            m.c.run_id == t.runs.c.run_id, m.c.key == clause.key, ~newer,
            compare(m.c.value, clause.op, clause.value))))
    query = t.runs.select().order_by(t.runs.c.start_time.desc(), t.runs.c.run_id)
    if conditions:
        query = query.where(and_(*conditions))
    query = query.limit(max_results)
    store = get_store()
    with store.read() as conn:
        return [_load_run(conn, store, row) for row in conn.execute(query).all()]


def delete_run(run_id: str, *, permanent: bool = False) -> None:
    """Mark a run deleted; ``permanent=True`` also removes its records and artifacts.

    Registered model versions are copies, so they stay loadable either way.
    """
    validate_run_id(run_id)
    store = get_store()
    t = _t()
    with store.write() as conn:
        _run_row(conn, run_id)
        if not permanent:
            conn.execute(t.runs.update().where(t.runs.c.run_id == run_id).values(
                lifecycle_stage=DELETED))
            return
        for table in (t.params, t.metrics, t.run_tags, t.artifacts):
            conn.execute(table.delete().where(table.c.run_id == run_id))
        conn.execute(t.runs.update().where(t.runs.c.parent_run_id == run_id).values(
            parent_run_id=None))
        conn.execute(t.runs.delete().where(t.runs.c.run_id == run_id))
    # Records first, files second: a crash here leaves unreferenced files, never a record
    # pointing at missing ones.
    store.artifacts.delete_tree(run_prefix(run_id))


# --- params, metrics, tags ---------------------------------------------------------------


def log_param(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Record one parameter of the active run (params are immutable once logged)."""
    log_params({key: value}, run_id=run_id)


def log_params(params: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Record parameters; logging a key again with a different value is refused."""
    rid = _resolve_run_id(run_id)
    values = {validate_key(k, "param"): str(v) for k, v in params.items()}
    for key, value in values.items():
        if len(value) > _MAX_PARAM:
            raise StoreError(f"param {key!r} is {len(value)} characters long; the limit is 6000")
    t = _t()
    with get_store().write() as conn:
        _live_run(conn, rid)
        existing = {r.key: r.value for r in conn.execute(t.params.select().where(
            t.params.c.run_id == rid, t.params.c.key.in_(list(values))))}
        for key, value in values.items():
            if key in existing:
                if existing[key] != value:
                    raise StoreError(
                        f"param {key!r} of run {rid} is already {existing[key]!r}; params are "
                        f"immutable, so it cannot become {value!r}"
                    )
                continue
            conn.execute(t.params.insert().values(run_id=rid, key=key, value=value))


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    *,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    """Record one metric value (history is kept; :class:`RunData` shows the latest)."""
    log_metrics({key: value}, step=step, timestamp=timestamp, run_id=run_id)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    *,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    """Record several metric values at one step."""
    rid = _resolve_run_id(run_id)
    rows = []
    ts = timestamp if timestamp is not None else _now_ms()
    for key, value in metrics.items():
        validate_key(key, "metric")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise StoreError(f"metric {key!r} must be a number, got {value!r}") from None
        rows.append({"run_id": rid, "key": key, "value": number, "timestamp": ts,
                     "step": int(step or 0)})
    if not rows:
        return
    t = _t()
    with get_store().write() as conn:
        _live_run(conn, rid)
        conn.execute(t.metrics.insert(), rows)


def get_metric_history(run_id: str, key: str) -> list[tuple[int, int, float]]:
    """Every ``(step, timestamp, value)`` logged for metric ``key``, in logging order."""
    validate_run_id(run_id)
    t = _t()
    with get_store().read() as conn:
        _run_row(conn, run_id)
        rows = conn.execute(t.metrics.select().where(
            t.metrics.c.run_id == run_id, t.metrics.c.key == key).order_by(t.metrics.c.id))
        return [(r.step, r.timestamp, r.value) for r in rows]


def set_tag(key: str, value: Any, *, run_id: str | None = None) -> None:
    """Set one tag of the active run (tags may change)."""
    set_tags({key: value}, run_id=run_id)


def set_tags(tags: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Set tags of the active run."""
    rid = _resolve_run_id(run_id)
    with get_store().write() as conn:
        _live_run(conn, rid)
        _put_tags(conn, rid, tags)


def _put_tags(conn: Connection, run_id: str, tags: Mapping[str, Any]) -> None:
    t = _t()
    for key, value in tags.items():
        validate_key(key, "tag")
        conn.execute(t.run_tags.delete().where(t.run_tags.c.run_id == run_id,
                                               t.run_tags.c.key == key))
        conn.execute(t.run_tags.insert().values(run_id=run_id, key=key, value=str(value)))


# --- artifacts -------------------------------------------------------------------------


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, *,
    run_id: str | None = None,
) -> None:
    """Copy one local file into the run's artifacts (under ``artifact_path`` if given)."""
    src = Path(local_path)
    if not src.is_file():
        raise StoreError(f"cannot log artifact {src}: it is not a file")
    rid = _resolve_run_id(run_id)
    prefix = optional_artifact_path(artifact_path)
    rel = f"{prefix}/{src.name}" if prefix else src.name
    validate_artifact_path(rel, what=f"artifact name {src.name!r}")
    _copy_in(get_store(), rid, [(rel, src)])


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, *,
    run_id: str | None = None,
) -> None:
    """Copy every file under ``local_dir`` into the run's artifacts, all listed or none."""
    src = Path(local_dir)
    if not src.is_dir():
        raise StoreError(f"cannot log artifacts from {src}: it is not a directory")
    rid = _resolve_run_id(run_id)
    prefix = optional_artifact_path(artifact_path)
    files = [((f"{prefix}/{rel}" if prefix else rel), path) for rel, path in
             iter_source_files(src)]
    _copy_in(get_store(), rid, files)


def _copy_in(
    store: Store, run_id: str, files: Iterable[tuple[str, Path]], *, new_only: str | None = None
) -> None:
    """Copy files into ``runs/<run_id>/``, then list them all in one transaction.

    ``new_only`` names a directory that must not exist yet (a logged model).
    """
    t = _t()
    files = list(files)
    with store.read() as conn:
        _live_run(conn, run_id)
        existing = {r.path for r in conn.execute(
            t.artifacts.select().where(t.artifacts.c.run_id == run_id))}
    _check_layout(run_id, existing, [rel for rel, _ in files], new_only)
    sizes: dict[str, int] = {}
    prefix = run_prefix(run_id)
    for rel, path in files:
        sizes[rel] = store.artifacts.put_file(path, f"{prefix}/{rel}")
    with store.write() as conn:
        _live_run(conn, run_id)
        if new_only is not None and _has_prefix(conn, run_id, new_only):
            raise AlreadyExistsError(f"run {run_id} already has an artifact {new_only!r}")
        for rel, size in sizes.items():
            conn.execute(t.artifacts.delete().where(t.artifacts.c.run_id == run_id,
                                                    t.artifacts.c.path == rel))
            conn.execute(t.artifacts.insert().values(run_id=run_id, path=rel, size=size))


def _has_prefix(conn: Connection, run_id: str, path: str) -> bool:
    t = _t()
    rows = conn.execute(t.artifacts.select().where(t.artifacts.c.run_id == run_id))
    return any(r.path == path or r.path.startswith(path + "/") for r in rows)


def _check_layout(run_id: str, existing: set[str], new: list[str], new_only: str | None) -> None:
    if new_only is not None and any(
        p == new_only or p.startswith(new_only + "/") for p in existing
    ):
        raise AlreadyExistsError(
            f"run {run_id} already has an artifact {new_only!r}; choose another name"
        )
    files = existing | set(new)
    for path in new:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                raise StoreError(
                    f"artifact {path!r} of run {run_id} would go under "
                    f"{'/'.join(parts[:i])!r}, which is a file"
                )
        if any(other.startswith(path + "/") for other in files):
            raise StoreError(f"artifact {path!r} of run {run_id} is already a directory")


def _artifact_rows(run_id: str) -> dict[str, int]:
    t = _t()
    store = get_store()
    with store.read() as conn:
        _run_row(conn, run_id)
        return {r.path: r.size for r in conn.execute(
            t.artifacts.select().where(t.artifacts.c.run_id == run_id))}


def list_artifacts(run_id: str, path: str | None = None) -> list[FileInfo]:
    """The files and directories directly under ``path`` of the run's artifacts."""
    validate_run_id(run_id)
    base = optional_artifact_path(path)
    rows = _artifact_rows(run_id)
    prefix = f"{base}/" if base else ""
    entries: dict[str, FileInfo] = {}
    for rel, size in rows.items():
        if not rel.startswith(prefix):
            continue
        head, sep, _ = rel[len(prefix):].partition("/")
        child = prefix + head
        entries[child] = FileInfo(child, True, None) if sep else FileInfo(child, False, size)
    return [entries[k] for k in sorted(entries)]


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
) -> str:
    """Copy a run's artifact (file or directory) to ``dst_path`` and return its local path.

    Give ``run_id`` and ``artifact_path``, or a ``runs:/<run_id>/<path>`` ``artifact_uri``.
    Without ``dst_path`` a new private (0700) temporary directory is used.
    """
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise StoreError("pass either artifact_uri or run_id/artifact_path, not both")
        parsed = parse_runs_uri(artifact_uri)
        run_id, base = parsed.run_id, parsed.path
    elif run_id is None:
        raise StoreError("download_artifacts needs run_id= (or a runs:/ artifact_uri)")
    else:
        validate_run_id(run_id)
        base = optional_artifact_path(artifact_path)
    rows = _artifact_rows(run_id)
    if base is None:
        selected = {rel: rel for rel in rows}
    else:
        leaf = base.rsplit("/", 1)[-1]
        selected = {rel: leaf + rel[len(base):] for rel in rows
                    if rel == base or rel.startswith(base + "/")}
    if not selected:
        raise NotFoundError(f"run {run_id} has no artifact {base!r}")
    dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="saveur-dl-"))
    dst.mkdir(parents=True, exist_ok=True)
    store = get_store()
    prefix = run_prefix(run_id)
    for rel, local in selected.items():
        target = contained(dst, local)
        target.parent.mkdir(parents=True, exist_ok=True)
        store.artifacts.get_file(f"{prefix}/{rel}", target)
    return str(dst if base is None else dst / base.rsplit("/", 1)[-1])
