"""The pinned pip requirements of a saved PyTorch model, from installed metadata."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from saveur_torch._formats import EXPORT, STATE_DICT

DISTRIBUTION = "saveur-torch"


@lru_cache(maxsize=64)
def _pinned(dist: str) -> str | None:
    try:
        installed = version(dist)
    except PackageNotFoundError:
        return None
    # A local label (2.13.0+cpu) names a build pip cannot fetch from an index: drop it.
    return f"{dist}=={installed.split('+', 1)[0]}"


def infer_requirements(serialization_format: str) -> list[str]:
    """Pin torch and numpy; safetensors and saveur-torch where the format needs them.

    An ``export`` model names MLflow's own loader module, so it needs no saveur distribution
    of ours: stock MLflow serves it.
    """
    dists = ["torch", "numpy"]
    if serialization_format == STATE_DICT:
        dists.append("safetensors")
    if serialization_format != EXPORT:
        dists.append(DISTRIBUTION)
    return [pin for pin in map(_pinned, dists) if pin is not None]
