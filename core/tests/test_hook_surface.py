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


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_implemented_by_the_echo_test_plugin(name):
    import saveur_echo

    assert hasattr(saveur_echo, name)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring_with_summary(name):
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert doc and doc.splitlines()[0].endswith(".")
