"""spark_udf on ``models:/name@alias`` with the artifacts on S3 (moto) and a SQLite registry."""

from __future__ import annotations

import numpy as np
from spark_data import COLUMNS, training_data

import saveur
import saveur.store as st
from saveur.spark import spark_udf
from saveur.store import _db


def test_spark_udf_on_a_registered_alias_whose_artifacts_are_on_s3(spark, s3_endpoint,
                                                                    tmp_path, monkeypatch):
    from s3_helpers import bucket_keys, s3_artifact_root
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn

    x, y = training_data(300)
    model = LogisticRegression().fit(x, y)
    with s3_artifact_root(s3_endpoint, monkeypatch) as root:
        _db.close_stores()
        st.set_store_uri(f"sqlite:///{tmp_path / 'registry.db'}")
        try:
            with saveur.start_run() as run:
                info = saveur_sklearn.log_model(model, "model", input_example=x.head(2),
                                                registered_model_name="spark_s3")
            saveur.set_model_alias("spark_s3", "prod", info.registered_model_version)
            assert f"artifacts/runs/{run.info.run_id}/model/MLmodel" in \
                bucket_keys(s3_endpoint, root)
            udf = spark_udf(spark, "models:/spark_s3@prod")
        finally:
            st.set_store_uri(None)
            _db.close_stores()
    df = spark.createDataFrame(x.assign(row_id=np.arange(len(x)))).repartition(2)
    out = df.withColumn("p", udf(*COLUMNS)).orderBy("row_id").select("p").toPandas()
    assert out["p"].tolist() == model.predict(x).tolist()
