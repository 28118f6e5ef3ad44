from __future__ import annotations

import logging
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import saveur_echo
from saveur import plugins as plugins_mod
from saveur.errors import AmbiguousFlavorError, FlavorNotFoundError, PluginError
from saveur.hookspecs import FlavorClaim, FlavorInfo, SavedFlavor, hookimpl


def _fake_entry_points(monkeypatch, *eps: EntryPoint) -> None:
    import importlib.metadata

    def fake(group=None, **kw):
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_builtin_python_function_flavor_is_registered(host_plugins):
    info = host_plugins.flavor_info("python_function")
    assert info.distribution == "saveur"


def test_entry_point_plugin_is_discovered(monkeypatch):
    _fake_entry_points(monkeypatch, EntryPoint("echo", "saveur_echo", "saveur"))
    built = plugins_mod.build_plugins()
    assert built.flavor_info("echo").distribution == "saveur-echo"


def test_broken_plugin_is_reported_and_skipped(monkeypatch, caplog):
    _fake_entry_points(
        monkeypatch,
        EntryPoint("broken", "saveur_module_that_does_not_exist", "saveur"),
        EntryPoint("echo", "saveur_echo", "saveur"),
    )
    with caplog.at_level(logging.WARNING):
        built = plugins_mod.build_plugins()
    assert "echo" in built.flavors
    assert [f.name for f in built.failed] == ["broken"]
    assert "ModuleNotFoundError" in built.failed[0].reason
    assert "'broken'" in caplog.text and "failed to load" in caplog.text


def test_disable_env_var_blocks_plugins_by_entry_point_name(monkeypatch):
    _fake_entry_points(monkeypatch, EntryPoint("echo", "saveur_echo", "saveur"))
    monkeypatch.setenv("SAVEUR_DISABLE_PLUGINS", "other, echo")
    built = plugins_mod.build_plugins()
    assert "echo" not in built.flavors


class _Impostor:
    """Claims the echo flavor a second time."""

    @hookimpl
    def saveur_flavors(self):
        return [FlavorInfo(key="echo", distribution="saveur-impostor")]

    @hookimpl
    def saveur_detect_flavor(self, model):
        return "echo"


def test_second_plugin_claiming_a_flavor_key_is_skipped(caplog):
    with caplog.at_level(logging.WARNING):
        built = plugins_mod.build_plugins(
            entry_points=False, extra=[("echo", saveur_echo), ("impostor", _Impostor())]
        )
    assert built.flavor_info("echo").distribution == "saveur-echo"
    assert any("already provided" in f.reason for f in built.failed)
    # the skipped plugin is out of broadcasts too: detection is not ambiguous
    assert built.detect_flavor(saveur_echo.EchoModel()) == "echo"


class _OtherClaimer:
    @hookimpl
    def saveur_flavors(self):
        return [FlavorInfo(key="other", distribution="saveur-other")]

    @hookimpl
    def saveur_detect_flavor(self, model):
        return "other" if isinstance(model, saveur_echo.EchoModel) else None


class _EchoClassClaimer:
    """Claims EchoModel on its own class, as saveur-echo does: a real tie."""

    @hookimpl
    def saveur_flavors(self):
        return [FlavorInfo(key="other", distribution="saveur-other")]

    @hookimpl
    def saveur_detect_flavor(self, model):
        if isinstance(model, saveur_echo.EchoModel):
            return FlavorClaim("other", saveur_echo.EchoModel)
        return None


def test_equally_near_claims_from_two_plugins_are_ambiguous_and_named():
    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("echo", saveur_echo), ("other", _EchoClassClaimer())]
    )
    with pytest.raises(AmbiguousFlavorError) as info:
        built.detect_flavor(saveur_echo.EchoModel())
    message = str(info.value)
    assert "echo (flavor 'echo', matched EchoModel)" in message
    assert "other (flavor 'other', matched EchoModel)" in message
    assert "pass flavor=" in message


def test_a_bare_flavor_key_loses_to_a_claim_on_the_objects_class():
    # _OtherClaimer is an old plugin returning a str: a match on object, the least specific.
    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("echo", saveur_echo), ("other", _OtherClaimer())]
    )
    assert built.detect_flavor(saveur_echo.EchoModel()) == "echo"


def test_two_bare_flavor_keys_are_ambiguous():
    class _Second(_OtherClaimer):
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key="second", distribution="saveur-second")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            return "second" if isinstance(model, saveur_echo.EchoModel) else None

    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("other", _OtherClaimer()), ("second", _Second())]
    )
    with pytest.raises(AmbiguousFlavorError, match=r"other \(flavor 'other', matched object\)"):
        built.detect_flavor(saveur_echo.EchoModel())


