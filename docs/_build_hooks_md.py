"""Regenerate docs/hooks.md from the hookspecs' docstrings: python docs/_build_hooks_md.py"""

from __future__ import annotations

import inspect
from pathlib import Path

from saveur import hookspecs


def hook_names() -> list[str]:
    return [n for n, f in vars(hookspecs).items()
            if n.startswith("saveur_") and inspect.isfunction(f)]


def signature_line(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(sig.parameters)
    return f"{name}({params})"


def render() -> str:
    out = ["# Hook reference", "",
           "Generated from `core/src/saveur/hookspecs.py` by `docs/_build_hooks_md.py`; do not "
           "edit by hand. Implement hooks with `@saveur.hookimpl`; see "
           "[writing-a-plugin.md](writing-a-plugin.md).", ""]
    for name in hook_names():
        func = getattr(hookspecs, name)
        out += [f"## `{signature_line(name)}`", "", inspect.getdoc(func) or "", ""]
    return "\n".join(out)


if __name__ == "__main__":
    Path(__file__).with_name("hooks.md").write_text(render())
