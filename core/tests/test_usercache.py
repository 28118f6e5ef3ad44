"""saveur.usercache: entries are read back only when private to the user."""

from __future__ import annotations

import os

import pytest

from saveur.usercache import MAX_ENTRY_BYTES, cache_dir, read_private, write_private

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="no POSIX ownership here")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SAVEUR_CACHE_DIR", str(folder))
    return folder


def test_an_entry_round_trips_privately_and_atomically(cache):
    assert read_private("e.json") is None
    assert write_private("e.json", b"one")
    assert write_private("e.json", b"two")
    assert read_private("e.json") == b"two"
    assert cache.stat().st_mode & 0o777 == 0o700
    assert (cache / "e.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in cache.iterdir()) == ["e.json"]  # no temporary left


def test_an_entry_others_can_write_or_reached_by_a_link_is_not_read(cache, tmp_path):
    write_private("e.json", b"data")
    (cache / "e.json").chmod(0o620)
    assert read_private("e.json") is None
    (cache / "e.json").chmod(0o600)
    assert read_private("e.json") == b"data"
    (tmp_path / "elsewhere").write_bytes(b"data")
    (tmp_path / "elsewhere").chmod(0o600)
    os.symlink(tmp_path / "elsewhere", cache / "link.json")
    assert read_private("link.json") is None
    cache.chmod(0o777)
    assert read_private("e.json") is None
    assert not write_private("f.json", b"x")  # nor written into a folder others can change
    cache.chmod(0o700)


def test_a_folder_or_oversized_file_is_not_an_entry(cache):
    write_private("e.json", b"x")
    (cache / "dir.json").mkdir()
    assert read_private("dir.json") is None
    (cache / "big.json").write_bytes(b"x" * (MAX_ENTRY_BYTES + 1))
    (cache / "big.json").chmod(0o600)
    assert read_private("big.json") is None
    assert not write_private("big.json", b"x" * (MAX_ENTRY_BYTES + 1))


@pytest.mark.parametrize("value", ["off", "", "0"])
def test_the_cache_can_be_turned_off(monkeypatch, value):
    monkeypatch.setenv("SAVEUR_CACHE_DIR", value)
    assert cache_dir() is None
    assert read_private("e.json") is None
    assert not write_private("e.json", b"x")


def test_the_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SAVEUR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "saveur"


@pytest.mark.parametrize("name", ["../escape.json", "a/b.json", ".hidden", "", "x" * 300])
def test_an_entry_name_must_be_a_plain_file_name(cache, name):
    with pytest.raises(ValueError, match="is not a plain file name"):
        read_private(name)


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("SAVEUR_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot exist
    assert not write_private("e.json", b"x")
    assert read_private("e.json") is None


def test_no_home_directory_means_no_cache(monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("SAVEUR_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert cache_dir() is None
    assert read_private("e.json") is None
