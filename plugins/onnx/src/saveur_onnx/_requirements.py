"""The pinned pip requirements of a saved ONNX model, from installed metadata.

Only what a package index serves: onnx, onnxruntime and numpy. The model names MLflow's own
loader (``mlflow.onnx``), so no saveur distribution is needed to load it.
"""

from __future__ import annotations

from functools import lru_cache

DISTRIBUTION = "saveur-onnx"


@lru_cache(maxsize=8)
def _pinned(dist: str) -> str | None:
    # importlib.metadata costs ~20 ms to import: only when a model is saved.
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(dist)
    except PackageNotFoundError:
        return None
    # A local label (1.20.0+cu12) names a build pip cannot fetch from an index: drop it.
    return f"{dist}=={installed.split('+', 1)[0]}"


def infer_requirements() -> list[str]:
    """Pin onnx, onnxruntime (or the onnxruntime-gpu build) and numpy as installed."""
    pins = [_pinned("onnx"), _pinned("onnxruntime") or _pinned("onnxruntime-gpu"),
            _pinned("numpy")]
    return [pin for pin in pins if pin is not None]
