"""Regenerate the pinned constraints each tox environment installs against.

Run on purpose, when a dependency should move: ``python3 constraints/update.py [ENV ...]``.
For each env it builds the env afresh without constraints (``tox -e ENV -r --notest`` with
``SAVEUR_CONSTRAINTS=`` set empty), then writes ``constraints/ENV.txt`` from what uv resolved there. The
project's own distributions (installed from this checkout) are left out. Review the diff and
run the tests before committing: that is the moment drift is met, instead of on a fresh
machine some later day. The ``latest`` env never uses constraints, so CI shows drift early.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = ("saveur",)  # saveur, saveur-sklearn, saveur-echo, ... come from this checkout


def _envs() -> list[str]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    listed = [e.strip() for e in cfg["tox"]["env_list"].replace("\n", ",").split(",")]
    return [e for e in listed if e and e != "latest"]


def _freeze(env: str) -> list[str]:
    python = ROOT / ".tox" / env / "bin" / "python"
    out = subprocess.run(
        ["uv", "pip", "freeze", "--python", str(python)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = []
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith(("-e", "#")) or " @ " in line:
            continue
        name = line.split("==")[0].lower().replace("_", "-")
        if name.startswith(OWN):
            continue
        pins.append(line.split("+")[0] if name == "torch" else line)
    return sorted(pins, key=str.lower)


def main(argv: list[str]) -> int:
    envs = argv or _envs()
    env = {**os.environ, "SAVEUR_CONSTRAINTS": ""}  # tox.ini: no UV_CONSTRAINT
    for name in envs:
        subprocess.run(
            [sys.executable, "-m", "tox", "-e", name, "-r", "--notest"], check=True, env=env
        )
        pins = _freeze(name)
        header = f"# Pinned by constraints/update.py for tox env '{name}'; edit by rerunning it.\n"
        (ROOT / "constraints" / f"{name}.txt").write_text(header + "\n".join(pins) + "\n")
        print(f"constraints/{name}.txt: {len(pins)} pins")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
