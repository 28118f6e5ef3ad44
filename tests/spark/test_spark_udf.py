"""saveur.spark.spark_udf on a real local[2] Spark session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from spark_data import COLUMNS

import saveur.pyfunc
from saveur.signature import ModelSignature
from saveur.spark import SparkUDFError, spark_udf
from saveur.types import ColSpec, ParamSchema, ParamSpec, Schema

HERE = Path(__file__).resolve().parent


def _frame(spark, x: pd.DataFrame, partitions: int = 2):
    return spark.createDataFrame(x).repartition(partitions)


def _collect(df, *columns):
    return df.orderBy("row_id").select(*columns).toPandas()


def test_columns_by_name_in_any_order(spark, logreg):
    path, model, x = logreg
    data = x.iloc[:, ::-1].assign(row_id=np.arange(len(x)))  # columns reversed
    udf = spark_udf(spark, str(path))
    df = _frame(spark, data).withColumn("prediction", udf(*reversed(COLUMNS)))
    out = _collect(df, "prediction")
    assert out["prediction"].tolist() == model.predict(x).tolist()
    assert df.schema["prediction"].dataType.simpleString() == "bigint"  # the signature's long


def test_a_struct_and_no_arguments(spark, logreg):
    from pyspark.sql.functions import struct

    path, model, x = logreg
    udf = spark_udf(spark, str(path), result_type="double")
    df = _frame(spark, x.assign(row_id=np.arange(len(x))))
    df = df.withColumn("by_struct", udf(struct(*COLUMNS))).withColumn("default", udf())
    out = _collect(df, "by_struct", "default")
    expected = model.predict(x).astype(float).tolist()
    assert out["by_struct"].tolist() == expected
    assert out["default"].tolist() == expected


def _two_output_model(tmp_path: Path, load_log: Path | None = None) -> Path:
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "x")]),
        outputs=Schema([ColSpec("double", "double"), ColSpec("long", "positive")]),
        params=ParamSchema([ParamSpec("scale", "double", 2.0)]),
    )
    path = tmp_path / "two_outputs"
    saveur.pyfunc.save_model(path, python_model=str(HERE / "model_code_multi.py"),
                             signature=signature,
                             model_config={"load_log": str(load_log) if load_log else ""})
    return path


def test_multi_output_model_gives_a_struct_and_params_reach_it(spark, tmp_path):
    path = _two_output_model(tmp_path)
    udf = spark_udf(spark, str(path), trust_code=True, params={"scale": 3.0})
    data = pd.DataFrame({"x": [-1.0, 0.5, 2.0], "row_id": [0, 1, 2]})
    df = spark.createDataFrame(data).withColumn("out", udf("x"))
    assert df.schema["out"].dataType.simpleString() == "struct<double:double,positive:bigint>"
    out = _collect(df, "out.double", "out.positive")
    assert out["double"].tolist() == [-3.0, 1.5, 6.0]
    assert out["positive"].tolist() == [0, 1, 1]


def test_the_model_is_loaded_once_per_python_worker(spark, tmp_path):
    log = tmp_path / "loads.txt"
    path = _two_output_model(tmp_path, load_log=log)
    log.unlink(missing_ok=True)  # saving does not load; start from nothing anyway
    udf = spark_udf(spark, str(path), trust_code=True)
    # 20 Arrow batches of 1,000 rows over 2 partitions
    df = spark.range(20_000).selectExpr("cast(id as double) as x").repartition(2)
    assert df.withColumn("out", udf("x")).select("out.double").toPandas().shape == (20_000, 1)
    pids = log.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids)


def test_array_result_type(spark, logreg, tmp_path):
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    _, _, x = logreg
    y = (x["f0"] > 0.5).astype("int64")
    model = LogisticRegression().fit(x, y)
    path = tmp_path / "proba"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x),
                              pyfunc_predict_fn="predict_proba")
    udf = spark_udf(spark, str(path), result_type="array<double>")
    df = _frame(spark, x.assign(row_id=np.arange(len(x)))).withColumn("p", udf(*COLUMNS))
    got = np.stack(_collect(df, "p")["p"].to_numpy())
    np.testing.assert_allclose(got, model.predict_proba(x))


def test_the_signature_is_enforced_on_the_executors(spark, logreg):
    path, _, x = logreg
    data = x.head(5).astype({"f3": str}).assign(f3="not a number")
    udf = spark_udf(spark, str(path))
    df = spark.createDataFrame(data).withColumn("prediction", udf(*COLUMNS))
    with pytest.raises(Exception, match="column 'f3' expects double"):
        df.collect()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"env_manager": "uv"}, "env_manager='uv' is not supported"),
    ({"result_type": "no such type<"}, "result_type 'no such type<' is not a Spark type"),
    ({"result_type": 3}, "result_type must be a Spark DataType"),
])
def test_bad_arguments_are_refused_on_the_driver(spark, logreg, kwargs, message):
    path, _, _ = logreg
    with pytest.raises(SparkUDFError, match=message):
        spark_udf(spark, str(path), **kwargs)


def test_no_arguments_needs_named_inputs(spark, logreg, tmp_path):
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    _, _, x = logreg
    array = x.to_numpy()
    model = LogisticRegression().fit(array, (x["f0"] > 0.5).astype("int64").to_numpy())
    path = tmp_path / "tensor"
    saveur_sklearn.save_model(model, path, signature=infer_signature(array))
    udf = spark_udf(spark, str(path))
    with pytest.raises(SparkUDFError, match="names no input columns"):
        udf()


def test_a_missing_model_fails_on_the_driver(spark, tmp_path):
    from saveur.errors import SaveurError

    with pytest.raises(SaveurError, match="nope"):
        spark_udf(spark, str(tmp_path / "nope"))
