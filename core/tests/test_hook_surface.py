"""Meta-tests that keep the hook surface honest (as datasette does): every hook is documented
with its current signature, and every hook is exercised by a test."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from saveur import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [n for n, f in vars(hookspecs).items() if n.startswith("saveur_") and inspect.isfunction(f)]


@pytest.mark.parametrize("name", HOOKS)
def test_hook_signature_is_in_the_docs(name):
    params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert f"`{name}({params})`" in (ROOT / "docs" / "hooks.md").read_text(), (
        "docs/hooks.md is stale: run python docs/_build_hooks_md.py"
    )


def _exercise(tmp_path: Path) -> None:
    """Save, load natively, load through pyfunc and predict, and resolve a URI: the host's
    whole use of the hooks, on the echo test plugin."""
    import saveur
    import saveur.pyfunc
    import saveur_echo
    from saveur.uris import resolve_model_uri

    saveur.save_model(saveur_echo.EchoModel(2.0), tmp_path / "m")  # no flavor=: detection
    saveur.load_model(tmp_path / "m")
    assert saveur.pyfunc.load_model(tmp_path / "m").predict(1.5) == 3.0
    resolve_model_uri(f"echo://{tmp_path / 'm'}")


@pytest.fixture(scope="module")
def echo_hook_calls(tmp_path_factory) -> set[str]:
    """The hooks the host called on the echo plugin's implementations, through pluggy."""
    import pluggy

    import saveur_echo
    from saveur import plugins

    called: set[str] = set()

    def before(hook_name, hook_impls, kwargs):
        if any(impl.plugin is saveur_echo for impl in hook_impls):
            called.add(hook_name)

    class _Monitored(pluggy.PluginManager):
        # Monitoring from the start, so the calls made while registering count too.
        def __init__(self, project_name: str) -> None:
            super().__init__(project_name)
            self.add_hookcall_monitoring(before, lambda *args: None)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pluggy, "PluginManager", _Monitored)
        built = plugins.build_plugins(entry_points=False, extra=[("echo", saveur_echo)])
    plugins.reset_plugins(built)
    try:
        _exercise(tmp_path_factory.mktemp("surface"))
    finally:
        plugins.reset_plugins(None)
    return called


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_called_by_the_host_on_a_plugin(name, echo_hook_calls):
    assert name in echo_hook_calls, f"no host path called {name} on the echo plugin"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring_with_summary(name):
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert doc and doc.splitlines()[0].endswith(".")
