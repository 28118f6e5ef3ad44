"""The store with its artifacts on S3 (moto's server on 127.0.0.1), SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import saveur
import saveur.pyfunc
import saveur.store as st
from saveur.store import _db

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/s3_helpers.py
from s3_helpers import bucket_keys, s3_artifact_root, s3_server

pytest.importorskip("saveur_sklearn")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["sqlite", "postgres"])
def s3_store(request, tmp_path, monkeypatch, s3_endpoint) -> Iterator[tuple[str, str]]:
    """A fresh registry whose artifact root is a new bucket, set by SAVEUR_ARTIFACT_ROOT."""
    with s3_artifact_root(s3_endpoint, monkeypatch) as root:
        if request.param == "sqlite":
            uri = f"sqlite:///{tmp_path / 'meta.db'}"
        else:
            uri = request.getfixturevalue("postgres_url")
        _db.close_stores()
        st.set_store_uri(uri)  # the artifact root comes from the environment
        try:
            yield uri, root
        finally:
            while st.active_run() is not None:
                st.end_run()
            st.set_store_uri(None)
            _db.close_stores()


def test_log_register_and_load_models_uri_from_s3(s3_store, s3_endpoint, tmp_path):
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn

    _, root = s3_store
    x = pd.DataFrame(np.random.RandomState(0).rand(50, 3), columns=["a", "b", "c"])
    model = LogisticRegression().fit(x, (x["a"] > 0.5).astype("int64"))
    with saveur.start_run() as run:
        info = saveur_sklearn.log_model(model, "model", input_example=x.head(2),
                                        registered_model_name="s3model")
    saveur.set_model_alias("s3model", "champion", info.registered_model_version)
    keys = bucket_keys(s3_endpoint, root)
    assert f"artifacts/runs/{run.info.run_id}/model/MLmodel" in keys
    assert not (tmp_path / "artifacts").exists()  # nothing went to a local folder
    loaded = saveur.pyfunc.load_model("models:/s3model@champion")
    assert loaded.predict(x).tolist() == model.predict(x).tolist()

    # batch scoring reads the same registered model from S3
    from saveur.batch import predict_file

    x.to_parquet(tmp_path / "in.parquet")
    predict_file("models:/s3model@champion", tmp_path / "in.parquet", tmp_path / "out.csv")
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == \
        model.predict(x).tolist()
