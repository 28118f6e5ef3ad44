"""``log_model``: save a model into a run's artifacts, and optionally register it.

The model is written by :func:`saveur.saving.write_model` (the same path as ``save_model``)
into a private staging directory, then copied into the artifact store with MLmodel last,
and listed in the database last of all.
"""

from __future__ import annotations

import shutil
from typing import Any

from saveur.store.entities import ModelInfo


def log_model(
    model: object,
    name: str,
    *,
    registered_model_name: str | None = None,
    **save_options: Any,
) -> ModelInfo:
    """Log ``model`` as artifact ``name`` of the active run (or of a new run, then ended).

    ``save_options`` are those of :func:`saveur.save_model` (``flavor=``, ``signature=``,
    ``input_example=``...). Returns a :class:`ModelInfo` whose ``model_uri`` is
    ``runs:/<run_id>/<name>``; with ``registered_model_name`` the model is also registered.
    """
    from saveur.saving import write_model
    from saveur.security import private_tempdir
    from saveur.store import tracking
    from saveur.store._artifacts import iter_source_files
    from saveur.store._db import get_store
    from saveur.store._validation import validate_artifact_path
    from saveur.store.registry import register_model

    name = validate_artifact_path(name, what="model name")
    store = get_store()
    own_run = tracking.active_run() is None
    run_id = (tracking.start_run() if own_run else tracking.active_run()).info.run_id  # type: ignore[union-attr]
    try:
        staging = private_tempdir(prefix="saveur-log-model-")
        try:
            model_dir = staging / "model"
            model_dir.mkdir(mode=0o700)
            mlmodel = write_model(model, model_dir, run_id=run_id, artifact_path=name,
                                  **save_options)
            files = list(iter_source_files(model_dir))
            # MLmodel last: a model directory without it is never mistaken for a model.
            files.sort(key=lambda item: item[0] == "MLmodel")
            tracking._copy_in(store, run_id, [(f"{name}/{rel}", p) for rel, p in files],
                              new_only=name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        model_uri = f"runs:/{run_id}/{name}"
        version = (
            register_model(model_uri, registered_model_name) if registered_model_name else None
        )
    except BaseException:
        if own_run:
            tracking.end_run(tracking.FAILED)
        raise
    if own_run:
        tracking.end_run(tracking.FINISHED)
    return ModelInfo(
        model_uri=model_uri,
        run_id=run_id,
        artifact_path=name,
        flavors=dict(mlmodel.flavors),
        signature=mlmodel.signature,
        model_uuid=getattr(mlmodel, "model_uuid", None),
        utc_time_created=getattr(mlmodel, "utc_time_created", None),
        metadata=getattr(mlmodel, "metadata", None),
        registered_model_version=version.version if version is not None else None,
    )