class _Base:
    pass


class _Middle(_Base):
    pass


class _Leaf(_Middle):
    pass


def _claimer(key, matched_on):
    class _Claimer:
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key=key, distribution=f"saveur-{key}")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            return FlavorClaim(key, matched_on) if isinstance(model, matched_on) else None

    return _Claimer()


def test_the_claim_nearest_to_the_objects_class_wins():
    built = plugins_mod.build_plugins(
        entry_points=False,
        extra=[("base", _claimer("base", _Base)), ("middle", _claimer("middle", _Middle))],
    )
    assert built.detect_flavor(_Leaf()) == "middle"
    assert built.detect_flavor(_Middle()) == "middle"
    assert built.detect_flavor(_Base()) == "base"


def test_a_claim_on_a_class_outside_the_mro_is_refused_naming_the_plugin():
    class _Liar:
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key="liar", distribution="saveur-liar")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            return FlavorClaim("liar", _Leaf)

    built = plugins_mod.build_plugins(entry_points=False, extra=[("liar", _Liar())])
    with pytest.raises(PluginError, match=r"plugin liar claimed flavor 'liar'.*not in its __mro__"):
        built.detect_flavor(_Base())


def test_a_detection_result_of_the_wrong_type_is_refused_naming_the_plugin():
    class _Odd:
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key="odd", distribution="saveur-odd")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            return 42

    built = plugins_mod.build_plugins(entry_points=False, extra=[("odd", _Odd())])
    with pytest.raises(PluginError, match=r"plugin odd returned int from saveur_detect_flavor"):
        built.detect_flavor(_Base())


def test_a_detection_hook_that_raises_is_reported_naming_the_plugin():
    class _Crashes:
        @hookimpl
        def saveur_flavors(self):
            return [FlavorInfo(key="crash", distribution="saveur-crash")]

        @hookimpl
        def saveur_detect_flavor(self, model):
            raise ValueError("boom")

    built = plugins_mod.build_plugins(entry_points=False, extra=[("crash", _Crashes())])
    with pytest.raises(PluginError, match=r"plugin crash failed in saveur_detect_flavor.*boom"):
        built.detect_flavor(_Base())


def test_a_plugin_whose_flavor_listing_fails_is_reported_and_skipped():
    class _NoList:
        @hookimpl
        def saveur_flavors(self):
            raise RuntimeError("cannot list")

    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("nolist", _NoList()), ("echo", saveur_echo)]
    )
    assert [f.name for f in built.failed] == ["nolist"]
    assert "saveur_flavors failed" in built.failed[0].reason
    assert "echo" in built.flavors


# --- hooks are called through pluggy -------------------------------------------------------


class _Partial:
    """A flavor whose hookimpls take subsets of the specs' arguments (legal in pluggy)."""

    @hookimpl
    def saveur_flavors(self):
        return [FlavorInfo(key="partial", distribution="saveur-partial",
                           loader_modules=("saveur_partial",))]

    @hookimpl
    def saveur_detect_flavor(self, model):
        return None

    @hookimpl
    def saveur_save_model(self, model, path):
        (path / "factor.txt").write_text(str(model.factor))
        return SavedFlavor(flavor_conf={"data": "factor.txt"},
                           pyfunc_conf={"loader_module": "saveur_partial"})

    @hookimpl
    def saveur_load_model(self, context):
        return saveur_echo.EchoModel(float((context.model_dir / "factor.txt").read_text()))

    @hookimpl
    def saveur_predict_function(self, model):
        return model.predict

    # An old plugin: written before the spec gained ``model``; pluggy passes what it names.
    @hookimpl
    def saveur_infer_requirements(self, flavor, model_dir, flavor_conf):
        return ["saveur-partial==1.0"]


def test_partial_hookimpls_are_called_with_the_arguments_they_name(tmp_path):
    import saveur
    import saveur.pyfunc

    plugins_mod.reset_plugins(
        plugins_mod.build_plugins(entry_points=False, extra=[("partial", _Partial())])
    )
    saveur.save_model(saveur_echo.EchoModel(2.0), tmp_path / "m", flavor="partial")
    assert "saveur-partial==1.0" in (tmp_path / "m" / "requirements.txt").read_text()
    assert saveur.pyfunc.load_model(tmp_path / "m").predict(3.0) == 6.0


