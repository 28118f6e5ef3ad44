"""skops' estimator list from saveur's per-user cache: the same names, without the walk.

Each case runs in a fresh interpreter (skops builds its list once, when ``skops.io`` is first
imported) with ``SAVEUR_CACHE_DIR`` pointing at a folder of the test's own. Whether the walk ran
shows in ``sys.modules``: it imports every public scikit-learn package, such as
``sklearn.semi_supervised``, which loading skops does not import otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from saveur_sklearn._estimator_cache import estimators_from_cache, installation_key

WALK_ONLY = "sklearn.semi_supervised"
_PROBE = """
import json, sys{before}
from saveur_sklearn._skops_import import import_skops_io
import_skops_io()
from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names
print(json.dumps({{"names": names, "walked": {walk_only!r} in sys.modules}}))
"""


def _probe(cache: Path | str, before: str = "") -> dict:
    env = {**os.environ, "SAVEUR_CACHE_DIR": str(cache)}
    code = _PROBE.format(before=before, walk_only=WALK_ONLY)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("sklearn-estimators-*.json"))


@pytest.fixture(scope="module")
def walked(tmp_path_factory) -> list[str]:
    """The names skops collects with its walk, the cache off."""
    out = _probe("off")
    assert out["walked"] and len(out["names"]) > 100
    return out["names"]


def test_the_first_process_walks_and_stores_then_the_next_reads_the_same_names(tmp_path, walked):
    cache = tmp_path / "cache"
    first = _probe(cache)
    assert first["walked"] and first["names"] == walked
    (entry,) = _entries(cache)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    second = _probe(cache)
    assert not second["walked"]  # answered from the entry
    assert second["names"] == walked


def test_an_entry_others_can_write_is_ignored(tmp_path, walked):
    cache = tmp_path / "cache"
    _probe(cache)
    (entry,) = _entries(cache)
    entry.chmod(0o664)
    out = _probe(cache)
    assert out["walked"] and out["names"] == walked
    entry.chmod(0o600)
    cache.chmod(0o777)  # a folder anyone can write to: nothing in it is used
    out = _probe(cache)
    assert out["walked"] and out["names"] == walked


@pytest.mark.parametrize(
    "rows",
    [
        [["Eval", "builtins", "eval"]],  # not a scikit-learn module
        [["X", "sklearn.linear_model", "not an identifier"]],
        [["X", "sklearn.linear_model"]],
        "not a list",
    ],
)
def test_a_malformed_entry_is_recomputed_and_rewritten(tmp_path, walked, rows):
    cache = tmp_path / "cache"
    _probe(cache)
    (entry,) = _entries(cache)
    stored = json.loads(entry.read_text())
    stored["estimators"] = rows
    entry.write_text(json.dumps(stored))
    out = _probe(cache)
    assert out["walked"] and out["names"] == walked
    assert json.loads(entry.read_text())["estimators"] != rows  # written again, well formed


def test_an_entry_for_another_installation_is_not_used(tmp_path, walked):
    cache = tmp_path / "cache"
    _probe(cache)
    (entry,) = _entries(cache)
    stored = json.loads(entry.read_text())
    stored["key"]["files"] = "0" * 64  # what a changed scikit-learn would have had
    entry.write_text(json.dumps(stored))
    out = _probe(cache)
    assert out["walked"] and out["names"] == walked


def test_an_enabled_experimental_feature_uses_the_walk_and_stores_nothing(tmp_path):
    cache = tmp_path / "cache"
    enable = "\nfrom sklearn.experimental import enable_iterative_imputer  # noqa"
    out = _probe(cache, before=enable)
    assert out["walked"]
    assert "sklearn.impute._iterative.IterativeImputer" in out["names"]
    assert _entries(cache) == []


def test_the_key_follows_every_file_of_the_package(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "a.py").write_text("x = 1\n")
    key = installation_key(str(package))
    assert installation_key(str(package)) == key
    (package / "sub" / "a.py").write_text("x = 22\n")  # new size
    changed = installation_key(str(package))
    assert changed["files"] != key["files"]
    os.utime(package / "sub" / "a.py", ns=(1, 1))  # same size, new time
    assert installation_key(str(package))["files"] != changed["files"]
    (package / "b.py").write_text("")  # a new module
    assert installation_key(str(package))["files"] not in (key["files"], changed["files"])


def test_the_stand_ins_reach_only_the_importing_thread_and_only_while_active(tmp_path, monkeypatch):
    import sklearn.utils
    from sklearn.base import BaseEstimator

    monkeypatch.setenv("SAVEUR_CACHE_DIR", str(tmp_path / "cache"))
    real = sklearn.utils.all_estimators
    with estimators_from_cache():
        first = sklearn.utils.all_estimators()  # walks, stores
        cached = sklearn.utils.all_estimators()  # from the entry: stand-ins
        other = []
        thread = threading.Thread(target=lambda: other.extend(sklearn.utils.all_estimators()))
        thread.start()
        thread.join()
        filtered = sklearn.utils.all_estimators(type_filter="classifier")
    assert sklearn.utils.all_estimators is real
    assert [(n, c.__module__, c.__name__) for n, c in cached] == [
        (n, c.__module__, c.__name__) for n, c in first
    ]
    assert not any(issubclass(c, BaseEstimator) for _, c in cached)
    assert all(issubclass(c, BaseEstimator) for _, c in other + filtered)
    assert len(other) == len(first)
