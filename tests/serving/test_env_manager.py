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
