from __future__ import annotations

import json

import pytest

import saveur
from saveur.cli import main


@pytest.fixture
def saved(tmp_path, echo_model):
    saveur.save_model(echo_model, tmp_path / "m")
    return tmp_path / "m"


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"saveur {saveur.__version__}"


def test_flavors_lists_builtin_and_registered(capsys):
    assert main(["flavors"]) == 0
    out = capsys.readouterr().out
    assert "python_function" in out and "saveur-echo" in out


def test_models_show(saved, capsys):
    assert main(["models", "show", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "echo" in out and "saveur-echo==0.1.0" in out and "integrity:  ok (4 files verified)" in out


def test_models_show_json(saved, capsys):
    assert main(["models", "show", "--json", str(saved)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["flavors"]["echo"]["data"] == "echo.json"


def test_models_verify_and_reseal(saved, capsys):
    assert main(["models", "verify", str(saved)]) == 0
    (saved / "requirements.txt").write_text("saveur-echo==0.1.0\n")
    assert main(["models", "verify", str(saved)]) == 1
    err = capsys.readouterr().err
    assert "error: model file 'requirements.txt' does not match" in err
    assert main(["models", "show", str(saved)]) == 1
    assert main(["models", "reseal", str(saved)]) == 0
    assert main(["models", "verify", str(saved)]) == 0


def test_error_is_one_line_with_exit_status_1(tmp_path, capsys):
    assert main(["models", "show", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err.startswith("error: no model at")


def test_the_process_entry_returns_the_status_and_freezes_what_is_left(monkeypatch):
    import gc

    import saveur.cli as cli

    monkeypatch.setattr(cli, "main", lambda: 3)
    try:
        assert cli.run() == 3
        assert gc.get_freeze_count() > 0  # shutdown will not walk these objects
    finally:
        gc.unfreeze()
