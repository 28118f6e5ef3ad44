"""Conformance: what a save writes, what it refuses, and that a failed save leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from saveur.testing._helpers import normalize_dist, read_requirements, requirement_name


class _PluginFailure(RuntimeError):
    """Raised inside a save on purpose, to check that nothing is left behind."""


class SaveTests:
    """The MLmodel, the environment files, and atomicity of saves."""

    def test_save_writes_mlmodel_with_the_flavor_and_python_function(
        self, saved_model: Path, flavor_key: str, flavor_info: Any
    ) -> None:
        from saveur.models import Model

        mlmodel = Model.load(saved_model)
        assert flavor_key in mlmodel.flavors
        pyfunc = mlmodel.flavors.get("python_function")
        assert pyfunc is not None, "the model has no python_function flavor"
        assert pyfunc.get("loader_module") in flavor_info.loader_modules, (
            f"python_function.loader_module {pyfunc.get('loader_module')!r} is not one of "
            f"FlavorInfo.loader_modules {flavor_info.loader_modules}"
        )
        for name in ("requirements.txt", "python_env.yaml", "conda.yaml"):
            assert (saved_model / name).is_file(), f"{name} is missing"

    def test_every_file_is_recorded_with_a_digest(self, saved_model: Path) -> None:
        from saveur.models import Model

        digests = Model.load(saved_model).digests or {}
        on_disk = sorted(
            p.relative_to(saved_model).as_posix()
            for p in saved_model.rglob("*")
            if p.is_file() and p.name != "MLmodel"
        )
        assert sorted(digests) == on_disk

    def test_saved_model_records_no_absolute_path(self, saved_model: Path, tmp_path: Path) -> None:
        text = (saved_model / "MLmodel").read_text(encoding="utf-8")
        assert str(tmp_path) not in text, "MLmodel records a path of the saving machine"

    def test_requirements_are_pinned_and_name_the_plugin(
        self, saved_model: Path, distribution: str, flavor_info: Any, expect_portable: bool
    ) -> None:
        from saveur.models import Model

        reqs = read_requirements(saved_model)
        names = {requirement_name(r) for r in reqs}
        if not expect_portable:
            assert normalize_dist(distribution) in names, f"{distribution} missing from {reqs}"
            assert "saveur" in names, f"saveur missing from {reqs}"
        else:
            # Portable: a platform installs these from a package index, where saveur's
            # distributions may not be; MLmodel's saveur block names the plugin instead.
            ours = sorted(n for n in names if n == "saveur" or n.startswith("saveur-"))
            assert not ours, (
                f"the flavor declares mlflow_loader_module, but requirements.txt names {ours}: "
                "a portable model's requirements name no saveur distribution"
            )
        recorded = (Model.load(saved_model).saveur or {}).get("plugin") or {}
        assert normalize_dist(str(recorded.get("distribution"))) == normalize_dist(distribution), (
            f"MLmodel's saveur.plugin is {recorded}, not {distribution}"
        )
        # The first framework requirement is the framework itself; the others (skops, say)
        # may be needed only by some serialization formats.
        if flavor_info.framework_requirements:
            framework = flavor_info.framework_requirements[0]
            assert normalize_dist(framework) in names, f"{framework} missing from {reqs}"
        # The host's MLflow line of a portable model is a range (any MLflow 3 that reads it).
        unpinned = [r for r in reqs if "==" not in r and requirement_name(r) != "mlflow"]
        assert not unpinned, f"requirements not pinned: {unpinned}"
        labelled = [r for r in reqs if "+" in r]
        assert not labelled, f"local version labels cannot be installed from an index: {labelled}"

    def test_save_into_a_non_empty_path_is_refused(
        self, tmp_path: Path, model: Any, save: Any
    ) -> None:
        from saveur.errors import ModelExistsError

        target = tmp_path / "occupied"
        target.mkdir()
        (target / "keep.txt").write_text("mine")
        with pytest.raises(ModelExistsError, match="not empty"):
            save(model, target)
        assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
        assert (target / "keep.txt").read_text() == "mine"

    def test_unknown_flavor_option_is_refused_by_name(
        self, tmp_path: Path, model: Any, save: Any
    ) -> None:
        from saveur.errors import SaveurError

        with pytest.raises(SaveurError, match="conformance_no_such_option"):
            save(model, tmp_path / "model", conformance_no_such_option=1)
        assert list(tmp_path.iterdir()) == [], "a refused save left files behind"

    def test_failed_save_leaves_nothing_behind(
        self, tmp_path: Path, model: Any, save: Any, plugin: object,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from saveur.hookspecs import hookimpl

        # Fail after the plugin has written its files: requirement inference runs next. The
        # host registers the plugin afresh in this test, so it picks up this hookimpl.
        @hookimpl
        def fail() -> list[str]:
            raise _PluginFailure("requirement inference failed on purpose")

        monkeypatch.setattr(plugin, "saveur_infer_requirements", fail)
        with pytest.raises(_PluginFailure):
            save(model, tmp_path / "model")
        assert list(tmp_path.iterdir()) == [], "a failed save left files behind"

    def test_save_with_input_example_records_it_and_a_signature(
        self, tmp_path: Path, model: Any, model_input: Any, save: Any
    ) -> None:
        from saveur.models import Model

        save(model, tmp_path / "model", input_example=model_input)
        mlmodel = Model.load(tmp_path / "model")
        assert mlmodel.signature is not None, "no signature inferred from the input example"
        assert mlmodel.saved_input_example_info is not None
        assert (tmp_path / "model" / mlmodel.saved_input_example_info["artifact_path"]).is_file()
