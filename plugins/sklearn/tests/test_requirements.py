"""Dependency inference: pins as installed, per format, local labels dropped."""

from __future__ import annotations

from importlib.metadata import version

import pytest

import saveur_sklearn
from saveur_sklearn import _requirements


def _infer(fmt, model=None):
    return saveur_sklearn.saveur_infer_requirements(
        flavor="sklearn", model=model, model_dir=None, flavor_conf={"serialization_format": fmt}
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


@pytest.fixture
def custom_dist(monkeypatch):
    """Pretend the tests' custom_estimators module is installed by a distribution."""
    real_owners = _requirements.packages_distributions
    real_version = _requirements.version

    def owners():
        return {**real_owners(), "custom_estimators": ["custom-estimators"]}

    def fake_version(dist):
        return "2.0.1" if dist == "custom-estimators" else real_version(dist)

    monkeypatch.setattr(_requirements, "packages_distributions", owners)
    monkeypatch.setattr(_requirements, "version", fake_version)
    _requirements._pinned.cache_clear()
    _requirements._owners.cache_clear()
    yield "custom-estimators==2.0.1"
    _requirements._pinned.cache_clear()
    _requirements._owners.cache_clear()


def test_a_pipeline_step_from_another_package_is_pinned(custom_dist, xy):
    from custom_estimators import AddOne
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(AddOne(), LogisticRegression()).fit(*xy)
    reqs = _infer("skops", model)
    assert custom_dist in reqs
    assert not any(r.startswith("saveur") for r in reqs)  # portable: no saveur distribution


def test_column_transformer_and_meta_estimator_parts_are_walked(custom_dist):
    from custom_estimators import AddOne, Boosted
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import BaggingClassifier

    nested = ColumnTransformer([("add", AddOne(), [0])])
    assert "custom-estimators" in _requirements.held_distributions(nested)
    meta = BaggingClassifier(estimator=Boosted())
    assert "custom-estimators" in _requirements.held_distributions(meta)


def test_a_function_held_by_a_function_transformer_is_pinned(custom_dist):
    import custom_estimators
    from sklearn.preprocessing import FunctionTransformer

    held = FunctionTransformer(func=custom_estimators.AddOne)
    assert _requirements.held_distributions(held) == ["custom-estimators", "scikit-learn"]


def test_plain_estimators_pin_nothing_extra(logreg):
    names = {r.split("==")[0] for r in _infer("skops", logreg)}
    assert names == {"scikit-learn", "numpy", "scipy", "skops"}


def test_classes_no_distribution_installs_add_nothing(xy):
    from custom_estimators import AddOne  # a test module: no distribution installs it

    assert _requirements.held_distributions(AddOne()) == ["scikit-learn"]


def test_a_self_referencing_estimator_does_not_loop(custom_dist):
    from custom_estimators import AddOne

    step = AddOne()
    step.me = step
    step.chain = [step, {"again": step}]
    assert _requirements.held_distributions(step) == ["custom-estimators", "scikit-learn"]


def test_save_writes_the_held_distribution_into_requirements(custom_dist, tmp_path, xy):
    from custom_estimators import AddOne
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import saveur

    model = make_pipeline(AddOne(), LogisticRegression()).fit(*xy)
    saveur.save_model(model, tmp_path / "m", flavor="sklearn", serialization_format="cloudpickle")
    assert custom_dist in (tmp_path / "m" / "requirements.txt").read_text().splitlines()


def test_parts_beside_arrays_and_scalars_are_found_in_every_member(custom_dist, xy):
    # Arrays and numbers are skipped without a walk, and a class's modules are looked up
    # once per class: parts held by later members of an ensemble are still found.
    import numpy as np
    from custom_estimators import AddOne
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    bag = BaggingClassifier(DecisionTreeClassifier(), n_estimators=3, random_state=0).fit(*xy)
    assert _requirements.held_distributions(bag) == ["scikit-learn"]
    last = bag.estimators_[-1]
    last.extra_ = [np.zeros(3), np.int64(2), 1.5, {"step": AddOne()}]
    assert _requirements.held_distributions(bag) == ["custom-estimators", "scikit-learn"]
