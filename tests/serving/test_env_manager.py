"""`saveur serve --env-manager uv` builds the model's environment and serves from it."""

from __future__ import annotations

import shutil

import httpx
import pytest
from serving_helpers import COLUMNS, run_server


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed")
def test_serving_in_a_uv_environment_built_from_the_model_requirements(column_model, tmp_path):
    cache = tmp_path / "envs"
    with run_server(column_model, "--env-manager", "uv",
                    env={"SAVEUR_ENV_CACHE": str(cache)}, timeout=600) as server:
        response = httpx.post(server.url + "/invocations", json={
            "dataframe_split": {"columns": COLUMNS, "data": [[0.5] * len(COLUMNS)]}})
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 1
    (env,) = cache.iterdir()
    assert "built the environment at" in server.log
    # the server ran on the env's interpreter, with saveur installed from a local wheel
    site = next(env.glob("lib/python*/site-packages"))
    assert (site / "saveur").is_dir() and (site / "saveur_sklearn").is_dir()
    assert not (site / "saveur").is_symlink()


def test_local_env_manager_warns_about_requirements_this_environment_lacks(tmp_path):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn

    x = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9], "b": [1.0, 0.0, 0.8, 0.1]})
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    path = tmp_path / "pinned"
    saveur_sklearn.save_model(model, path,
                              extra_pip_requirements=["surely-not-installed-dist==1.0"])
    with run_server(path) as server:
        assert httpx.get(server.url + "/ping").status_code == 200
    assert "surely-not-installed-dist==1.0 required, not installed" in server.log
    assert "--env-manager uv" in server.log
