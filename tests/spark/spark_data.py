"""The columns and training data the Spark tests share (a module of its own: pytest's
importlib mode gives conftest no importable name)."""

from __future__ import annotations

COLUMNS = [f"f{i}" for i in range(10)]


def training_data(n: int = 400):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(n, len(COLUMNS)), columns=COLUMNS)
    y = ((x["f0"] + x["f1"]) > 1.0).astype("int64")
    return x, y
