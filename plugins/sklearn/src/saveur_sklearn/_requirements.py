"""The pinned pip requirements of a saved scikit-learn model, from installed metadata."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from saveur_sklearn._formats import CLOUDPICKLE, SKOPS

DISTRIBUTION = "saveur-sklearn"


@lru_cache(maxsize=64)
def _pinned(dist: str) -> str | None:
    try:
        installed = version(dist)
    except PackageNotFoundError:
        return None
    # A local label (1.9.1+cpu) names a build pip cannot fetch from an index: drop it.
    return f"{dist}=={installed.split('+', 1)[0]}"


def infer_requirements(serialization_format: str) -> list[str]:
    """Pin scikit-learn, numpy, scipy and the format's library as installed.

    saveur-sklearn is not pinned: its models name MLflow's loader and install from a package
    index alone; MLmodel's ``saveur`` block records the plugin that wrote them.
    """
    dists = ["scikit-learn", "numpy", "scipy"]
    if serialization_format == SKOPS:
        dists.append("skops")
    elif serialization_format == CLOUDPICKLE:
        dists.append("cloudpickle")
    return [pin for pin in map(_pinned, dists) if pin is not None]
