"""Entry-point discovery from real installs: saveur-echo and saveur-broken are installed
distributions in this environment (see tox.ini's integration env)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)


@pytest.fixture(autouse=True)
def _need_installed_test_plugins():
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("saveur-echo")
        distribution("saveur-broken")
    except PackageNotFoundError:
        pytest.skip("saveur-echo/saveur-broken not installed (run through tox -e integration)")


def test_installed_plugin_is_found_through_its_entry_point():
    out = _run("from saveur.plugins import get_plugins; p = get_plugins(); "
               "print(p.flavor_info('echo').distribution)")
    assert out.stdout.strip() == "saveur-echo", out.stderr


def test_broken_plugin_is_reported_by_name_and_the_rest_works(tmp_path):
    code = (
        "import saveur, saveur_echo; "
        f"saveur.save_model(saveur_echo.EchoModel(2.0), {str(tmp_path / 'm')!r}); "
        f"print(saveur.pyfunc.load_model({str(tmp_path / 'm')!r}).predict(4.0))"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "8.0"
    assert "saveur plugin 'broken' (saveur-broken) failed to load" in out.stderr
    assert "saveur_framework_that_does_not_exist" in out.stderr


def test_cli_flavors_lists_installed_and_failed_plugins():
    out = subprocess.run([sys.executable, "-m", "saveur", "flavors", "--json"],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    keys = {row["flavor"]: row for row in doc["flavors"]}
    assert keys["echo"]["distribution"] == "saveur-echo"
    assert keys["echo"]["version"] == "0.1.0"
    assert keys["python_function"]["source"] == "builtin"
    assert [f["name"] for f in doc["failed"]] == ["broken"]


def test_disabling_the_broken_plugin_silences_it():
    out = _run("from saveur.plugins import get_plugins; print(len(get_plugins().failed))",
               SAVEUR_DISABLE_PLUGINS="broken")
    assert out.stdout.strip() == "0" and "failed to load" not in out.stderr
