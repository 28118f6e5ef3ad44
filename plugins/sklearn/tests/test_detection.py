"""The most specific flavor wins: a plugin for a BaseEstimator subclass beside saveur-sklearn."""

from __future__ import annotations

import pytest

import saveur_sklearn
from saveur import plugins as plugins_mod
from saveur.errors import AmbiguousFlavorError
from saveur.hookspecs import FlavorClaim, FlavorInfo, hookimpl


def _plugin(key, matched_on):
    """A test-only plugin that claims instances of ``matched_on`` as flavor ``key``."""

    class _Claimer:
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key=key, distribution=f"saveur-{key}")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            return FlavorClaim(key, matched_on) if isinstance(model, matched_on) else None

    return _Claimer()


def _host(*extra):
    return plugins_mod.build_plugins(
        entry_points=False, extra=[("sklearn", saveur_sklearn), *extra]
    )


def test_sklearn_claims_the_nearest_scikit_learn_class(logreg):
    from sklearn.linear_model import LogisticRegression

    claim = saveur_sklearn.saveur_detect_flavor(model=logreg)
    assert claim == FlavorClaim("sklearn", LogisticRegression)


def test_sklearn_claims_a_subclass_on_its_scikit_learn_base():
    from custom_estimators import Boosted
    from sklearn.base import ClassifierMixin

    assert saveur_sklearn.saveur_detect_flavor(model=Boosted()) == FlavorClaim(
        "sklearn", ClassifierMixin
    )


def test_a_plugin_for_a_base_estimator_subclass_beats_saveur_sklearn(logreg):
    from custom_estimators import Boosted

    host = _host(("boosted", _plugin("boosted", Boosted)))
    assert host.detect_flavor(Boosted()) == "boosted"
    assert host.detect_flavor(logreg) == "sklearn"  # the other plugin does not claim it


def test_a_plugin_matching_a_farther_class_loses_to_saveur_sklearn():
    from custom_estimators import Boosted
    from sklearn.base import BaseEstimator

    host = _host(("generic", _plugin("generic", BaseEstimator)))
    assert host.detect_flavor(Boosted()) == "sklearn"


def test_an_equally_near_claim_is_ambiguous_and_names_both_plugins():
    from custom_estimators import Boosted
    from sklearn.base import ClassifierMixin

    host = _host(("twin", _plugin("twin", ClassifierMixin)))
    with pytest.raises(AmbiguousFlavorError) as info:
        host.detect_flavor(Boosted())
    message = str(info.value)
    assert "flavor 'sklearn'" in message and "flavor 'twin'" in message
    assert "pass flavor=" in message


def test_save_model_picks_the_nearer_plugin_without_flavor(tmp_path, xy):
    from custom_estimators import Boosted

    import saveur
    from saveur.errors import PluginError

    plugins_mod.reset_plugins(_host(("boosted", _plugin("boosted", Boosted))))
    try:
        # The boosted plugin has no save hook: reaching it proves detection chose it.
        with pytest.raises(PluginError, match="'boosted'.*does not implement saveur_save_model"):
            saveur.save_model(Boosted().fit(*xy), tmp_path / "m")
    finally:
        plugins_mod.reset_plugins(None)
