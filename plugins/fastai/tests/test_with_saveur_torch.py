"""saveur-fastai beside saveur-torch: a Learner is fastai's, its module torch's, never ambiguous.

Runs in the ``fastai-torch`` tox env, where both plugins are installed; skipped elsewhere (the
``fastai`` env keeps saveur-fastai alone, so a silent reliance on saveur-torch fails there).
"""

from __future__ import annotations

import pytest

pytest.importorskip("saveur_torch", reason="saveur-torch is not installed (tox -e fastai-torch)")


def test_both_plugins_are_installed():
    from saveur.plugins import get_plugins

    keys = {info.key for info, _, _ in get_plugins().installed()}
    assert {"fastai", "pytorch"} <= keys


def test_a_learner_is_saved_by_fastai_and_its_module_by_torch(tmp_path, tabular_learner):
    import saveur

    learner_model = saveur.save_model(tabular_learner, tmp_path / "learner")
    module_model = saveur.save_model(
        tabular_learner.model, tmp_path / "module", serialization_format="pickle"
    )
    assert "fastai" in learner_model.flavors and "pytorch" not in learner_model.flavors
    assert "pytorch" in module_model.flavors and "fastai" not in module_model.flavors


def test_detection_claims_do_not_tie(tabular_learner):
    from saveur.plugins import get_plugins

    plugins = get_plugins()
    assert plugins.detect_flavor(tabular_learner) == "fastai"
    assert plugins.detect_flavor(tabular_learner.model) == "pytorch"
