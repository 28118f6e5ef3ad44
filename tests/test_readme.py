"""The README's examples and the quick start's main job run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_quick_start_has_exactly_two_commands():
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", README, flags=re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, ".ci/run must call the README's test command"


def test_quick_start_main_job_runs(tmp_path):
    pytest.importorskip("saveur_sklearn")
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "predictions from models:/iris@champion" in out.stdout
    assert (tmp_path / "saveur-store").is_dir()
    # a second run registers version 2 on the same store
    again = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "registered iris version 2" in again.stdout


def test_readme_python_examples_run_in_order(tmp_path):
    pytest.importorskip("saveur_sklearn")
    script = "\n".join(_python_blocks())
    (tmp_path / "readme_examples.py").write_text(script)
    out = subprocess.run([sys.executable, "readme_examples.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
