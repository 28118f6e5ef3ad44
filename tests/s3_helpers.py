"""A local S3 server for tests: moto's server mode on 127.0.0.1 and a free port.

Used by the store's S3 tests and the Spark tests (``s3_artifact_root`` fixture in their
conftest files), so the artifact root of a registry really is ``s3://`` through s3fs.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def s3_server() -> Iterator[str]:
    """Start moto's S3 server; yield its endpoint URL; stop it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        if os.environ.get("SAVEUR_REQUIRE_S3") == "1" or os.environ.get("CI"):
            pytest.fail("moto[server] is not installed, and CI needs the S3 tests")
        pytest.skip("moto[server] is not installed (pip install 'moto[server]' s3fs)")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def s3_artifact_root(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on ``endpoint`` as ``SAVEUR_ARTIFACT_ROOT``; yields the ``s3://`` root."""
    import boto3
    import fsspec.config

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                       "FSSPEC_S3_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(key, value)
    # s3fs reads its options from fsspec's config, filled from the environment at import.
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
    bucket = f"saveur-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket)
    root = f"s3://{bucket}/artifacts"
    monkeypatch.setenv("SAVEUR_ARTIFACT_ROOT", root)
    try:
        yield root
    finally:
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()


def bucket_keys(endpoint: str, root: str) -> list[str]:
    """Every object key under the bucket of ``root``."""
    import boto3

    bucket = root[len("s3://"):].split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]
