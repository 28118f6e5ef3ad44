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
  subclass, and importing runs the module's top-level code. That code is installed in the
  environment (the same code any ``import`` of the package runs), so it needs no trust; the
  standard library, ``__main__`` modules (command-line entry points that act at import) and
  anything that fails or exits at import are refused.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from saveur.errors import IntegrityError, TrustError, UnsafePathError

TRUST_ENV_VAR = "SAVEUR_TRUST_CODE"
_CHUNK = 1 << 20


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
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def iter_model_files(model_dir: Path) -> list[str]:
    """List every regular file under ``model_dir`` (POSIX relative paths), MLmodel excluded.

    A symlink inside a model is refused: saved models never contain links, and a link is the
    classic way to make a loader read outside the model.
    """
    files: list[str] = []
    root = Path(model_dir)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full.is_symlink():
                rel = full.relative_to(root).as_posix()
                raise UnsafePathError(f"model file {rel!r} is a symbolic link; links are refused")
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if rel != "MLmodel":
                files.append(rel)
    files.sort()
    return files


def refuse_special_files(model_dir: Path) -> None:
    """Refuse FIFOs, sockets and device files in a model (also behind a link).

    Reading a FIFO blocks forever and a device can be endless (``/dev/zero``): a model that
    carries one would hang whatever opens it, digests or not.
    """
    import stat

    root = Path(model_dir)
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            try:
                mode = full.stat().st_mode
            except OSError:
                continue  # a dangling link: whoever opens it gets a clear "missing" error
            if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                rel = full.relative_to(root).as_posix()
                raise UnsafePathError(
                    f"model file {rel!r} is not a regular file (a FIFO, socket or device); "
                    "refused"
                )


def compute_digests(model_dir: Path) -> dict[str, str]:
    """Return ``{relative_path: sha256}`` for every file of a model except MLmodel."""
    return {rel: sha256_file(Path(model_dir) / rel) for rel in iter_model_files(model_dir)}


def verify_digests(model_dir: Path, digests: dict[str, str]) -> None:
    """Check every recorded digest; raise :class:`IntegrityError` naming the first bad file."""
    for rel, expected in digests.items():
        path = contained_path(model_dir, rel, "digest entry")
        if not path.is_file():
            raise IntegrityError(
                f"model file {rel!r} is recorded in MLmodel but missing from {str(model_dir)!r}"
            )
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(
                f"model file {rel!r} does not match its recorded SHA-256 "
                f"(expected {expected[:12]}…, got {actual[:12]}…); the model was modified after "
                "saving. If the edit was deliberate, run `saveur models reseal`"
            )
