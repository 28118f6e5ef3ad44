from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest

import saveur_echo
from saveur import plugins as plugins_mod
from saveur.errors import AmbiguousFlavorError, FlavorNotFoundError
from saveur.hookspecs import FlavorInfo, hookimpl


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


def test_two_plugins_claiming_an_object_is_an_error_listing_both():
    built = plugins_mod.build_plugins(
        entry_points=False, extra=[("echo", saveur_echo), ("other", _OtherClaimer())]
    )
    with pytest.raises(AmbiguousFlavorError, match=r"echo, other; pass flavor="):
        built.detect_flavor(saveur_echo.EchoModel())


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
    monkeypatch.setattr(saveur_echo, "saveur_predict_function", counting)
    model = saveur.pyfunc.load_model(tmp_path / "m")
    for _ in range(5):
        model.predict(2.0)
    assert len(calls) == 1
