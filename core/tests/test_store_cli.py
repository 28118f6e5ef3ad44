"""``saveur runs ...`` and ``saveur models list|versions|register|alias``."""

from __future__ import annotations

import json

import pytest

import saveur
import saveur.store as st
from saveur.cli import main
from saveur.pyfunc import PythonModel
from saveur.store import _db


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("SAVEUR_STORE_URI", raising=False)
    uri = str(tmp_path / "store")
    st.set_store_uri(uri)
    yield uri
    st.set_store_uri(None)
    _db.close_stores()


@pytest.fixture
def logged(store):
    with st.start_run(name="train") as run:
        st.log_param("lr", 0.1)
        st.log_metric("acc", 0.9)
        info = st.log_model(Echo(), "model", flavor="python_function")
    return run.info.run_id, info


def test_runs_list_table_and_json(logged, store, capsys) -> None:
    run_id, _ = logged
    assert main(["runs", "list", "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["RUN_ID", "NAME", "STATUS", "START"]
    assert run_id in out and "FINISHED" in out
    assert main(["runs", "list", "--json", "--filter", "metrics.acc > 0.5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["info"]["run_id"] for r in data] == [run_id]


def test_runs_show(logged, capsys) -> None:
    run_id, _ = logged
    assert main(["runs", "show", run_id]) == 0
    out = capsys.readouterr().out
    assert "lr = 0.1" in out and "acc = 0.9" in out and "model/" in out
    assert main(["runs", "show", run_id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data"]["params"] == {"lr": "0.1"} and data["artifacts"] == ["model/"]


def test_runs_show_unknown_run_fails_with_message(store, capsys) -> None:
    assert main(["runs", "show", "0" * 32]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_models_register_alias_list_versions(logged, capsys) -> None:
    _, info = logged
    assert main(["models", "register", info.model_uri, "echo", "--tag", "k=v"]) == 0
    assert "registered echo version 1 (models:/echo/1)" in capsys.readouterr().out
    assert main(["models", "register", info.model_uri, "echo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 2
    assert main(["models", "alias", "echo", "champion", "1"]) == 0
    assert "models:/echo@champion -> version 1" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "echo" in out and "champion=1" in out
    assert main(["models", "versions", "echo", "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["aliases"]) for v in versions] == [(2, []), (1, ["champion"])]
    assert versions[1]["tags"] == {"k": "v"}
    assert main(["models", "versions", "echo"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("VERSION")


def test_models_register_local_path_records_absolute_source(store, tmp_path, monkeypatch,
                                                             capsys) -> None:
    saveur.save_model(Echo(), tmp_path / "m", flavor="python_function")
    monkeypatch.chdir(tmp_path)
    assert main(["models", "register", "m", "local"]) == 0
    assert st.get_model_version("local", 1).source == str(tmp_path / "m")


def test_models_cli_errors(store, capsys) -> None:
    assert main(["models", "versions", "nope"]) == 1
    assert "registered model 'nope' does not exist" in capsys.readouterr().err
    assert main(["models", "register", "/x", "m", "--tag", "novalue"]) == 1
    assert "must look like KEY=VALUE" in capsys.readouterr().err
    assert main(["models", "alias", "nope", "a", "1"]) == 1
    assert "does not exist" in capsys.readouterr().err
