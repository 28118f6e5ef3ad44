"""Small fastai Learners trained for one epoch on synthetic data (no pretrained weights).

Shared by the tests and by ``mlflow2/make_fixtures.py`` (run in the MLflow 2 env), so both
environments train the same shapes of model.
"""

from __future__ import annotations

import sys
import types
from typing import Any

#: The torchvision submodules whose compiled operators cannot load on this CPU torch build.
SHIMMED = ("torchvision._meta_registrations", "torchvision._autograd_registrations")

IMAGE_SIZE = 16
TABULAR_CATEGORIES = ("red", "green", "blue")


def install_torchvision_shim() -> bool:
    """Test-only: let ``import torchvision`` succeed where its compiled ops cannot load.

    fastai.vision imports torchvision, whose operator registrations fail against a torch
    build they were not compiled for. Stubbing the two registration modules is enough for
    fastai's data pipeline and a model built from plain torch layers. The plugin itself never
    imports torchvision; only the pickled vision Learner does, through fastai.vision.
    Returns whether the shim was needed.
    """
    try:
        import torchvision
        return False
    except (RuntimeError, ImportError):
        pass
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    for name in SHIMMED:
        sys.modules[name] = types.ModuleType(name)
    import torchvision  # noqa: F401
    return True


def tabular_frame(n: int = 200, seed: int = 0) -> Any:
    """Synthetic rows: two numbers and a category; the label is 'high' or 'low'."""
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "x1": rng.randn(n),
        "x2": rng.randn(n),
        "colour": rng.choice(list(TABULAR_CATEGORIES), n),
    })
    frame["label"] = np.where(frame["x1"] + 0.5 * frame["x2"] > 0, "high", "low")
    return frame


def tabular_learner() -> Any:
    """A tabular classifier (Categorify, FillMissing, Normalize) trained for one epoch."""
    from fastai.tabular.all import (
        Categorify,
        FillMissing,
        Normalize,
        TabularDataLoaders,
        set_seed,
    )
    from fastai.tabular.all import tabular_learner as make_learner

    set_seed(0, reproducible=True)
    dls = TabularDataLoaders.from_df(
        tabular_frame(), path=".", cat_names=["colour"], cont_names=["x1", "x2"],
        y_names="label", procs=[Categorify, FillMissing, Normalize], bs=32,
    )
    # n_out given: fastai 2.8's get_c on tabular DataLoaders returns a list, not the count.
    learn = make_learner(dls, layers=[16], n_out=len(dls.vocab))
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    return learn


def tabular_input(n: int = 12) -> Any:
    return tabular_frame(n, seed=1).drop(columns=["label"])


def images(n: int = 40, seed: int = 0) -> Any:
    """uint8 RGB images ``[n, H, W, 3]``: noise, brighter or darker."""
    import numpy as np

    rng = np.random.RandomState(seed)
    shift = rng.choice([-60, 60], size=(n, 1, 1, 1))
    noise = rng.randint(60, 196, size=(n, IMAGE_SIZE, IMAGE_SIZE, 3))
    return np.clip(noise + shift, 0, 255).astype(np.uint8)


def vision_learner() -> Any:
    """An image classifier (a tiny CNN of plain torch layers) trained for one epoch."""
    install_torchvision_shim()
    import numpy as np
    from fastai.vision.all import (
        CategoryBlock,
        DataBlock,
        ImageBlock,
        ItemGetter,
        Learner,
        RandomSplitter,
        nn,
        set_seed,
    )

    set_seed(0, reproducible=True)
    pictures = images()
    labels = np.where(pictures.mean(axis=(1, 2, 3)) > 127, "bright", "dark")
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock), get_x=ItemGetter(0), get_y=ItemGetter(1),
        splitter=RandomSplitter(seed=0),
    )
    dls = block.dataloaders(list(zip(pictures, labels)), bs=8)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
    )
    learn = Learner(dls, model)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    return learn


def vision_input(n: int = 6) -> Any:
    return images(n, seed=1)


def raw_probabilities(learn: Any, data: Any) -> Any:
    """fastai's own call, as a user would write it: probabilities as a numpy array."""
    import numpy as np

    items = list(data) if isinstance(data, np.ndarray) else data
    with learn.no_bar(), learn.no_logging():
        preds, _ = learn.get_preds(dl=learn.dls.test_dl(items))
    return preds.numpy()


def tabular_regressor() -> Any:
    """A tabular regressor (a float target) trained for one epoch."""
    from fastai.tabular.all import Normalize, TabularDataLoaders, set_seed
    from fastai.tabular.all import tabular_learner as make_learner

    set_seed(0, reproducible=True)
    frame = tabular_frame()
    frame["target"] = frame["x1"] * 2.0 + frame["x2"]
    dls = TabularDataLoaders.from_df(
        frame.drop(columns=["label"]), path=".", cat_names=[], cont_names=["x1", "x2"],
        y_names="target", procs=[Normalize], bs=32,
    )
    learn = make_learner(dls, layers=[8], n_out=1)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1)
    return learn
