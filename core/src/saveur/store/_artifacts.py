"""Artifact roots: a local folder, or any file system fsspec knows.

Files are written first and recorded in the database last; a file on disk that the database
does not list is invisible (left over from a crash), never half of an artifact.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from saveur.errors import StoreError
from saveur.security import copy_regular_file, open_regular
from saveur.store._validation import contained, validate_artifact_path


class ArtifactRoot(Protocol):
    """What the store needs of an artifact root; paths are validated relative strings."""

    uri: str

    def put_file(self, src: Path, rel: str) -> int: ...
    def get_file(self, rel: str, dst: Path) -> None: ...
    def read_bytes(self, rel: str) -> bytes: ...
    def local_path(self, rel: str) -> Path | None: ...
    def delete_tree(self, rel: str) -> None: ...


class LocalArtifactRoot:
    """Artifacts in a local folder; each file lands by an atomic rename."""

    def __init__(self, root: str) -> None:
        self.uri = root
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put_file(self, src: Path, rel: str) -> int:
        dst = contained(self.root, rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst = contained(self.root, rel)  # re-check: a parent may be a symlink made meanwhile
        tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.partial")
        try:
            copy_regular_file(src, tmp)
            os.replace(tmp, dst)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return dst.stat().st_size

    def get_file(self, rel: str, dst: Path) -> None:
        copy_regular_file(contained(self.root, rel), dst)

    def read_bytes(self, rel: str) -> bytes:
        with open_regular(contained(self.root, rel), "artifact") as f:
            return f.read()

    def local_path(self, rel: str) -> Path | None:
        return contained(self.root, rel)

    def delete_tree(self, rel: str) -> None:
        path = contained(self.root, rel)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


class FsspecArtifactRoot:
    """Artifacts on any fsspec file system (object stores: no rename, database row last)."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise StoreError(
                f"artifact root {url!r} needs fsspec; pip install fsspec (and the file "
                "system's package, such as s3fs)"
            ) from exc
        self.uri = url
        self.fs, base = fsspec.core.url_to_fs(url)
        self.base = base.rstrip("/")

    def _full(self, rel: str) -> str:
        return f"{self.base}/{validate_artifact_path(rel)}"

    def put_file(self, src: Path, rel: str) -> int:
        full = self._full(rel)
        self.fs.makedirs(full.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(str(src), full)
        return int(src.stat().st_size)

    def get_file(self, rel: str, dst: Path) -> None:
        self.fs.get_file(self._full(rel), str(dst))

    def read_bytes(self, rel: str) -> bytes:
        return bytes(self.fs.cat_file(self._full(rel)))

    def local_path(self, rel: str) -> Path | None:
        return None

    def delete_tree(self, rel: str) -> None:
        full = self._full(rel)
        if self.fs.exists(full):
            self.fs.rm(full, recursive=True)


def open_artifact_root(root: str) -> ArtifactRoot:
    """A local root for paths, an fsspec root for ``scheme://`` URLs."""
    if "://" in root:
        return FsspecArtifactRoot(root)
    return LocalArtifactRoot(root)


def iter_source_files(source: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(relative posix path, file)`` for every file under ``source``, sorted.

    The walk every model directory goes through (:func:`saveur.security.walk_files`): links
    are followed only to regular files inside ``source`` (one that leaves it is a way to copy
    ``/etc/passwd`` into a store), symlinked directories and special files (a FIFO hangs the
    copy, a device never ends) are refused.
    """
    from saveur.security import walk_files

    found = walk_files(source, links="inside", what="file")
    for rel, _path in found:
        validate_artifact_path(rel, what=f"file name {rel!r} under {source}")
    return iter(found)
