"""8 processes x 25 registrations of one model name: versions 1..200, none lost or repeated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import saveur
import saveur.store as st
from saveur.pyfunc import PythonModel

PROCESSES = 8
EACH = 25

_WORKER = r"""
import json, os, sys, time
import saveur.store as st
uri, root, source, go, count = sys.argv[1:6]
st.set_store_uri(uri, artifact_root=root or None)
while not os.path.exists(go):  # start together, to collide as much as possible
    time.sleep(0.005)
versions = [st.register_model(source, "shared").version for _ in range(int(count))]
print(json.dumps(versions))
"""


class Const(PythonModel):
    def predict(self, context, model_input, params=None):
        return [0 for _ in model_input]


def _run_workers(uri: str, root: str, tmp_path: Path) -> list[list[int]]:
    source = tmp_path / "model"
    saveur.save_model(Const(), source, flavor="python_function")
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, uri, root, str(source), str(go), str(EACH)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(PROCESSES)
    ]
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check(results: list[list[int]]) -> None:
    every = sorted(v for r in results for v in r)
    assert every == list(range(1, PROCESSES * EACH + 1))
    for r in results:
        assert r == sorted(r)  # each process sees its own versions increase
    versions = st.search_model_versions("name = 'shared'")
    assert sorted(v.version for v in versions) == every
    # every version points at a complete copy whose MLmodel matches the recorded digest
    from saveur.security import sha256_file

    for v in versions:
        assert sha256_file(os.path.join(v.storage_location, "MLmodel")) == v.mlmodel_sha256


@pytest.mark.slow
def test_concurrent_registration_sqlite(sqlite_store, tmp_path) -> None:
    # the store is fresh: the 8 workers also race to create and migrate it
    _check(_run_workers(sqlite_store, "", tmp_path))


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_registration_postgres(postgres_store, tmp_path) -> None:
    root = str(tmp_path / "artifacts")
    _check(_run_workers(postgres_store, root, tmp_path))
