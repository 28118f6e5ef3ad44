"""Handing a fitted estimator an ndarray instead of a DataFrame, where that changes nothing.

scikit-learn's validation of a 1-row DataFrame (dtype survey, feature-name check, conversion)
costs about four times the prediction itself on a linear model. When the frame's columns are
exactly the estimator's ``feature_names_in_``, in that order, with one numpy numeric dtype,
``frame.to_numpy()`` is the array scikit-learn would have built from the frame, so the
estimator gets that array and the answer is the same.

Whether an estimator may take the array is decided once, at load, by walking every estimator
object it holds (pipeline steps, fitted sub-estimators, private preprocessors): one class that
reads a DataFrame for more than its values (a ``ColumnTransformer`` selecting columns by name,
a ``FunctionTransformer`` whose function may use the frame, pandas output by ``set_output``)
or a class from outside scikit-learn (whose handling of frames we cannot know) keeps the
whole model on the DataFrame path.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

#: Classes whose results on a DataFrame may differ from their results on its values.
#: ColumnTransformer selects by column name (and refuses names on an ndarray);
#: FunctionTransformer calls a user function that may read the frame. A
#: HistGradientBoosting model fitted on categorical dtypes holds a ColumnTransformer of its
#: own, which the walk finds.
_FRAME_READERS = frozenset({"ColumnTransformer", "FunctionTransformer"})

#: Methods whose answer is an array whatever the input; ``transform`` is left out, since
#: with pandas output configured its answer carries the input's index.
_ARRAY_METHODS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba",
     "decision_function"}
)

#: dtype kinds whose values an ndarray holds exactly as the frame did (floats and integers;
#: booleans and objects go through scikit-learn's own conversions)
_EXACT_KINDS = frozenset("fiu")

#: scikit-learn's warning for an ndarray given to a model fitted on a frame: the fast path
#: gives the ndarray on purpose, with the very columns the names describe
_NO_NAMES_WARNING = "X does not have valid feature names"

#: how deep the walk follows estimators inside estimators (a stacked ensemble of pipelines
#: is about 4); deeper models keep the DataFrame path
_MAX_DEPTH = 12


def array_columns(model: Any, method_name: str) -> list[str] | None:
    """The column names an ndarray of ``model`` must follow, or ``None`` if it may not take one."""
    if method_name not in _ARRAY_METHODS:
        return None
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    try:
        columns = [str(n) for n in names]
    except TypeError:
        return None
    if not columns or len(set(columns)) != len(columns):
        return None
    if not _values_only(model, 0, set()):
        return None
    return columns


def _values_only(obj: Any, depth: int, seen: set[int]) -> bool:
    """Whether ``obj`` and every estimator inside it read a DataFrame only for its values."""
    if id(obj) in seen:
        return True
    seen.add(id(obj))
    if depth > _MAX_DEPTH:
        return False
    if _is_estimator(obj):
        cls = type(obj)
        module = cls.__module__ or ""
        if not (module == "sklearn" or module.startswith("sklearn.")):
            return False
        if cls.__name__ in _FRAME_READERS:
            return False
        output = getattr(obj, "_sklearn_output_config", None) or {}
        if output.get("transform", "default") != "default":
            return False
        children: Any = vars(obj).values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif isinstance(obj, dict):
        children = obj.values()
    else:
        return True
    return all(_values_only(child, depth + 1, seen) for child in children
               if _is_estimator(child) or isinstance(child, (list, tuple, dict)))


def _is_estimator(obj: Any) -> bool:
    return hasattr(obj, "get_params") and hasattr(type(obj), "fit")


def array_predict(method: Callable[[Any], Any], columns: list[str]) -> Callable[[Any], Any]:
    """``method`` taking a frame whose columns are ``columns`` with one numeric dtype as an
    ndarray, and anything else as it is."""
    import numpy as np
    import pandas as pd
    from sklearn import get_config

    frame_type = pd.DataFrame
    ndarray = np.ndarray
    n = len(columns)
    # The last columns Index seen to match: an Index is immutable, so the server's shared
    # Index (one per column list) is recognised by identity; a reference keeps its id unique.
    matched: list[Any] = [None]

    def call(model_input: Any) -> Any:
        if type(model_input) is not frame_type:
            return method(model_input)
        cols = model_input.columns
        if cols is not matched[0]:
            if len(cols) != n or cols.tolist() != columns:
                return method(model_input)
            matched[0] = cols
        dtypes = set(_dtypes(model_input))
        if len(dtypes) != 1:
            return method(model_input)
        (dtype,) = dtypes
        if not isinstance(dtype, np.dtype) or dtype.kind not in _EXACT_KINDS:
            return method(model_input)
        if _pandas_output(get_config):
            return method(model_input)  # a pipeline's steps would answer frames
        values = model_input.to_numpy()
        if type(values) is not ndarray:
            return method(model_input)
        return _on_values(method, values)

    return call


def values_predict(method: Callable[[Any], Any], columns: list[str]) -> Callable[[Any], Any]:
    """``method`` taking the values of a frame whose columns are ``columns`` (a 2-D float
    ndarray, one column per name, in order) with the answer it gives on that frame.

    What :func:`array_predict` does once it has the frame's values, for a host that never
    built the frame (:class:`saveur.hookspecs.ArrayInput`).
    """
    import numpy as np
    from sklearn import get_config

    ndarray = np.ndarray
    n = len(columns)

    def call(values: Any) -> Any:
        if type(values) is not ndarray or values.ndim != 2 or values.shape[1] != n:
            raise TypeError(
                f"expected a 2-D ndarray with {n} columns ({', '.join(columns[:3])}...), got "
                f"{type(values).__name__} of shape {getattr(values, 'shape', None)}"
            )
        if values.dtype.kind not in _EXACT_KINDS or _pandas_output(get_config):
            # what array_predict hands over in these cases: the frame itself
            import pandas as pd

            return method(pd.DataFrame(values, columns=columns, copy=False))
        return _on_values(method, values)

    return call


def _pandas_output(get_config: Callable[[], dict]) -> bool:
    """Whether scikit-learn is set to answer frames from transforms (a pipeline's steps would
    then need the frame's names)."""
    return get_config().get("transform_output", "default") != "default"


def _on_values(method: Callable[[Any], Any], values: Any) -> Any:
    """``method(values)``, without scikit-learn's warning that the array has no feature names:
    the array is given on purpose, its columns in the fitted order."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_NO_NAMES_WARNING, category=UserWarning)
        return method(values)


def _dtypes(frame: Any) -> Any:
    """The column dtypes of ``frame``, without building the Series ``frame.dtypes`` is."""
    # As saveur.enforce does: the block manager's list has this name from pandas 1.x to 3.x.
    try:
        return frame._mgr.get_dtypes()
    except AttributeError:  # a future pandas
        return frame.dtypes.tolist()
