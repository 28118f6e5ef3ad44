"""A model from code for the Spark tests: two outputs per row, and a record of each load."""

from __future__ import annotations

import os

import pandas as pd

import saveur.models
import saveur.pyfunc


class TwoOutputs(saveur.pyfunc.PythonModel):
    def load_context(self, context):
        log = context.model_config.get("load_log")
        if log:
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\n")

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 2.0)
        return pd.DataFrame({"double": model_input["x"] * scale,
                             "positive": (model_input["x"] > 0).astype("int64")})


saveur.models.set_model(TwoOutputs())
