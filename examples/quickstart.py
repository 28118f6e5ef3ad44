"""The main job on the embedded defaults (SQLite registry, local artifact store):
train a scikit-learn model, log it to a run, register it, alias it 'champion',
load it back from the registry and predict.

    python examples/quickstart.py [STORE_DIR]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import saveur
import saveur.pyfunc
import saveur_sklearn


def main(store: str | None = None) -> None:
    if store:  # default: ./saveur-store/ (SQLite + artifacts/), or SAVEUR_STORE_URI
        saveur.set_store_uri(store)
    iris = load_iris(as_frame=True)
    X, y = iris.data, iris.target
    model = LogisticRegression(max_iter=500).fit(X, y)

    with saveur.start_run(name="iris-logreg") as run:
        saveur.log_params({"max_iter": 500})
        saveur.log_metrics({"train_accuracy": float(model.score(X, y))})
        info = saveur_sklearn.log_model(
            model, "model", input_example=X.head(3), registered_model_name="iris"
        )
    print(f"logged {info.model_uri} in run {run.info.run_id}")
    version = info.registered_model_version
    saveur.set_model_alias("iris", "champion", version)
    print(f"registered iris version {version}, alias champion")

    champion = saveur.pyfunc.load_model("models:/iris@champion")
    sample = pd.DataFrame(X.tail(3).to_numpy(), columns=X.columns)
    predictions = champion.predict(sample)
    assert np.array_equal(predictions, model.predict(sample))
    print("predictions from models:/iris@champion:", predictions.tolist())


if __name__ == "__main__":
    main(*sys.argv[1:])
