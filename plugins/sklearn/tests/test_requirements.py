"""Dependency inference: pins as installed, per format, local labels dropped."""

from __future__ import annotations

from importlib.metadata import version

import pytest

import saveur_sklearn
from saveur_sklearn import _requirements


def _infer(fmt):
    return saveur_sklearn.saveur_infer_requirements(
        flavor="sklearn", model_dir=None, flavor_conf={"serialization_format": fmt}
    )


def test_skops_model_pins_framework_and_skops_but_no_saveur_distribution():
    reqs = _infer("skops")
    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    assert f"skops=={version('skops')}" in reqs
    assert f"numpy=={version('numpy')}" in reqs
    assert f"scipy=={version('scipy')}" in reqs
    # Portable: the model installs from a package index alone (MLmodel names the plugin).
    assert not any(r.startswith("saveur") for r in reqs)
    assert not any(r.startswith("cloudpickle") for r in reqs)


def test_cloudpickle_model_pins_cloudpickle_not_skops():
    reqs = _infer("cloudpickle")
    assert f"cloudpickle=={version('cloudpickle')}" in reqs
    assert not any(r.startswith("skops") for r in reqs)


def test_pickle_model_needs_neither():
    names = {r.split("==")[0] for r in _infer("pickle")}
    assert names == {"scikit-learn", "numpy", "scipy"}


def test_local_version_labels_are_dropped(monkeypatch):
    monkeypatch.setattr(_requirements, "version", lambda dist: "1.2.3+cpu")
    _requirements._pinned.cache_clear()
    try:
        assert all(r.endswith("==1.2.3") for r in _infer("skops"))
    finally:
        _requirements._pinned.cache_clear()


def test_a_missing_distribution_is_left_out(monkeypatch):
    from importlib.metadata import PackageNotFoundError

    real = _requirements.version

    def fake(dist):
        if dist == "scipy":
            raise PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(_requirements, "version", fake)
    _requirements._pinned.cache_clear()
    try:
        assert not any(r.startswith("scipy") for r in _infer("skops"))
    finally:
        _requirements._pinned.cache_clear()


@pytest.mark.parametrize("fmt", ["skops", "pickle", "cloudpickle"])
def test_every_requirement_is_pinned(fmt):
    assert all("==" in r for r in _infer(fmt))
