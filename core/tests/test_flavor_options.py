"""saveur.flavor_options.check_options: unknown options refused by name, the accepted listed."""

from __future__ import annotations

import pytest

from saveur.errors import PluginError, SaveError
from saveur.flavor_options import check_options


def test_known_options_pass():
    check_options("onnx", {"providers": ["CPUExecutionProvider"]}, ("providers", "x"),
                  what="load", error=PluginError)
    check_options("onnx", {}, (), what="save", error=SaveError)


def test_unknown_options_are_named_sorted_with_the_accepted_ones():
    with pytest.raises(SaveError) as info:
        check_options("sklearn", {"zeta": 1, "alpha": 2, "ok": 3}, ("ok", "fine"),
                      what="save", error=SaveError)
    assert str(info.value) == (
        "unknown save option(s) for flavor 'sklearn': alpha, zeta; accepted: ok, fine"
    )


def test_a_flavor_that_accepts_nothing_says_none():
    with pytest.raises(PluginError, match=r"^unknown load option\(s\) for flavor 'f': x; accepted: none$"):
        check_options("f", {"x": 1}, iter(()), what="load", error=PluginError)


def test_underscore_keys_of_older_hosts_are_skipped():
    check_options("f", {"_code_dir": "code"}, (), what="save", error=SaveError)
