"""A per-user cache of small files that saveur derives from *installed* code, never from a model.

What goes here is a result that is slow to compute and changes only when installed packages
change (saveur-sklearn keeps scikit-learn's estimator list here, which skops otherwise builds by
importing every scikit-learn module). Such a result can decide what is trusted, so an entry is
honoured only when it is private: the directory and the file are owned by the user running
saveur and writable by no one else, and the file is a regular file reached without a symbolic
link. Whoever could write such a file could as well edit the user's own packages or shell
start-up files. Anything else (missing, foreign, shared, too large) reads as no entry, and the
caller computes the value again. Writes are atomic (a private temporary file renamed into
place), so concurrent processes never see half an entry, and a cache that cannot be written
(a read-only home) only costs the time it would have saved.

The directory is ``$SAVEUR_CACHE_DIR``, else ``$XDG_CACHE_HOME/saveur``, else
``~/.cache/saveur``; ``SAVEUR_CACHE_DIR=off`` turns the cache off. On a platform without
POSIX ownership (Windows) there is no cache.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "MAX_ENTRY_BYTES", "cache_dir", "read_private", "write_private"]

CACHE_ENV_VAR = "SAVEUR_CACHE_DIR"
#: An entry larger than this is not read (entries are small lists, a few kilobytes).
MAX_ENTRY_BYTES = 4 << 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The cache directory (which may not exist yet), or ``None`` when the cache is off."""
    if not hasattr(os, "geteuid"):
        return None
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "false", "no"):
            return None
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError, OSError):  # no home directory to be found
            return None
    return Path(base) / "saveur"


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _entry(name: str) -> tuple[Path, Path] | None:
    if not _NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"cache entry name {name!r} is not a plain file name")
    folder = cache_dir()
    if folder is None:
        return None
    return folder, folder / name


def read_private(name: str) -> bytes | None:
    """The entry ``name``, or ``None`` when it is missing or not private (see module doc)."""
    where = _entry(name)
    if where is None:
        return None
    folder, path = where
    try:
        st = os.stat(folder)
        if not stat.S_ISDIR(st.st_mode) or not _private(st):
            _log.debug("cache directory %s is not private to this user; not used", folder)
            return None
        flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > MAX_ENTRY_BYTES:
        os.close(fd)
        _log.debug("cache entry %s is not a private regular file; not used", path)
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_ENTRY_BYTES + 1)
    return data if len(data) <= MAX_ENTRY_BYTES else None


def write_private(name: str, data: bytes) -> bool:
    """Write the entry ``name`` atomically; ``False`` when the cache is off or not writable."""
    where = _entry(name)
    if where is None or len(data) > MAX_ENTRY_BYTES:
        return False
    folder, path = where
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(folder)
        if not stat.S_ISDIR(st.st_mode) or not _private(st):
            return False
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        _log.debug("cache entry %s not written: %s", path, exc)
        return False
    return True
