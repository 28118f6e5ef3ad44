"""Loading a skops model does not import array frameworks the process does not use.

The premise: importing ``skops.io`` walks scikit-learn's packages, and that walk imports the
array-API adapter of every framework scikit-learn vendors one for (``...array_api_compat.cupy``
imports ``cupy``, ``.torch`` imports ``torch``). A fake ``cupy`` on the path stands in for a
heavy framework: it records that it was imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from saveur_sklearn._skops_import import ADAPTERS, _AdapterBlocker, import_skops_io


@pytest.fixture
def fake_framework(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An env whose ``cupy`` is a fake that writes a marker file when imported."""
    package = tmp_path / "fakes" / "cupy"
    package.mkdir(parents=True)
    marker = tmp_path / "cupy-was-imported"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(package.parent), *sys.path])
    return env, marker


def _run(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_loading_a_skops_model_does_not_import_unused_frameworks(fake_framework, tmp_path, logreg):
    env, marker = fake_framework
    _run("import skops.io", env)
    if not marker.exists():
        pytest.skip("this skops/scikit-learn pair no longer imports the array-API adapters")
    marker.unlink()

    import saveur_sklearn

    model_dir = tmp_path / "model"
    saveur_sklearn.save_model(logreg, model_dir)
    out = _run(
        "import sys, numpy as np, saveur\n"
        f"m = saveur.pyfunc.load_model({str(model_dir)!r})\n"
        "print(m.predict(np.zeros((2, 5))).tolist())\n"
        "print('cupy' in sys.modules)\n",
        env,
    )
    predictions, cupy_imported = out.splitlines()
    assert len(json.loads(predictions)) == 2
    assert cupy_imported == "False"
    assert not marker.exists()


def test_the_trusted_type_lists_do_not_change(fake_framework):
    env, _ = fake_framework
    code = (
        "import json{imp}\n"
        "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names\n"
        "from saveur_sklearn._trust import _estimator_names\n"
        "print(json.dumps([sorted(names), sorted(_estimator_names())]))\n"
    )
    guarded = json.loads(
        _run(
            code.format(
                imp="\nfrom saveur_sklearn._skops_import import import_skops_io\nimport_skops_io()"
            ),
            env,
        )
    )
    plain = json.loads(_run(code.format(imp="\nimport skops.io"), env))
    assert guarded == plain
    assert len(guarded[0]) > 100  # the estimators really were collected


def test_blocker_refuses_only_adapters_of_frameworks_not_in_use():
    blocker = _AdapterBlocker()
    with pytest.raises(ModuleNotFoundError, match="not in use in this process") as info:
        blocker.find_spec(ADAPTERS + "saveur_no_such_framework", None)
    assert info.value.name == ADAPTERS + "saveur_no_such_framework"
    with pytest.raises(ModuleNotFoundError):
        blocker.find_spec(ADAPTERS + "saveur_no_such_framework.linalg", None)
    # not an adapter, or the shared parts, or a framework already imported: left to the import
    assert blocker.find_spec("saveur_no_such_framework", None) is None
    assert blocker.find_spec(ADAPTERS + "common._helpers", None) is None
    assert blocker.find_spec(ADAPTERS + "numpy", None) is None
    assert blocker.find_spec(ADAPTERS + "json", None) is None  # json is in sys.modules


def test_blocker_leaves_other_threads_alone():
    blocker = _AdapterBlocker()
    seen: list[object] = []
    thread = threading.Thread(
        target=lambda: seen.append(blocker.find_spec(ADAPTERS + "saveur_no_such_fw", None))
    )
    thread.start()
    thread.join()
    assert seen == [None]


def test_import_leaves_no_finder_behind():
    before = list(sys.meta_path)
    module = import_skops_io()
    assert module is sys.modules["skops.io"]
    assert sys.meta_path == before
    assert not any(isinstance(f, _AdapterBlocker) for f in sys.meta_path)
