"""A real headless Chromium loads /docs: Swagger UI renders the operations and the example."""

from __future__ import annotations

import subprocess

import pytest
from serving_helpers import require_tool

pytestmark = pytest.mark.browser

_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--virtual-time-budget=15000", "--window-size=1280,2200",
]


def _chromium(tmp_path, *args):
    binary = require_tool("chromium", "apt-get install -y --no-install-recommends chromium",
                          "SAVEUR_REQUIRE_BROWSER")
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run(
        [binary, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_swagger_page_renders_every_operation(column_server, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", column_server.url + "/docs")
    assert "swagger-ui" in dom
    assert 'class="opblock ' in dom or "opblock-summary" in dom, "no operation was rendered"
    for path in ("/invocations", "/ping", "/v2/models/lr/infer", "/openapi.json"):
        assert f'data-path="{path}"' in dom, f"operation {path} is not on the page"
    assert "Failed to load API definition" not in dom


def test_screenshot_of_the_invocations_operation_with_its_example(column_server, tmp_path):
    # The deep link opens the operation, which shows the request example.
    url = column_server.url + "/docs#/scoring/invocations"
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert "dataframe_split" in dom, "the request example is not shown"
    shot = tmp_path / "docs.png"
    _chromium(tmp_path, f"--screenshot={shot}", url)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, "the screenshot looks blank"


def test_a_missing_tool_skips_outside_ci_and_fails_under_ci(monkeypatch):
    from serving_helpers import require_tool as require

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("SAVEUR_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require("chromium", "apt-get install chromium", "SAVEUR_REQUIRE_BROWSER")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        require("chromium", "apt-get install chromium", "SAVEUR_REQUIRE_BROWSER")
    monkeypatch.delenv("CI")
    monkeypatch.setenv("SAVEUR_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception):
        require("chromium", "apt-get install chromium", "SAVEUR_REQUIRE_BROWSER")
