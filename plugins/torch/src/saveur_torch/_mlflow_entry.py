"""What MLflow gets when ``mlflow.pyfunc.load_model`` loads a state_dict or pickle model.

MLflow imports ``python_function.loader_module`` (``saveur_torch``) and calls
``_load_pyfunc(data_path)``; no trust can be passed that way, so pickled models load only
where the deployer set ``SAVEUR_TRUST_CODE=1``. Export models name ``mlflow.pytorch`` and never
come here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> Any:
    """Load a saveur pytorch model through saveur (digests checked) for MLflow's pyfunc."""
    import saveur.pyfunc
    from saveur.mlmodel import MLMODEL_FILE_NAME
    from saveur.security import trust_from_env

    p = Path(path)
    # MLflow passes the model's data folder (python_function.data); find the model around it.
    model_dir = p if (p / MLMODEL_FILE_NAME).is_file() else p.parent
    options: dict[str, Any] = {}
    device = (model_config or {}).get("device")
    if device is not None:
        options["device"] = device
    return saveur.pyfunc.load_model(model_dir, trust_code=trust_from_env(None), **options)
