"""The trust policy: who may run code, file digests, and safe handling of paths.

Loading never runs code a model carries unless the *caller* trusts it (``trust_code=True``
or the deployer's ``SAVEUR_TRUST_CODE=1``); nothing in a model's own files grants trust.

Limits, on purpose:

- Digests catch corruption and partial edits, not tampering: whoever can edit MLmodel can
  delete the ``saveur`` key (the model then loads like one saved by MLflow, which records no
  digests) or re-record the digests. The trust policy, not the digests, is what keeps such a
  model from running code; for ``models:/`` URIs the registry's MLmodel digest anchors the
  file digests (models registered without digests are sealed at registration).
- A by-reference ``python_model_class`` is imported to check that it is a ``PythonModel``
  subclass, and importing runs the module's top-level code. Before that, every module of
  the dotted name is located without running it and must be a file of an installed
  distribution outside the model and the current directory (:func:`check_installed_module`):
  that code is the environment's (the same code any ``import`` of the package runs), so it
  needs no trust. The standard library, ``__main__`` modules (command-line entry points
  that act at import) and anything that fails or exits at import are refused.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import mmap
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from saveur.errors import IntegrityError, TrustError, UnsafePathError

TRUST_ENV_VAR = "SAVEUR_TRUST_CODE"
_CHUNK = 1 << 20
#: Files at least this large are hashed through a memory map (see :func:`_hash_file`).
_MAP_MIN = 1 << 20


def trust_from_env(trust_code: bool | None = None) -> bool:
    """Return the effective trust: the caller's choice, else ``SAVEUR_TRUST_CODE=1``."""
    if trust_code is not None:
        return bool(trust_code)
    return os.environ.get(TRUST_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


def require_trust(trust_code: bool, what: str) -> None:
    """Raise :class:`TrustError` naming ``what`` unless the caller trusts the model's code."""
    if not trust_code:
        raise TrustError(
            f"{what} would run code carried by the model; load it with trust_code=True "
            f"(or set {TRUST_ENV_VAR}=1, or pass --trust-code) only if you trust its source"
        )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a regular file, read in chunks (see :func:`open_regular`)."""
    return _hash_file(path, hashlib.sha256())


def _hash_file(path: str | os.PathLike[str], digest: Any, *, mapped: bool = False) -> str:
    """Hash a regular file: in chunks, or (``mapped``, for BLAKE3) through a read-only map.

    BLAKE3 hashes a large contiguous buffer on every core (its tree mode): a 100 MB file
    maps and hashes in ~12 ms on two vCPUs against ~34 ms read in 1 MiB chunks, which is
    what keeps a verified load of large weights faster than an unverified pickle load. A
    file shorter than :data:`_MAP_MIN`, or one the filesystem cannot map, is read in chunks.
    """
    with open_regular(path) as f:
        if mapped and os.fstat(f.fileno()).st_size >= _MAP_MIN:
            try:
                view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a filesystem without mmap, a file just emptied
                pass
            else:
                with view:
                    digest.update(view)
                return str(digest.hexdigest())
        buffer = bytearray(_CHUNK)
        chunk = memoryview(buffer)
        while n := f.readinto(buffer):  # type: ignore[attr-defined]
            digest.update(chunk[:n])
    return str(digest.hexdigest())


#: How a file digest recorded in MLmodel names its algorithm: ``blake3:<64 hex>``; a bare
#: 64-hex value is SHA-256 (what saveur wrote before BLAKE3, and still writes without it).
BLAKE3_PREFIX = "blake3:"
_HEX64 = frozenset("0123456789abcdef")


def _blake3() -> Any:
    try:
        from blake3 import blake3
    except ImportError:
        return None
    return blake3


def file_digest(path: str | os.PathLike[str]) -> str:
    """The digest saveur records for a model file: BLAKE3 (``blake3:<hex>``) when the
    ``blake3`` package is installed (a saveur dependency), else SHA-256 (bare hex).

    BLAKE3 is a cryptographic hash about four times faster than SHA-256 on one core, and it
    spreads one file over every core; that matters because every file is hashed on every
    verified load (a 100 MB weights file: ~12 ms on two vCPUs against ~78 ms of SHA-256,
    more than a framework's whole load).
    """
    blake3 = _blake3()
    if blake3 is None:
        return sha256_file(path)
    return BLAKE3_PREFIX + _hash_file(path, blake3(max_threads=blake3.AUTO), mapped=True)


def check_digest_format(recorded: object) -> str | None:
    """Why ``recorded`` is not a digest saveur can check, or ``None`` when it is one."""
    if not isinstance(recorded, str):
        return f"a digest must be a string, got {type(recorded).__name__}"
    hex_part = recorded[len(BLAKE3_PREFIX):] if recorded.startswith(BLAKE3_PREFIX) else recorded
    if len(hex_part) != 64 or not _HEX64.issuperset(hex_part):
        return (
            f"digest {recorded[:80]!r} is neither 64 lowercase hex digits (SHA-256) nor "
            f"'{BLAKE3_PREFIX}' and 64 hex digits (BLAKE3)"
        )
    return None


def digest_matches(path: str | os.PathLike[str], recorded: str) -> bool:
    """Whether the file at ``path`` has the digest ``recorded`` (either algorithm).

    ``recorded`` is a value :func:`check_digest_format` accepted (anything else simply does
    not match). Raises :class:`~saveur.errors.MissingDependencyError` for a BLAKE3 digest
    without ``blake3``.
    """
    if not recorded.startswith(BLAKE3_PREFIX):
        return hmac.compare_digest(sha256_file(path), recorded)
    blake3 = _blake3()
    if blake3 is None:
        from saveur.errors import MissingDependencyError

        raise MissingDependencyError(
            "this model records BLAKE3 digests and the blake3 package is not installed; "
            "pip install blake3 (a dependency of saveur)"
        )
    actual = BLAKE3_PREFIX + _hash_file(path, blake3(max_threads=blake3.AUTO), mapped=True)
    return hmac.compare_digest(actual, recorded)


def open_regular(path: str | os.PathLike[str], what: str = "model file") -> BinaryIO:
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    Opening a FIFO blocks until a writer comes and a device (``/dev/zero``) never ends: the
    file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a file
    swapped for a FIFO after a directory walk checked it still cannot hang the reader.
    """
    refused = UnsafePathError(
        f"{what} {os.fspath(path)!r} is not a regular file (a FIFO, socket or device); refused"
    )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG  # missing or unreadable: the caller's own error says so
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise refused from None  # a socket (ENXIO), a device without a driver...
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # what open() says of a directory
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(mode):
            raise refused
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def copy_regular_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy the regular file ``src`` to ``dst`` (created or truncated); never a special file."""
    import shutil

    with open_regular(src, "file") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, _CHUNK)


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def check_relative(relative: str, what: str = "path") -> PurePosixPath:
    """Validate a relative, POSIX-style path from a model file or request.

    Refuses absolute paths, drive letters, backslashes, NUL bytes and ``..`` segments.
    """
    if not isinstance(relative, str) or not relative:
        raise UnsafePathError(f"{what} must be a non-empty relative path, got {relative!r}")
    if "\x00" in relative:
        raise UnsafePathError(f"{what} {relative!r} contains a NUL byte")
    if "\\" in relative:
        raise UnsafePathError(f"{what} {relative!r} contains a backslash; use '/'")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or (len(relative) > 1 and relative[1] == ":"):
        raise UnsafePathError(f"{what} {relative!r} is absolute; it must be relative")
    if any(part == ".." for part in pure.parts):
        raise UnsafePathError(f"{what} {relative!r} contains '..'; it must stay inside")
    return pure


def contained_path(root: str | os.PathLike[str], relative: str, what: str = "path") -> Path:
    """Join ``relative`` to ``root`` and make sure the result stays inside ``root``.

    Symlinks are resolved, so a link that points outside ``root`` is refused too.
    """
    pure = check_relative(relative, what)
    root_resolved = Path(root).resolve()
    candidate = (root_resolved / pure).resolve()
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise UnsafePathError(
            f"{what} {relative!r} resolves outside {str(root_resolved)!r} (a symlink that escapes?)"
        )
    return candidate


def private_tempdir(parent: str | os.PathLike[str] | None = None, prefix: str = ".saveur-") -> Path:
    """Create a private (mode 0700) temporary directory, next to ``parent`` if given."""
    if parent is not None:
        os.makedirs(parent, exist_ok=True)
    # mkdtemp already creates with 0700; chmod guards against unusual platforms.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o700)
    return path


def walk_files(
    root: str | os.PathLike[str],
    *,
    links: str = "refuse",
    skip: Callable[[str, bool], bool] | None = None,
    what: str = "model file",
) -> list[tuple[str, Path]]:
    """Every regular file under ``root`` as sorted ``(posix relative path, path)`` pairs.

    The one walk of a model (or any directory saveur copies or seals): FIFOs, sockets and
    devices are refused with :class:`UnsafePathError` (reading one hangs or never ends), and
    so are symlinked directories and links that leave ``root``. ``links="refuse"`` refuses
    every link (saved models never contain one); ``links="inside"`` lets a link to a regular
    file inside ``root`` through, as its path. ``skip(rel, is_dir)`` drops entries without
    looking inside them (``__pycache__`` when copying code). Nothing is opened: only
    ``lstat`` and, for a link, ``stat`` of its target, which cannot block.
    """
    base = Path(root)
    real_root: Path | None = None  # resolved only when a link needs it
    found: list[tuple[str, Path]] = []
    pending: list[tuple[str, str]] = [(os.fspath(base), "")]
    while pending:
        here, prefix = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as e:
            raise UnsafePathError(f"cannot list {here!r}: {e.strerror}") from None
        for entry in entries:
            rel = prefix + entry.name
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                if links != "inside":
                    raise UnsafePathError(
                        f"{what} {rel!r} is a symbolic link; links are refused"
                    )
                try:
                    mode = os.stat(entry.path).st_mode
                except OSError:
                    raise UnsafePathError(
                        f"{what} {rel!r} is a symbolic link to nothing; refused"
                    ) from None
                if real_root is None:
                    real_root = Path(os.path.realpath(base))
                real = Path(os.path.realpath(entry.path))
                if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and real_root not in real.parents:
                    raise UnsafePathError(
                        f"{what} {rel!r} is a symbolic link to {str(real)!r}, outside "
                        f"{str(base)!r}; refused"
                    )
                if stat.S_ISDIR(mode):
                    raise UnsafePathError(
                        f"{what} {rel!r} is a symlinked directory; refused (copy its contents)"
                    )
            if stat.S_ISDIR(mode):
                if skip is None or not skip(rel, True):
                    pending.append((entry.path, rel + "/"))
            elif stat.S_ISREG(mode):
                if skip is None or not skip(rel, False):
                    found.append((rel, Path(entry.path)))
            else:
                raise UnsafePathError(
                    f"{what} {rel!r} is not a regular file (a FIFO, socket or device); refused"
                )
    found.sort()
    return found


def iter_model_files(model_dir: Path) -> list[str]:
    """List every regular file under ``model_dir`` (POSIX relative paths), MLmodel excluded.

    Links and special files are refused (:func:`walk_files`): saved models never contain
    links, and a link is the classic way to make a loader read outside the model.
    """
    return [rel for rel, _ in walk_files(model_dir) if rel != "MLmodel"]


def refuse_special_files(model_dir: Path) -> None:
    """Refuse FIFOs, sockets, devices and links that leave the model, anywhere in it.

    Reading a FIFO blocks forever and a device can be endless (``/dev/zero``): a model that
    carries one would hang whatever opens it, digests or not. Links that stay inside are
    left to the digest check (a model saved by MLflow records no digests).
    """
    walk_files(model_dir, links="inside")


def compute_digests(model_dir: Path) -> dict[str, str]:
    """Return ``{relative_path: digest}`` (:func:`file_digest`) for every file but MLmodel."""
    return {rel: file_digest(Path(model_dir) / rel) for rel in iter_model_files(model_dir)}


def verify_digests(model_dir: Path, digests: dict[str, str]) -> None:
    """Check every recorded digest; raise :class:`IntegrityError` naming the first bad file."""
    for rel, expected in digests.items():
        path = contained_path(model_dir, rel, "digest entry")
        if not path.is_file():
            raise IntegrityError(
                f"model file {rel!r} is recorded in MLmodel but missing from {str(model_dir)!r}"
            )
        problem = check_digest_format(expected)
        if problem is not None:
            raise IntegrityError(f"model file {rel!r}: {problem}")
        if not digest_matches(path, expected):
            algorithm = "BLAKE3" if expected.startswith(BLAKE3_PREFIX) else "SHA-256"
            raise IntegrityError(
                f"model file {rel!r} does not match its recorded {algorithm} digest; the model "
                "was modified after saving. If the edit was deliberate, run "
                "`saveur models reseal`"
            )


def check_installed_module(
    module_name: str, refused_dirs: Sequence[Path] = (), *, installed_only: bool = True
) -> str | None:
    """Check, without importing anything, that ``module_name`` is installed code.

    Every module of the dotted chain (``a``, ``a.b``, ``a.b.c``: importing one runs its
    parents first) is located the way the import system would find it (``sys.meta_path``
    finders, each parent's ``__path__``) but not executed: ``importlib.util.find_spec`` of a
    dotted name would import the parents. Each module file must belong to an installed
    distribution (listed in its ``RECORD``, or under the project of an editable install)
    whose metadata is not in the current directory, and lie outside ``refused_dirs`` (the
    model directory and code paths of loaded models). A directory on ``sys.path`` only
    because it is the current directory (``python -c``, ``python -m``, a notebook) is thus
    never a source of code for an untrusted model. ``installed_only=False`` (the caller
    trusts the model's code) drops the distribution rule, never ``refused_dirs``. Returns the
    final module's file, or ``None`` for a namespace package; raises :class:`TrustError`
    naming the module.
    """
    import sys

    refused = [Path(os.path.realpath(d)) for d in refused_dirs]
    owners = _installed_owners(refused) if installed_only else None
    search: list[str] | None = None
    origin: str | None = None
    parts = module_name.split(".")
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        module = sys.modules.get(name)
        spec = getattr(module, "__spec__", None) if module is not None else _find_spec(name, search)
        if spec is None and module is None:
            raise TrustError(
                f"module {name!r} is not installed (it cannot be found without importing it); "
                "a model may only name classes of installed packages"
            )
        origin = getattr(spec, "origin", None) if spec is not None else None
        if origin is None and module is not None:
            origin = getattr(module, "__file__", None)
        has_location = bool(getattr(spec, "has_location", origin is not None))
        locations = (
            getattr(module, "__path__", None) if module is not None
            else getattr(spec, "submodule_search_locations", None)
        )
        if origin is not None and has_location:
            origin = os.path.realpath(origin)
            _check_origin(name, origin, refused, owners)
        elif locations is None:
            raise TrustError(
                f"module {name!r} is not a file of an installed package (a built-in or "
                "frozen module); refused"
            )
        else:
            origin = None  # a namespace package: no code of its own runs
        if i < len(parts) - 1 and locations is None:
            raise TrustError(f"module {name!r} is not a package, so {module_name!r} is refused")
        search = list(locations) if locations is not None else None
    return origin


def _find_spec(name: str, search: list[str] | None) -> Any:
    """What ``importlib`` does to find ``name``, minus importing its parents."""
    import sys
    from importlib.machinery import PathFinder

    for finder in list(sys.meta_path):
        if finder is PathFinder:
            # PathFinder.find_spec builds a namespace package's path from its parent
            # *module* (KeyError when the parent is not imported); its _get_spec does the
            # same search and leaves the portions as a plain list.
            spec = PathFinder._get_spec(  # type: ignore[attr-defined]
                name, sys.path if search is None else search
            )
            if spec is not None and spec.loader is None:
                if not spec.submodule_search_locations:
                    continue
                spec.origin = None  # a namespace package
            if spec is not None:
                return spec
            continue
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec = find(name, search, None)
        if spec is not None:
            return spec
    return None


def _check_origin(
    name: str, origin: str, refused: list[Path], owners: list[_Owner] | None
) -> None:
    real = Path(os.path.realpath(origin))
    for directory in refused:
        if directory == real or directory in real.parents:
            raise TrustError(
                f"module {name!r} would be imported from {str(real)!r}, inside the model "
                f"directory or a model's code path ({str(directory)!r}); a model may only name "
                "classes of installed packages, never code it carries"
            )
    if owners is None:
        return
    for owner in owners:
        if owner.project is not None and owner.project in real.parents:
            return
        if owner.installed(real):
            return
    raise TrustError(
        f"module {name!r} would be imported from {str(real)!r}, which is not a file of any "
        "installed distribution (the current directory, a path on sys.path, or code next to "
        "the model?); install the package that defines the class, or load with "
        "trust_code=True only if you trust the model"
    )


def _installed_owners(refused: list[Path]) -> list[_Owner]:
    """Installed distributions, each with its project directory when installed editable.

    Distributions whose metadata sits in the current directory or in a refused directory are
    left out: a ``*.dist-info`` planted next to the code would otherwise vouch for it.
    """
    import json
    from importlib.metadata import distributions
    from urllib.parse import unquote, urlparse

    cwd = Path(os.path.realpath(os.getcwd()))
    owners: list[_Owner] = []
    for dist in distributions():
        base = Path(os.path.realpath(str(dist.locate_file(""))))
        if base == cwd or any(d == base or d in base.parents for d in refused):
            continue
        project = None
        try:
            direct = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            direct = {}
        if isinstance(direct, dict) and (direct.get("dir_info") or {}).get("editable"):
            url = urlparse(str(direct.get("url", "")))
            if url.scheme == "file":
                project = Path(os.path.realpath(unquote(url.path)))
                if project == cwd or any(d == project or d in project.parents for d in refused):
                    project = None  # an editable "project" that is the cwd or holds a model
        owners.append(_Owner(dist, base, project))
    return owners


class _Owner:
    """One installed distribution: where it is installed, and its file list read once."""

    def __init__(self, dist: Any, base: Path, project: Path | None) -> None:
        self.dist = dist
        self.base = base
        self.project = project
        self._record: str | None = None

    def installed(self, real: Path) -> bool:
        """Whether ``real`` is one of the files this distribution installed."""
        if self.base not in real.parents:
            return False
        if self._record is None:
            # RECORD lines are "path,hash,size", paths relative to the site directory.
            self._record = "\n" + (self.dist.read_text("RECORD") or "")
        if len(self._record) > 1:
            return f"\n{real.relative_to(self.base).as_posix()}," in self._record
        # Legacy metadata (installed-files.txt, SOURCES.txt): importlib.metadata resolves it.
        return any(
            file.name == real.name and Path(os.path.realpath(self.dist.locate_file(file))) == real
            for file in self.dist.files or ()
        )
