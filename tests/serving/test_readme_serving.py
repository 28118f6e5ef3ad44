"""The README's serving example works as written: the model its Python example saves, served,
answers the README's curl request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from serving_helpers import run_server

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_curl_request_gets_predictions(tmp_path):
    first_block = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    (tmp_path / "save.py").write_text(first_block)
    done = subprocess.run([sys.executable, "save.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    serving = re.search(r"## Serving.*?```bash\n(.*?)```", README, flags=re.S).group(1)
    assert "saveur serve -m my_model" in serving
    body = re.search(r"-d '(.*?)'", serving, flags=re.S).group(1)
    with run_server(tmp_path / "my_model") as server:
        request = urllib.request.Request(
            f"{server.url}/invocations", data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
    assert set(answer) == {"predictions"} and len(answer["predictions"]) == 1


def test_docs_serving_array_columns_example_runs(tmp_path):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "serving.md").read_text()
    block = re.search(r"<!-- array-columns example.*?```python\n(.*?)```", docs,
                      flags=re.S).group(1)
    (tmp_path / "example.py").write_text(block)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "('sepal length (cm)', 'sepal width (cm)'" in done.stdout
