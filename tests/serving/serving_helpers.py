"""Helpers of the server tests: start and stop `saveur serve` on a free port; tool checks."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

N_FEATURES = 10
COLUMNS = [f"f{i}" for i in range(N_FEATURES)]
_READY = re.compile(r"serving on (http://\S+?);")


def require_tool(name: str, install: str, require_env: str) -> str:
    """The path of ``name``; skip with the reason outside CI, fail under CI.

    Under CI (``CI=true``, or ``require_env`` set to 1 as ``.ci/run`` does) a missing tool is
    a failure, never a skip.
    """
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it: {install})"
        if os.environ.get("CI") == "true" or os.environ.get(require_env) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


class Server:
    """A ``saveur serve`` process; ``url`` is its base URL, ``log`` what it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.process = process
        self.url = url
        self.lines = lines

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@contextmanager
def run_server(
    model: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    model_uri: str | None = None,
) -> Iterator[Server]:
    """Start ``saveur serve`` on a free port of 127.0.0.1 and stop it (SIGTERM) afterwards."""
    uri = model_uri if model_uri is not None else str(model)
    command = [sys.executable, "-m", "saveur", "serve", "-m", uri, "--port", "0", *args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = _READY.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1) and time.monotonic() < deadline:
        pass
    if not found:
        process.kill()
        process.wait()
        raise RuntimeError("saveur serve did not start:\n" + "".join(lines))
    server = Server(process, found[0], lines)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