def test_an_old_requirements_hook_keeps_working_after_the_spec_gained_model(tmp_path):
    built = plugins_mod.build_plugins(entry_points=False, extra=[("partial", _Partial())])
    reqs = built.infer_requirements("partial", object(), tmp_path, {})
    assert reqs == ["saveur-partial==1.0"]


class _Renamed:
    """Hookimpls under other names, mapped to their specs with ``specname=``."""

    @hookimpl(specname="saveur_flavors")
    def flavors(self):
        return [FlavorInfo(key="renamed", distribution="saveur-renamed")]

    @hookimpl(specname="saveur_detect_flavor")
    def detect(self, model):
        return FlavorClaim("renamed", _Leaf) if isinstance(model, _Leaf) else None

    @hookimpl(specname="saveur_infer_requirements")
    def requirements(self, model):
        return [f"held-{type(model).__name__.lower()}==1.0"]


def test_specname_hookimpls_are_found_and_called():
    built = plugins_mod.build_plugins(entry_points=False, extra=[("renamed", _Renamed())])
    assert built.flavor_info("renamed").distribution == "saveur-renamed"
    assert built.detect_flavor(_Leaf()) == "renamed"
    assert built.infer_requirements("renamed", _Leaf(), Path("."), {}) == ["held-_leaf==1.0"]


def test_a_flavor_hook_the_owner_lacks_is_an_error_naming_the_hook():
    built = plugins_mod.build_plugins(entry_points=False, extra=[("renamed", _Renamed())])
    with pytest.raises(PluginError, match=r"'renamed'.*does not implement saveur_save_model"):
        built.save_model("renamed", _Leaf(), Path("."), {})


class _SpyOnEcho:
    """Implements saveur_infer_requirements too: a broadcast would call it."""

    @hookimpl
    def saveur_infer_requirements(self):
        raise AssertionError("a flavor-keyed hook reached a plugin that does not own the flavor")


def test_flavor_keyed_hooks_reach_only_the_owning_plugin(tmp_path):
    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("echo", saveur_echo), ("spy", _SpyOnEcho())]
    )
    assert built.infer_requirements("echo", object(), tmp_path, {}) == ["saveur-echo==0.1.0"]


class _BadSignature:
    @hookimpl
    def saveur_detect_flavor(self, model, unexpected_argument):
        return None


def test_hookimpl_not_matching_its_spec_is_reported_and_skipped():
    built = plugins_mod.build_plugins(entry_points=False, extra=[("bad", _BadSignature())])
    assert [f.name for f in built.failed] == ["bad"]
    assert "unexpected_argument" in built.failed[0].reason


def test_missing_flavor_names_the_distribution_to_install(host_plugins):
    with pytest.raises(FlavorNotFoundError, match="no plugin provides flavor 'fastai': pip install saveur-fastai"):
        host_plugins.flavor_info("fastai")


def test_unknown_object_names_its_type(host_plugins):
    with pytest.raises(FlavorNotFoundError, match=r"builtins\.int"):
        host_plugins.detect_flavor(42)


def test_plugin_manager_is_not_built_at_import():
    import subprocess
    import sys

    code = "import saveur, saveur.pyfunc, saveur.plugins as p, sys; print(p._plugins is None, 'pluggy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_predict_function_is_resolved_once_per_load(tmp_path, echo_model, monkeypatch):
    import saveur
    import saveur.pyfunc

    calls = []
    original = saveur_echo.saveur_predict_function

    def counting(flavor, model, pyfunc_conf, context):
        calls.append(1)
        return original(flavor=flavor, model=model, pyfunc_conf=pyfunc_conf, context=context)

    saveur.save_model(echo_model, tmp_path / "m")
    # pluggy holds the function it registered: register the counting one afresh.
    monkeypatch.setattr(saveur_echo, "saveur_predict_function", hookimpl(counting))
    plugins_mod.reset_plugins(
        plugins_mod.build_plugins(entry_points=False, extra=[("echo", saveur_echo)])
    )
    model = saveur.pyfunc.load_model(tmp_path / "m")
    for _ in range(5):
        model.predict(2.0)
    assert len(calls) == 1


def test_flavor_claim_and_hookimpl_are_exported_from_the_package_top():
    import saveur
    from saveur import hookspecs

    assert saveur.FlavorClaim is hookspecs.FlavorClaim
    assert saveur.hookimpl is hookspecs.hookimpl
    assert "FlavorClaim" in saveur.__all__
