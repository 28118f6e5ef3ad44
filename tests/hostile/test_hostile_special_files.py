"""Every command that walks a model directory refuses special files and escaping links.

A FIFO blocks whoever opens it, a device never ends (``/dev/zero``), a socket cannot be
read: ``verify`` refused them, while ``reseal`` and ``register`` hung and ``register`` of a
sealed model printed a ``shutil.SpecialFileError`` traceback. One walk
(``saveur.security.walk_files``) now serves them all. CLI runs are subprocesses with a
timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

import saveur
import saveur.pyfunc
from saveur.errors import SaveurError, UnsafePathError
from saveur.security import sha256_file, walk_files

_TIMEOUT = 120


def _fifo(path):
    os.mkfifo(path)


def _socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # the socket file stays


def _device_link(path):
    os.symlink("/dev/zero", path)


_KINDS = {"fifo": _fifo, "socket": _socket, "device-link": _device_link}


@pytest.fixture
def short_tmp(tmp_path_factory):
    # AF_UNIX paths are limited to about 100 bytes: keep the model path short.
    import tempfile

    path = tempfile.mkdtemp(prefix="sf-", dir="/tmp")
    yield __import__("pathlib").Path(path)
    __import__("shutil").rmtree(path, ignore_errors=True)


@pytest.fixture
def model(short_tmp, echo_dir):
    import shutil

    target = short_tmp / "m"
    shutil.copytree(echo_dir, target)
    return target


def _cli(*args, cwd, store=None):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if store is not None:
        env["SAVEUR_STORE_URI"] = str(store)
    return subprocess.run([sys.executable, "-m", "saveur", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=_TIMEOUT, check=False)


def _assert_one_line_refusal(result, name):
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"'{name}'" in lines[0], result.stderr
    assert "not a regular file" in lines[0] or "symbolic link" in lines[0], lines[0]


@pytest.mark.parametrize("kind", sorted(_KINDS))
@pytest.mark.parametrize("command", ["verify", "reseal", "show", "register"])
def test_cli_commands_refuse_special_files_without_hanging(model, short_tmp, kind, command):
    _KINDS[kind](model / "planted")
    if command == "register":
        args = ("models", "register", str(model), "planted-model")
    elif command == "reseal":
        args = ("models", "reseal", str(model))
    else:
        args = ("models", command, str(model))
    result = _cli(*args, cwd=short_tmp, store=short_tmp / "store")
    _assert_one_line_refusal(result, "planted")


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_register_of_a_sealed_model_refuses_special_files(model, short_tmp, kind, monkeypatch):
    """A model saved without digests is sealed at registration: the walk comes first."""
    import yaml

    doc = yaml.safe_load((model / "MLmodel").read_text())
    doc.pop("saveur")
    (model / "MLmodel").write_text(yaml.safe_dump(doc))
    _KINDS[kind](model / "sub")
    result = _cli("models", "register", str(model), "sealed", cwd=short_tmp,
                  store=short_tmp / "store")
    _assert_one_line_refusal(result, "sub")


def test_reseal_refuses_a_link_that_leaves_the_model(model, short_tmp):
    (short_tmp / "secret").write_text("s")
    os.symlink(short_tmp / "secret", model / "extra")
    result = _cli("models", "reseal", str(model), cwd=short_tmp)
    _assert_one_line_refusal(result, "extra")


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_nested_special_file_is_refused_by_load(model, kind):
    (model / "deep" / "er").mkdir(parents=True)
    _KINDS[kind](model / "deep" / "er" / "x")
    for verify in (True, False):
        with pytest.raises(UnsafePathError, match="'deep/er/x'"):
            saveur.pyfunc.load_model(model, verify=verify)


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_saving_refuses_special_files_in_code_paths_and_artifacts(short_tmp, kind):
    src = short_tmp / "src"
    src.mkdir()
    (src / "ok.py").write_text("X = 1\n")
    _KINDS[kind](src / "bad")
    for options in ({"code_paths": [src]}, {"artifacts": {"a": src}},
                    {"artifacts": {"f": src / "bad"}}, {"code_paths": [src / "bad"]}):
        target = short_tmp / "m"
        with pytest.raises(UnsafePathError, match="bad"):
            saveur.pyfunc.save_model(target, python_model="saveur_echo.pymodels:ScaledSum",
                                     **options)
        assert not target.exists()


def test_saving_refuses_links_that_leave_code_paths_and_artifacts(short_tmp):
    src = short_tmp / "src"
    src.mkdir()
    (short_tmp / "secret").write_text("s")
    os.symlink(short_tmp / "secret", src / "leak")
    for options in ({"code_paths": [src]}, {"artifacts": {"a": src}}):
        with pytest.raises(UnsafePathError, match="'leak' is a symbolic link to .*, outside"):
            saveur.pyfunc.save_model(short_tmp / "m",
                                     python_model="saveur_echo.pymodels:ScaledSum", **options)


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_store_copies_refuse_special_files(short_tmp, kind, monkeypatch):
    import saveur.store as st

    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    st.set_store_uri(short_tmp / "store")
    try:
        src = short_tmp / "arts"
        src.mkdir()
        (src / "ok.txt").write_text("ok")
        _KINDS[kind](src / "bad")
        with st.start_run():
            with pytest.raises(UnsafePathError, match="'bad'"):
                st.log_artifacts(src)
            with pytest.raises(SaveurError):
                st.log_artifact(src / "bad")
            with pytest.raises(UnsafePathError, match="bad"):
                st.log_model("saveur_echo.pymodels:ScaledSum", "model",
                             flavor="python_function", code_paths=[src])
    finally:
        while st.active_run() is not None:
            st.end_run()
        st.set_store_uri(None)
        from saveur.store import _db

        _db.close_stores()


@pytest.mark.parametrize("kind", ["fifo", "device-link"])
def test_reading_a_file_swapped_for_a_special_file_fails_fast(short_tmp, kind):
    """After a walk, a file may be swapped: every read opens non-blocking and checks fstat."""
    _KINDS[kind](short_tmp / "f")
    with pytest.raises(UnsafePathError, match="not a regular file"):
        sha256_file(short_tmp / "f")


def test_walk_lists_regular_files_and_inside_links(short_tmp):
    (short_tmp / "a" / "b").mkdir(parents=True)
    (short_tmp / "a" / "b" / "f").write_text("x")
    os.symlink(short_tmp / "a" / "b" / "f", short_tmp / "link")
    assert [rel for rel, _ in walk_files(short_tmp, links="inside")] == ["a/b/f", "link"]
    with pytest.raises(UnsafePathError, match="'link' is a symbolic link"):
        walk_files(short_tmp)
    os.symlink(short_tmp / "a", short_tmp / "dirlink")
    with pytest.raises(UnsafePathError, match="'dirlink' is a symlinked directory"):
        walk_files(short_tmp, links="inside")
