"""The pinned pip requirements of a saved fastai model, from installed metadata."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

#: What a fastai export needs to unpickle and predict; torchvision is left to the learner's
#: own needs (vision learners' pickles import it), as fastai itself declares it.
PINNED = ("fastai", "torch", "fastcore", "saveur-fastai")


@lru_cache(maxsize=16)
def _pinned(dist: str) -> str | None:
    try:
        installed = version(dist)
    except PackageNotFoundError:
        return None
    # A local label (2.13.0+cpu) names a build pip cannot fetch from an index: drop it.
    return f"{dist}=={installed.split('+', 1)[0]}"


def infer_requirements() -> list[str]:
    """Pin fastai, torch, fastcore and saveur-fastai as installed."""
    return [pin for pin in map(_pinned, PINNED) if pin is not None]
