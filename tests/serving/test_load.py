"""A 30-second wrk load on /invocations: every request answered, no errors."""

from __future__ import annotations

import json
import re
import subprocess

from serving_helpers import COLUMNS, require_tool

ROW = [0.5] * len(COLUMNS)


def test_thirty_seconds_of_wrk_load_without_errors(column_server, tmp_path):
    wrk = require_tool("wrk", "apt-get install -y wrk", "SAVEUR_REQUIRE_WRK")
    body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [ROW]}})
    script = tmp_path / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    result = subprocess.run(
        [wrk, "-t2", "-c8", "-d30s", "--latency", "-s", str(script),
         column_server.url + "/invocations"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    out = result.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert requests > 0, out
    assert "Non-2xx or 3xx responses" not in out, out
    assert "Socket errors" not in out, out
    import httpx

    assert httpx.get(column_server.url + "/ping").status_code == 200
