"""Spark fixtures: one local[2] session for the whole run; scikit-learn models; local S3."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/s3_helpers.py

from spark_data import COLUMNS, training_data  # noqa: F401  (fixtures use them)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("SAVEUR_REQUIRE_SPARK") == "1":
        pytest.fail(f"the Spark tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """A local[2] SparkSession on 127.0.0.1, stopped at the end of the session."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _unavailable("pyspark is not installed (pip install 'saveur[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("no Java runtime (apt-get install -y openjdk-17-jre-headless)")
    # tox sets it; a direct pytest run gets the workers on this same interpreter too
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("saveur-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def logreg(tmp_path_factory):
    """A LogisticRegression saved with a 10-column signature: (path, estimator, X)."""
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    x, y = training_data()
    model = LogisticRegression().fit(x, y)
    path = tmp_path_factory.mktemp("models") / "logreg"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)))
    return path, model, x


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from s3_helpers import s3_server

    with s3_server() as endpoint:
        yield endpoint
