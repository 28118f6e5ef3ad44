"""Names, artifact paths and URIs: every shape of MLflow's path-traversal CVEs is refused."""

from __future__ import annotations

import os

import pytest

from saveur.errors import InvalidURIError, UnsafePathError
from saveur.store._validation import (
    contained,
    parse_models_uri,
    parse_runs_uri,
    parse_version,
    validate_alias,
    validate_artifact_path,
    validate_key,
    validate_model_name,
)

RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../etc/passwd", "'..' segment"),  # CVE-2023-1177: plain traversal
        ("model/../../x", "'..' segment"),
        ("/etc/passwd", "is absolute"),  # CVE-2023-1177: absolute source path
        ("C:/Windows", "is absolute"),
        ("~/x", "is absolute"),
        ("..\\..\\x", "backslash"),  # Windows-style traversal
        ("%2e%2e/etc", "percent-encoding"),  # CVE-2024-1560: encoded traversal
        ("%252e%252e/etc", "percent-encoding"),  # doubly encoded
        ("a%2Fb", "percent-encoding"),
        ("model#/../../x", "'#' or '?'"),  # CVE-2023-6909: fragment smuggling
        ("model?x=/etc", "'#' or '?'"),
        ("a//b", "empty segment"),  # CVE-2023-6977: '//' bypass
        ("a/./b", "'.' segment"),
        ("a\x00b", "NUL byte"),
        ("", "is empty"),
    ],
)
def test_unsafe_artifact_paths_are_refused(path: str, message: str) -> None:
    with pytest.raises(UnsafePathError, match=message):
        validate_artifact_path(path)


def test_plain_artifact_paths_are_kept() -> None:
    assert validate_artifact_path("model") == "model"
    assert validate_artifact_path("a/b c/d.txt") == "a/b c/d.txt"
    assert validate_artifact_path("dir/") == "dir"
    assert validate_artifact_path("50%.txt") == "50%.txt"


def test_symlink_escaping_the_root_is_refused(tmp_path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafePathError, match="resolves outside"):
        contained(root, "link/secret")
    assert contained(root, "inside/x") == root.resolve() / "inside" / "x"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"runs:/{RUN}/../../etc", "'..' segment"),
        (f"runs:/{RUN}/%2e%2e/%2e%2e/etc", "percent-encoding"),
        (f"runs:/{RUN}/%252e%252e/etc", "percent-encoding"),
        (f"runs:/{RUN}/model#frag", "'#' or '?'"),
        (f"runs:/{RUN}/model?x=1", "'#' or '?'"),
        (f"runs://{RUN}/model", "'//'"),
        (f"runs:/{RUN}//etc/passwd", "is absolute"),
        (f"runs:/{RUN}/a\\b", "backslash"),
        (f"runs:/{RUN}/a\x00b", "NUL byte"),
        ("runs:/notarunid/model", "run id 'notarunid' is invalid"),
        ("runs:/../model", "run id '..' is invalid"),
    ],
)
def test_unsafe_runs_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(InvalidURIError, match=message):
        parse_runs_uri(uri)


def test_runs_uri_parses() -> None:
    assert parse_runs_uri(f"runs:/{RUN}/model").path == "model"
    assert parse_runs_uri(f"runs:/{RUN}/a/b").path == "a/b"
    assert parse_runs_uri(f"runs:/{RUN}").path is None


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/../1", "may not contain '..'"),
        ("models:/m/1/../../x", "malformed"),
        ("models:/%2e%2e/1", "percent-encoding"),
        ("models:/m%252f/1", "percent-encoding"),
        ("models:/m/1#x", "'#' or '?'"),
        ("models:/m/1?x", "'#' or '?'"),
        ("models://m/1", "'//'"),
        ("models:/m//1", "'//'"),
        ("models:/m", "names no version or alias"),
        ("models:/m/0", "versions start at 1"),
        ("models:/m/one", "expected a positive integer"),
        ("models:/m@latest", "reserved"),
        ("models:/m@", "alias '' is invalid"),
        ("models:/m\x00/1", "NUL byte"),
    ],
)
def test_unsafe_models_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(InvalidURIError, match=message):
        parse_models_uri(uri)


def test_models_uri_forms_parse() -> None:
    assert parse_models_uri("models:/iris/3").version == 3
    assert parse_models_uri("models:/iris@champion").alias == "champion"
    assert parse_models_uri("models:/iris/latest").latest
    assert parse_models_uri("models:/my model.v2/1").name == "my model.v2"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/b", "may not contain '/'"),
        ("a@b", "may not contain '/'"),
        ("a..b", "may not contain '..'"),
        ("a%2fb", "percent-encoding"),
        ("-x", "is invalid"),
        ("", "non-empty"),
        ("x" * 300, "at most 256"),
    ],
)
def test_bad_model_names_are_refused(name: str, message: str) -> None:
    with pytest.raises(InvalidURIError, match=message):
        validate_model_name(name)


@pytest.mark.parametrize("alias", ["latest", "v3", "V12", "1abc", "a b", "a/b"])
def test_bad_aliases_are_refused(alias: str) -> None:
    with pytest.raises(InvalidURIError, match="alias"):
        validate_alias(alias)


def test_bad_keys_and_versions_are_refused() -> None:
    with pytest.raises(InvalidURIError, match="param key 'a#b' is invalid"):
        validate_key("a#b", "param")
    with pytest.raises(InvalidURIError, match="'..' segment"):
        validate_key("a/../b", "tag")
    with pytest.raises(InvalidURIError, match="positive integer"):
        parse_version(True)
    assert parse_version("7") == 7
