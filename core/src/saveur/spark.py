"""Distributed scoring on Apache Spark: :func:`spark_udf` turns a model into a pandas UDF.

The model directory is zipped once on the driver and broadcast to the executors; each
Python worker unpacks and loads it once (the UDF is of the iterator kind), then scores every
Arrow batch of its partitions with the signature enforced, as ``PyFuncModel.predict`` does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from saveur.errors import SaveurError

__all__ = ["SparkUDFError", "spark_udf"]


class SparkUDFError(SaveurError):
    """A Spark UDF cannot be built, or its input or output does not fit."""

    __module__ = "saveur.spark"


#: loaded models of this Python worker, by the digest of the broadcast model: Spark reuses
#: its Python workers, so each loads a model once, not once per batch or partition.
_WORKER_MODELS: dict[str, Any] = {}

_SCALAR_SPARK_TYPES = {
    "double": "DoubleType", "float": "FloatType", "long": "LongType", "integer": "IntegerType",
    "boolean": "BooleanType", "string": "StringType", "binary": "BinaryType",
    "datetime": "TimestampType",
}


def spark_udf(
    spark: Any,
    model_uri: str | os.PathLike[str],
    *,
    result_type: Any = None,
    env_manager: str = "local",
    trust_code: bool | None = None,
    params: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """Return a Spark pandas UDF that scores rows with the model at ``model_uri``.

    Call it with column names or columns (``udf("a", "b")``, matched to the signature by
    name), one struct column (``udf(struct(...))``), or nothing (the signature's input
    columns). ``result_type`` is a Spark ``DataType`` or DDL string (``"double"``,
    ``"array<float>"``, ``"struct<a: double, b: long>"``); by default it comes from the
    signature's outputs (a struct for several columns), else ``double``. The model is
    shipped to the executors once and loaded once per Python worker; ``trust_code`` is
    needed for models that carry code, as for :func:`saveur.pyfunc.load_model`. Only
    ``env_manager="local"`` is supported: executors use their own Python environment.
    """
    if env_manager != "local":
        raise SparkUDFError(
            f"env_manager={env_manager!r} is not supported by spark_udf: executors score in "
            "their own Python environment (env_manager='local'); install the model's "
            "requirements on the cluster"
        )
    from pyspark.sql.functions import pandas_udf

    from saveur.loading import open_model
    from saveur.security import trust_from_env

    trust = trust_from_env(trust_code)
    opened = open_model(model_uri)  # registry and digest checks happen here, on the driver
    signature = opened.mlmodel.signature
    spark_type = _result_type(spark, result_type, signature)
    payload, digest = _zip_model(opened.path)
    try:
        broadcast = spark.sparkContext.broadcast(payload)
    except Exception as exc:  # Spark Connect sessions have no SparkContext
        raise SparkUDFError(
            f"cannot broadcast the model to the executors ({type(exc).__name__}: {exc}); "
            "spark_udf needs a classic Spark session, not Spark Connect"
        ) from None
    names = _input_names(signature)
    checked_params = params

    def predict(iterator: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        model = _worker_model(broadcast, digest, trust)
        for batch in iterator:
            frame = _batch_frame(batch, names, model.signature)
            predictions = model.predict(frame, params=checked_params)
            yield _spark_output(predictions, spark_type, len(frame))

    # pyspark reads the UDF's kind from real type hints (typing's Union and Tuple, not
    # PEP 604 strings): an iterator of argument tuples, each a Series or a struct's frame.
    import typing

    import pandas as pd
    from pyspark.sql import types as T

    out_hint = pd.DataFrame if isinstance(spark_type, T.StructType) else pd.Series
    predict.__annotations__ = {
        "iterator": typing.Iterator[typing.Tuple[typing.Union[pd.Series, pd.DataFrame], ...]],  # noqa: UP006, UP007
        "return": typing.Iterator[out_hint],  # type: ignore[valid-type]
    }
    udf = pandas_udf(predict, returnType=spark_type)  # type: ignore[call-overload]

    def call(*columns: Any) -> Any:
        from pyspark.sql import Column
        from pyspark.sql.functions import col, struct

        if not columns:
            if not names:
                raise SparkUDFError(
                    "the model's signature names no input columns: pass the columns to the "
                    "UDF, such as udf('a', 'b') or udf(struct(...))"
                )
            columns = tuple(col(n) for n in names)
        elif len(columns) == 1 and isinstance(columns[0], Column):
            return udf(columns[0])  # a struct, or one column matched by position
        # Several columns travel as one struct, so their names reach the model with them.
        return udf(struct(*columns))

    call.udf = udf  # type: ignore[attr-defined]
    call.returnType = spark_type  # type: ignore[attr-defined]
    call.__name__ = "saveur_predict"
    call.__doc__ = f"Scores rows with the model {os.fspath(model_uri)}."
    return call


# ---- driver side --------------------------------------------------------------------------
def _input_names(signature: Any) -> list[str]:
    inputs = getattr(signature, "inputs", None)
    if inputs is None or inputs.is_tensor_spec() or not inputs.has_input_names():
        return []
    return [spec.name for spec in inputs.inputs if spec.required]


def _result_type(spark: Any, result_type: Any, signature: Any) -> Any:
    from pyspark.sql import types as T

    if isinstance(result_type, T.DataType):
        return result_type
    if isinstance(result_type, str):
        try:
            return T.DataType.fromDDL(result_type)
        except Exception as exc:
            raise SparkUDFError(
                f"result_type {result_type!r} is not a Spark type (a DDL string such as "
                f"'double' or 'struct<a: double>'): {' '.join(str(exc).split())[:200]}"
            ) from None
    if result_type is not None:
        raise SparkUDFError(
            f"result_type must be a Spark DataType or a DDL string, got "
            f"{type(result_type).__name__}"
        )
    outputs = getattr(signature, "outputs", None)
    if outputs is None:
        return T.DoubleType()
    from saveur.types import DataType

    if outputs.is_tensor_spec():
        spec = outputs.inputs[0]
        element = _spark_scalar(T, str(spec.type))
        shape = tuple(spec.shape)
        return element if len(shape) <= 1 else T.ArrayType(element)
    fields = []
    for i, spec in enumerate(outputs.inputs):
        if not isinstance(spec.type, DataType):
            return T.DoubleType() if len(outputs.inputs) == 1 else T.StringType()
        fields.append(T.StructField(str(spec.name if spec.name is not None else i),
                                    getattr(T, _SCALAR_SPARK_TYPES[spec.type.name])()))
    return fields[0].dataType if len(fields) == 1 else T.StructType(fields)


def _spark_scalar(T: Any, numpy_name: str) -> Any:
    by_numpy = {"float64": "DoubleType", "float32": "FloatType", "int64": "LongType",
                "int32": "IntegerType", "bool": "BooleanType"}
    return getattr(T, by_numpy.get(numpy_name, "DoubleType"))()


def _zip_model(model_dir: Any) -> tuple[bytes, str]:
    """The model directory as zip bytes and their SHA-256.

    The files are the ones the digests cover (links refused, as on load), plus MLmodel.
    """
    import hashlib
    import io
    import zipfile
    from pathlib import Path

    from saveur.security import iter_model_files

    root = Path(model_dir)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for relative in ["MLmodel", *iter_model_files(root)]:
            zf.write(root / relative, relative)
    payload = buffer.getvalue()
    return payload, hashlib.sha256(payload).hexdigest()


# ---- executor side ------------------------------------------------------------------------
def _worker_model(broadcast: Any, digest: str, trust: bool) -> Any:
    """The model of this broadcast, unpacked and loaded once per Python worker."""
    model = _WORKER_MODELS.get(digest)
    if model is not None:
        return model
    import io
    import zipfile

    from saveur.pyfunc import load_model
    from saveur.security import check_relative, private_tempdir

    target = private_tempdir(prefix="saveur-spark-")
    with zipfile.ZipFile(io.BytesIO(broadcast.value)) as zf:
        for info in zf.infolist():
            # Written by _zip_model, but still contained: no name may leave the folder.
            check_relative(info.filename, "shipped model file")
        zf.extractall(target)
    # Digests are checked again here: what the executor loads is what the driver checked.
    model = load_model(target, trust_code=trust)
    _WORKER_MODELS[digest] = model
    return model


def _batch_frame(batch: Any, names: list[str], signature: Any) -> Any:
    """The UDF's arguments as the model's input: a struct's fields by name, or one column."""
    import numpy as np
    import pandas as pd

    if not isinstance(batch, tuple):
        batch = (batch,)
    if len(batch) == 1 and isinstance(batch[0], pd.DataFrame):
        return batch[0]
    inputs = getattr(signature, "inputs", None)
    if len(batch) == 1:
        series = batch[0]
        if inputs is not None and inputs.is_tensor_spec():
            values = series.to_numpy()
            if len(values) and isinstance(values[0], (np.ndarray, list)):
                return np.stack([np.asarray(v) for v in values])
            return values
        name = names[0] if len(names) == 1 else (
            inputs.inputs[0].name if inputs is not None and inputs.has_input_names() else 0)
        return pd.DataFrame({name: series.reset_index(drop=True)})
    return pd.DataFrame({i: s.reset_index(drop=True) for i, s in enumerate(batch)})


