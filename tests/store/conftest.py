"""Fixtures for the store's cross-package tests: a private PostgreSQL server, store URIs.

The PostgreSQL fixture starts a throwaway cluster (initdb + pg_ctl) on 127.0.0.1 with a
random free port, as the current user, or as the ``postgres`` user when running as root.
Without the binaries the tests skip with the reason; with ``SAVEUR_REQUIRE_POSTGRES=1``
(set by ``.ci/run``) they fail instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import saveur.store as st
from saveur.store import _db


def _unavailable(reason: str) -> None:
    if os.environ.get("SAVEUR_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"SAVEUR_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _pg_bindir() -> Path | None:
    override = os.environ.get("SAVEUR_PG_BINDIR")  # e.g. Homebrew's or a custom build
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
        return candidates[0] if _has_tools(candidates[0]) else None
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(os.path.realpath(found)).parent)
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for bindir in candidates:
        if _has_tools(bindir):
            return bindir
    return None


def _has_tools(bindir: Path) -> bool:
    return all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL cluster; yields its base URL ``postgresql://saveur@127.0.0.1:PORT``."""
    bindir = _pg_bindir()
    if bindir is None:
        _unavailable("initdb/pg_ctl not found (apt-get install -y postgresql, or set "
                     "SAVEUR_PG_BINDIR)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg driver is not installed (pip install 'saveur[postgres]')")
    run_as: dict[str, int] = {}
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root; use the account Debian's package creates.
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no 'postgres' user to run the server")
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    datadir = Path(tempfile.mkdtemp(prefix="saveur-pg-", dir="/tmp"))
    if run_as:
        os.chown(datadir, run_as["user"], run_as["group"])
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C"}

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, check=False, capture_output=True, text=True, env=env,
                              cwd=datadir, **run_as)  # type: ignore[call-overload]

    init = pg(str(bindir / "initdb"), "-D", str(datadir / "data"), "-U", "saveur",
              "--auth=trust", "-E", "UTF8", "--no-locale")
    if init.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        _unavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
    opts = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    start = pg(str(bindir / "pg_ctl"), "-D", str(datadir / "data"), "-o", opts, "-w", "-t", "60",
               "-l", str(datadir / "server.log"), "start")
    if start.returncode != 0:
        log = (datadir / "server.log").read_text() if (datadir / "server.log").exists() else ""
        shutil.rmtree(datadir, ignore_errors=True)
        _unavailable(f"pg_ctl start failed: {start.stderr.strip()[-300:]} {log[-500:]}")
    try:
        yield f"postgresql://saveur@127.0.0.1:{port}"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(datadir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


def _use(uri: str, artifact_root: str | None) -> Iterator[str]:
    _db.close_stores()
    st.set_store_uri(uri, artifact_root=artifact_root)
    try:
        yield uri
    finally:
        while st.active_run() is not None:
            st.end_run()
        st.set_store_uri(None)
        _db.close_stores()


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process uses a fresh folder store (SQLite); yields its URI."""
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    yield from _use(str(tmp_path / "store"), None)


@pytest.fixture
def postgres_store(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """This process uses a fresh PostgreSQL database plus a local artifact root."""
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    yield from _use(postgres_url, str(tmp_path / "artifacts"))


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest) -> str:
    """Each test runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_store"))
