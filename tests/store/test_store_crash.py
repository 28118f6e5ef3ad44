"""kill -9 in the middle of log_model/register_model leaves the store consistent.

A worker process logs and registers a model once cleanly, then again with a SIGKILL armed
at one point of the second round: while a file is being copied, between two files, or
inside the registration's database transaction. Afterwards no version and no listed model
may point at a missing or partial file, and the store keeps working.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

import saveur.store as st
from saveur.errors import NotFoundError
from saveur.loading import open_model
from saveur.security import sha256_file, verify_digests
from saveur.store import _db

_WORKER = r"""
import os, shutil, signal, sys
import saveur.store as st
from saveur.pyfunc import PythonModel
from saveur.store import _artifacts, registry

class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

uri, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
st.set_store_uri(uri)

def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)

state = {"armed": False, "puts": 0}
real_put = _artifacts.LocalArtifactRoot.put_file
real_copy = _artifacts.copy_regular_file
real_next = registry._next_version

def put(self, src, rel):
    if state["armed"]:
        state["puts"] += 1
        if mode == "between" and state["puts"] == n:
            die()
    return real_put(self, src, rel)

def copyfile(src, dst, *a, **k):
    if state["armed"] and mode == "partial" and state["puts"] == n:
        data = open(src, "rb").read()
        with open(dst, "wb") as f:
            f.write(data[: max(1, len(data) // 2)])
            f.flush()
        die()
    return real_copy(src, dst, *a, **k)

def next_version(conn, model_id):
    version = real_next(conn, model_id)
    if state["armed"] and mode == "commit":
        die()
    return version

_artifacts.LocalArtifactRoot.put_file = put
_artifacts.copy_regular_file = copyfile
registry._next_version = next_version

rounds = 1000 if mode == "loop" else 2
for i in range(rounds):
    state["armed"] = i == 1
    with st.start_run():
        info = st.log_model(Echo(), "model", flavor="python_function")
    print("logged", info.run_id, flush=True)
    st.register_model(info.model_uri, "crashy")
    print("registered", flush=True)
"""

# The model has 5 files; puts 1-5 belong to log_model, 6-10 to the registry copy.
CASES = {
    "log_model, between two files": ("between", 3),
    "log_model, half-written file": ("partial", 2),
    "log_model, before MLmodel": ("between", 5),
    "register, between two files": ("between", 8),
    "register, half-written MLmodel": ("partial", 10),
    "register, inside the database transaction": ("commit", 0),
}


def _worker(uri: str, mode: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WORKER, uri, mode, str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_consistent() -> None:
    for version in st.search_model_versions():
        path = version.storage_location
        assert sha256_file(os.path.join(path, "MLmodel")) == version.mlmodel_sha256
        opened = open_model(f"models:/{version.name}/{version.version}")
        verify_digests(opened.path, opened.mlmodel.digests)
    for run in st.search_runs():
        rid = run.info.run_id
        for entry in st.list_artifacts(rid):
            if entry.is_dir and any(f.path.endswith("/MLmodel")
                                    for f in st.list_artifacts(rid, entry.path)):
                open_model(f"runs:/{rid}/{entry.path}")  # verifies every digest


@pytest.fixture
def store_uri(sqlite_store):
    return sqlite_store


@pytest.mark.parametrize("case", list(CASES))
def test_kill_9_leaves_store_consistent(store_uri, case) -> None:
    _kill_and_check(store_uri, case)


@pytest.mark.postgres
@pytest.mark.parametrize("case", [
    "log_model, half-written file",
    "register, half-written MLmodel",
    "register, inside the database transaction",
])
def test_kill_9_leaves_postgres_store_consistent(postgres_store, case) -> None:
    # the worker inherits SAVEUR_ARTIFACT_ROOT from the postgres_store fixture
    _kill_and_check(postgres_store, case)


def _kill_and_check(store_uri: str, case: str) -> None:
    mode, n = CASES[case]
    proc = _worker(store_uri, mode, n)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    logged = [line.split()[1] for line in out.splitlines() if line.startswith("logged")]
    _db.close_stores()
    _assert_consistent()
    assert [v.version for v in st.search_model_versions("name = 'crashy'")] == [1]
    if case.startswith("log_model"):
        assert len(logged) == 1  # the second log_model never completed...
        (second,) = [r for r in st.search_runs() if r.info.run_id != logged[0]]
        assert st.list_artifacts(second.info.run_id) == []  # ...and lists nothing
        with pytest.raises(NotFoundError):
            open_model(f"runs:/{second.info.run_id}/model")
    else:
        assert len(logged) == 2
        open_model(f"runs:/{logged[1]}/model")
    # the store is not wedged: the next registration works and numbers on
    assert st.register_model(f"runs:/{logged[0]}/model", "crashy").version >= 2


@pytest.mark.slow
def test_kill_9_at_random_moments(store_uri) -> None:
    rng = random.Random(1177)
    for _ in range(3):
        proc = _worker(store_uri, "loop", 0)
        assert proc.stdout is not None
        proc.stdout.readline()  # wait until one model is logged, then kill at a random moment
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        proc.communicate(timeout=60)
        _db.close_stores()
        _assert_consistent()
    versions = [v.version for v in st.search_model_versions("name = 'crashy'")]
    assert len(versions) == len(set(versions))