def _spark_output(predictions: Any, spark_type: Any, n: int) -> Any:
    """Predictions as the Series (or DataFrame, for a struct) of the declared Spark type."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import types as T

    if isinstance(spark_type, T.StructType):
        frame = _as_frame(predictions)
        names = [f.name for f in spark_type.fields]
        if all(name in frame.columns for name in names):
            frame = frame[names]
        elif frame.shape[1] == len(names):
            frame = frame.set_axis(names, axis=1)
        else:
            raise SparkUDFError(
                f"the model returned columns {list(map(str, frame.columns))[:10]}, the result "
                f"type wants {names}"
            )
        out = pd.DataFrame({f.name: _cast(frame[f.name].to_numpy(), f.dataType)
                            for f in spark_type.fields})
    elif isinstance(spark_type, T.ArrayType):
        if isinstance(predictions, pd.DataFrame):
            predictions = predictions.to_numpy()
        arr = np.asarray(predictions) if not isinstance(predictions, pd.Series) else \
            predictions.to_numpy()
        out = pd.Series(list(arr) if arr.ndim > 1 else [np.asarray(v) for v in arr])
    else:
        if isinstance(predictions, pd.DataFrame):
            if predictions.shape[1] != 1:
                raise SparkUDFError(
                    f"the model returned {predictions.shape[1]} columns for a {spark_type} "
                    "result: pass a struct result_type naming them"
                )
            predictions = predictions.iloc[:, 0]
        arr = predictions.to_numpy() if isinstance(predictions, pd.Series) else \
            np.asarray(predictions)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise SparkUDFError(
                f"the model returned an array of shape {arr.shape} for a {spark_type} result: "
                "pass result_type='array<double>' (or a struct)"
            )
        out = pd.Series(_cast(arr, spark_type))
    if len(out) != n:
        raise SparkUDFError(f"the model returned {len(out)} predictions for {n} rows")
    return out


def _as_frame(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        return predictions.reset_index(drop=True)
    if isinstance(predictions, pd.Series):
        return predictions.reset_index(drop=True).to_frame()
    if isinstance(predictions, dict):
        return pd.DataFrame({k: list(np.asarray(v)) if np.asarray(v).ndim > 1 else v
                             for k, v in predictions.items()})
    arr = np.asarray(predictions)
    return pd.DataFrame(arr if arr.ndim == 2 else arr.reshape(len(arr), -1))


def _cast(values: Any, spark_type: Any) -> Any:
    """Numbers in the numpy type Arrow expects for the Spark type; other values as they are."""
    from pyspark.sql import types as T

    numeric = {T.DoubleType: "float64", T.FloatType: "float32", T.LongType: "int64",
               T.IntegerType: "int32", T.ShortType: "int16", T.ByteType: "int8",
               T.BooleanType: "bool"}
    dtype = numeric.get(type(spark_type))
    if dtype is None:
        if isinstance(spark_type, T.StringType):
            return [None if v is None else str(v) for v in values]
        return values
    try:
        return values.astype(dtype, copy=False)
    except (TypeError, ValueError) as exc:
        raise SparkUDFError(
            f"the model's predictions cannot be a Spark {spark_type.simpleString()}: "
            f"{' '.join(str(exc).split())[:200]}"
        ) from None
