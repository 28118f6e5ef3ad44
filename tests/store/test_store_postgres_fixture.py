"""The PostgreSQL fixture skips visibly without a server, and fails instead under CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = '''
def test_probe(postgres_server):
    pass
'''


def _run_probe(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    here = Path(__file__).parent
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "conftest.py").write_text((here / "conftest.py").read_text())
    (probe_dir / "test_probe.py").write_text(_PROBE)
    env = {**os.environ, "SAVEUR_PG_BINDIR": str(tmp_path / "no-binaries-here")}
    env.pop("SAVEUR_REQUIRE_POSTGRES", None)
    if require:
        env["SAVEUR_REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", str(probe_dir)],
        capture_output=True, text=True, env=env, cwd=probe_dir,
    )


def test_missing_postgres_skips_with_reason(tmp_path) -> None:
    result = _run_probe(tmp_path, require=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout
    assert "PostgreSQL unavailable: initdb/pg_ctl not found" in result.stdout


def test_missing_postgres_fails_when_required(tmp_path) -> None:
    result = _run_probe(tmp_path, require=True)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "SAVEUR_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable" in result.stdout
