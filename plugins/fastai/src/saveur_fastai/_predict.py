"""Exporting, loading and predicting with fastai Learners (imported only when used).

The pyfunc output depends on who wrote the model: models MLflow 2 wrote
(``loader_module: mlflow.fastai``) answer in MLflow 2's shape, one ``predictions`` column
holding each row's probability array, so clients moved from MLflow see no change. Models
saved by saveur answer with named columns (tabular) or a probability tensor (vision), which
match the signature inferred at save.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saveur.errors import PluginError

#: The column holding the predicted class in a tabular classifier's output.
PREDICTION_COLUMN = "prediction"


def export_learner(learn: Any, target: Path) -> None:
    """``Learner.export`` to ``target``, without recording the saving machine's paths."""
    # learn.path is pickled with the Learner; an absolute one would leak the saving machine's
    # layout into the model file, so it is exported as "." and put back afterwards.
    old_path = learn.path
    learn.path = Path(".")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            learn.export(target)
    finally:
        learn.path = old_path


def load_learner(path: Path, device: str | None) -> Any:
    """Unpickle an exported Learner on CPU, then move it to ``device`` if one is asked for."""
    import torch
    from fastai.learner import load_learner as fastai_load_learner

    target = None
    if device is not None:
        try:
            target = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise PluginError(
                f"device {device!r} is not a torch device; use 'cpu', 'cuda' or 'cuda:N'"
            ) from e
    with warnings.catch_warnings():
        # fastai warns that its format is a pickle: saveur already asked the caller for trust.
        warnings.simplefilter("ignore", UserWarning)
        learn = fastai_load_learner(path, cpu=True)
    if target is not None and target.type != "cpu":
        learn.dls.to(target)
        learn.model.to(target)
    return learn


def _mro_names(obj: object) -> set[str]:
    return {f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__}


def is_tabular(learn: Any) -> bool:
    """True for Learners whose data are fastai.tabular DataLoaders (a DataFrame in)."""
    return "fastai.tabular.data.TabularDataLoaders" in _mro_names(learn.dls)


def class_names(learn: Any) -> list[Any] | None:
    """The classifier's vocabulary (class labels in output order), or None for a regressor."""
    try:
        vocab = learn.dls.vocab
    except (AttributeError, IndexError, KeyError):
        return None
    if vocab is None:
        return None
    labels = list(vocab)
    # A multi-target vocabulary (a list of lists) has no single class order.
    if not labels or any(isinstance(v, (list, tuple)) or hasattr(v, "items") for v in labels):
        return None
    return [v.item() if hasattr(v, "item") else v for v in labels]


def _probability_columns(labels: list[Any]) -> list[str]:
    names = [str(v) for v in labels]
    # A class named like the prediction column, or two labels with one spelling (1 and "1"),
    # would make columns collide: then every class column gets a prefix.
    if PREDICTION_COLUMN in names or len(set(names)) != len(names):
        names = [f"probability_{i}_{n}" for i, n in enumerate(names)]
    return names


def _items(tabular: bool, model_input: Any) -> Any:
    import numpy as np
    import pandas as pd

    if tabular:
        return model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
    if isinstance(model_input, np.ndarray):
        # One item per image: fastai's PILImage.create takes an HxWx3 uint8 array.
        return list(model_input)
    return model_input


def make_predict(
    learn: Any, *, mlflow2_output: bool, batch_size: int | None
) -> Callable[[Any, dict[str, Any] | None], Any]:
    """The pyfunc predict function of a loaded Learner, resolved once."""
    import fastai.callback.progress  # noqa: F401  (patches Learner.no_bar)
    import numpy as np
    import pandas as pd

    tabular = is_tabular(learn)
    labels = class_names(learn)
    test_dl_options = {} if batch_size is None else {"bs": batch_size}
    # A Learner swaps its callbacks and DataLoader while predicting: one predict at a time.
    lock = threading.Lock()

    def probabilities(model_input: Any) -> Any:
        items = _items(tabular, model_input)
        with lock:
            dl = learn.dls.test_dl(items, **test_dl_options)
            with learn.no_bar(), learn.no_logging():
                preds, _ = learn.get_preds(dl=dl)
        return preds.detach().cpu().numpy()

    if mlflow2_output:
        def predict_mlflow2(model_input: Any, params: dict[str, Any] | None = None) -> Any:
            # Exactly what MLflow 2's mlflow.fastai returned.
            return pd.Series(map(np.array, probabilities(model_input))).to_frame("predictions")

        return predict_mlflow2

    if not tabular:
        def predict_tensor(model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return probabilities(model_input)

        return predict_tensor

    if labels is None:
        y_names = [str(n) for n in (getattr(learn.dls, "y_names", None) or [])]

        def predict_regression(model_input: Any, params: dict[str, Any] | None = None) -> Any:
            values = probabilities(model_input)
            values = values.reshape(len(values), -1)
            names = y_names if len(y_names) == values.shape[1] else [
                f"{PREDICTION_COLUMN}_{i}" for i in range(values.shape[1])
            ]
            return pd.DataFrame(values, columns=names)

        return predict_regression

    columns = _probability_columns(labels)
    label_array = np.asarray(labels)

    def predict_classes(model_input: Any, params: dict[str, Any] | None = None) -> Any:
        probs = probabilities(model_input)
        if probs.ndim != 2 or probs.shape[1] != len(columns):
            raise PluginError(
                f"the Learner returned predictions of shape {probs.shape}, but its vocabulary "
                f"has {len(columns)} classes"
            )
        frame = pd.DataFrame(probs, columns=columns, index=_index_of(model_input))
        frame.insert(0, PREDICTION_COLUMN, label_array[probs.argmax(axis=1)])
        return frame

    return predict_classes


def _index_of(model_input: Any) -> Any:
    return getattr(model_input, "index", None)
