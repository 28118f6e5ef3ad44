"""The main README's ```python torch``` example runs as written (here, where the plugin is installed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_torch_example_runs(tmp_path):
    blocks = re.findall(r"```python torch\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1, "the README has one ```python torch block"
    (tmp_path / "example.py").write_text(blocks[0])
    out = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
