from __future__ import annotations

import os
import stat

import pytest

from saveur.errors import IntegrityError, TrustError, UnsafePathError
from saveur.security import (
    compute_digests,
    contained_path,
    private_tempdir,
    require_trust,
    trust_from_env,
    verify_digests,
)


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("../x", "contains '..'"),
        ("a/../../x", "contains '..'"),
        ("/etc/passwd", "is absolute"),
        ("C:/x", "is absolute"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL byte"),
        ("", "non-empty relative path"),
    ],
)
def test_contained_path_refuses_escapes(tmp_path, relative, message):
    with pytest.raises(UnsafePathError, match=message):
        contained_path(tmp_path, relative)


def test_contained_path_refuses_symlink_escaping(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "model"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafePathError, match="resolves outside"):
        contained_path(root, "link/file")


def test_contained_path_accepts_inside(tmp_path):
    assert contained_path(tmp_path, "a/b.txt") == (tmp_path / "a" / "b.txt").resolve()


def test_private_tempdir_is_0700(tmp_path):
    path = private_tempdir(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_trust_comes_from_caller_then_env(monkeypatch):
    monkeypatch.delenv("SAVEUR_TRUST_CODE", raising=False)
    assert trust_from_env(None) is False
    monkeypatch.setenv("SAVEUR_TRUST_CODE", "1")
    assert trust_from_env(None) is True
    assert trust_from_env(False) is False


def test_require_trust_message_says_how_to_allow():
    with pytest.raises(TrustError, match="the pickle 'x.pkl' would run code.*trust_code=True"):
        require_trust(False, "the pickle 'x.pkl'")


def test_digest_mismatch_and_missing_file_name_the_file(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"one")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("two")
    digests = compute_digests(tmp_path)
    assert set(digests) == {"a.bin", "sub/b.txt"}
    verify_digests(tmp_path, digests)
    (tmp_path / "sub" / "b.txt").write_text("changed")
    with pytest.raises(IntegrityError, match="'sub/b.txt' does not match its recorded BLAKE3 digest"):
        verify_digests(tmp_path, digests)
    (tmp_path / "sub" / "b.txt").unlink()
    with pytest.raises(IntegrityError, match="'sub/b.txt' is recorded in MLmodel but missing"):
        verify_digests(tmp_path, digests)


def test_symlink_inside_a_model_is_refused(tmp_path):
    (tmp_path / "real").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "link")
    with pytest.raises(UnsafePathError, match="'link' is a symbolic link"):
        compute_digests(tmp_path)


def test_new_digests_are_blake3_and_old_sha256_ones_still_verify(tmp_path):
    import hashlib

    from blake3 import blake3

    from saveur.security import BLAKE3_PREFIX, digest_matches, file_digest

    data = b"weights" * 100_000  # several read chunks
    (tmp_path / "w.bin").write_bytes(data)
    recorded = file_digest(tmp_path / "w.bin")
    assert recorded == BLAKE3_PREFIX + blake3(data).hexdigest()
    sha = hashlib.sha256(data).hexdigest()  # what saveur wrote before BLAKE3 (and MLflow never)
    assert digest_matches(tmp_path / "w.bin", recorded)
    assert digest_matches(tmp_path / "w.bin", sha)
    verify_digests(tmp_path, {"w.bin": sha})
    (tmp_path / "w.bin").write_bytes(data[:-1] + b"X")
    assert not digest_matches(tmp_path / "w.bin", recorded)
    with pytest.raises(IntegrityError, match="'w.bin' does not match its recorded SHA-256 digest"):
        verify_digests(tmp_path, {"w.bin": sha})
    with pytest.raises(IntegrityError, match="'w.bin' does not match its recorded BLAKE3 digest"):
        verify_digests(tmp_path, {"w.bin": recorded})


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (3 << 20) + 7])
def test_blake3_of_a_file_is_the_same_mapped_or_read_in_chunks(tmp_path, monkeypatch, size):
    import mmap

    from blake3 import blake3

    import saveur.security as security

    data = os.urandom(size)
    (tmp_path / "w.bin").write_bytes(data)
    expected = security.BLAKE3_PREFIX + blake3(data).hexdigest()
    mapped = []
    real_mmap = mmap.mmap

    def counting_mmap(*args, **kwargs):
        mapped.append(args)
        return real_mmap(*args, **kwargs)

    monkeypatch.setattr(security.mmap, "mmap", counting_mmap)
    assert security.file_digest(tmp_path / "w.bin") == expected
    assert bool(mapped) == (size >= security._MAP_MIN)  # large files go through the map

    def no_mmap(*args, **kwargs):
        raise OSError("this filesystem cannot map files")

    monkeypatch.setattr(security.mmap, "mmap", no_mmap)  # falls back to chunked reads
    assert security.file_digest(tmp_path / "w.bin") == expected
    assert security.digest_matches(tmp_path / "w.bin", expected)


@pytest.mark.parametrize(
    "value",
    [
        "blake3:" + "0" * 63,
        "md5:" + "0" * 32,
        "BLAKE3:" + "0" * 64,
        "A" * 64,  # hex must be lowercase, as written
        "0" * 65,
        "",
        "blake3:" + "g" * 64,
    ],
)
def test_a_recorded_value_that_is_no_digest_is_an_integrity_error(tmp_path, value):
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(IntegrityError, match="model file 'f': digest .* is neither 64 lowercase"):
        verify_digests(tmp_path, {"f": value})


def test_a_blake3_digest_without_blake3_installed_says_what_to_install(tmp_path, monkeypatch):
    import saveur.security as security
    from saveur.errors import MissingDependencyError

    (tmp_path / "f").write_bytes(b"x")
    recorded = security.file_digest(tmp_path / "f")
    monkeypatch.setattr(security, "_blake3", lambda: None)
    with pytest.raises(MissingDependencyError, match="pip install blake3"):
        verify_digests(tmp_path, {"f": recorded})
    # and saving without it records SHA-256, which verifies
    fallback = security.compute_digests(tmp_path)
    assert len(fallback["f"]) == 64 and ":" not in fallback["f"]
    verify_digests(tmp_path, fallback)
