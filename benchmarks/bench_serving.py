"""Scoring server side by side: `saveur serve` against `mlflow models serve --env-manager local`.

The same fitted LogisticRegression (10 double columns) is saved once by each library and
served on 127.0.0.1 by each CLI, one server at a time, on the same machine in one run:

- startup: spawn to the first 200 on /ping (median of 3, fresh process each);
- 1-row requests (dataframe_split), 8 concurrent clients: req/s, p50, p99, for saveur
  without batching, saveur with batching, and MLflow;
- 1,000-row requests, 8 concurrent clients: req/s;
- soak: saveur's resident memory (process tree) at the 10th and 30th second of 1-row load.

The load generator is wrk (2 threads, 8 connections, keep-alive) when installed, else a
Python client with 8 threads (slower, and sharing the CPU with the server: note printed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, have, print_table, quick, ratio

COLUMNS = [f"f{i}" for i in range(10)]
CLIENTS = 8
BATCH_ARGS = ["--max-batch-size", "64"]


# --- models ---------------------------------------------------------------------------------


def _models(root: Path) -> dict[str, Path]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(500, len(COLUMNS)), columns=COLUMNS)
    y = ((x["f0"] + x["f1"]) > 1.0).astype("int64")
    model = LogisticRegression().fit(x, y)
    paths = {}
    import saveur_sklearn
    from saveur.signature import infer_signature

    paths["saveur"] = root / "saveur_model"
    saveur_sklearn.save_model(model, paths["saveur"],
                              signature=infer_signature(x, model.predict(x)))
    if have("mlflow"):
        import mlflow.sklearn
        from mlflow.models import infer_signature as mlflow_signature

        paths["mlflow"] = root / "mlflow_model"
        mlflow.sklearn.save_model(model, str(paths["mlflow"]),
                                  signature=mlflow_signature(x, model.predict(x)))
    return paths


# --- servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(kind: str, model: Path, port: int, extra: list[str]) -> list[str]:
    if kind == "saveur":
        # default log level: one INFO line per request, as MLflow's uvicorn access log
        return [sys.executable, "-m", "saveur", "serve", "-m", str(model), "--port", str(port),
                *extra]
    mlflow = Path(sys.executable).with_name("mlflow")
    return [str(mlflow), "models", "serve", "-m", str(model), "--env-manager", "local",
            "--port", str(port), "--host", "127.0.0.1"]


class _Server:
    def __init__(self, kind: str, model: Path, extra: list[str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        self.process = subprocess.Popen(
            _command(kind, model, self.port, extra or []), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
            # mlflow models serve runs `uvicorn` by name: the env's bin must be on PATH.
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
        deadline = started + 120
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{kind} server exited with {self.process.returncode}"
                    ) from None
                time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError(f"{kind} server did not answer /ping within 120 s")
        self.startup = time.perf_counter() - started

    def rss_bytes(self) -> int:
        """Resident memory of the server and its children (MLflow runs uvicorn as a child)."""
        return tree_rss(self.process.pid)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tree_rss(pid: int) -> int:
    """Resident memory of process ``pid`` and all its descendants, in bytes."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _tree(pid: int) -> list[int]:
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pids
    for child in children:
        pids += _tree(int(child))
    return pids


# --- load ------------------------------------------------------------------------------------


def _body(rows: int) -> bytes:
    import numpy as np

    data = np.random.RandomState(1).rand(rows, len(COLUMNS)).round(6).tolist()
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": data}}).encode()


def _load(url: str, body: bytes, seconds: float) -> dict[str, float]:
    """req/s, p50 and p99 latency (seconds), and the number of failed requests."""
    if shutil.which("wrk"):
        return _wrk(url, body, seconds)
    return _python_load(url, body, seconds)


def _wrk(url: str, body: bytes, seconds: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                     f"wrk.body = {json.dumps(body.decode())}\n")
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{CLIENTS}", f"-d{int(seconds)}s", "--latency", "-s",
             script.name, url + "/invocations"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    errors = 0.0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += float(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(float(g) for g in m.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _wrk_time(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _wrk_time(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "errors": errors,
    }


def _wrk_time(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def _python_load(url: str, body: bytes, seconds: float) -> dict[str, float]:
    import http.client

    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            connection.request("POST", "/invocations", body,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": float(errors[0]),
    }


# --- report ----------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f} ms"


def _rps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}/s"


def main() -> int:
    duration = 5.0 if quick() else 15.0
    repeats = 1 if quick() else 3
    if not shutil.which("wrk"):
        print("note: wrk is not installed; a Python client generates the load "
              "(it shares the CPU with the server, so rates are lower for both sides)")
    if not have("mlflow"):
        print("note: MLflow is not installed here; its columns read n/a")
    with tempfile.TemporaryDirectory() as tmp:
        models = _models(Path(tmp))
        kinds = [k for k in ("saveur", "mlflow") if k in models]

        startup: dict[str, float] = {}
        for kind in kinds:
            times = []
            for _ in range(repeats):
                with _Server(kind, models[kind]) as server:
                    times.append(server.startup)
            startup[kind] = statistics.median(times)
        print_table(
            f"startup to first 200 on /ping (median of {repeats}, fresh process)",
            ["case", "saveur", "mlflow", "target", "mlflow/saveur"],
            [["spawn -> /ping 200", _ms(startup["saveur"]), _ms(startup.get("mlflow")),
              "<1.5 s", fmt_ratio(ratio(startup.get("mlflow"), startup["saveur"]))]],
        )

        one_row, thousand = _body(1), _body(1000)
        results: dict[str, dict[str, float]] = {}
        soak: dict[str, float] = {}
        cases = [("saveur", models["saveur"], []), ("saveur+batch", models["saveur"], BATCH_ARGS)]
        if "mlflow" in models:
            cases.append(("mlflow", models["mlflow"], []))
        for name, model, extra in cases:
            kind = "saveur" if name.startswith("saveur") else "mlflow"
            with _Server(kind, model, extra) as server:
                _load(server.url, one_row, 2.0)  # warm-up
                results[name] = _load(server.url, one_row, duration)
                results[name + "/1000"] = _load(server.url, thousand, duration)
                if name == "saveur":
                    soak = _soak(server, one_row)
        mlflow = results.get("mlflow")
        rows = []
        for name, target in (("saveur", ">=5x rps"), ("saveur+batch", ">=10x rps")):
            r = results[name]
            rows.append([
                name, _rps(r["rps"]), _ms(r["p50"]), _ms(r["p99"]), f"{r['errors']:.0f}",
                _rps(mlflow["rps"]) if mlflow else "n/a",
                _ms(mlflow["p50"]) if mlflow else "n/a",
                _ms(mlflow["p99"]) if mlflow else "n/a",
                target, fmt_ratio(ratio(r["rps"], mlflow["rps"] if mlflow else None)),
            ])
        print_table(
            f"1-row requests, {CLIENTS} concurrent clients, {duration:.0f} s "
            f"(batching: {' '.join(BATCH_ARGS)})",
            ["case", "req/s", "p50", "p99", "errors", "mlflow req/s", "mlflow p50",
             "mlflow p99", "target", "saveur/mlflow"],
            rows,
        )
        m1000 = results.get("mlflow/1000")
        print_table(
            f"1000-row requests, {CLIENTS} concurrent clients, {duration:.0f} s",
            ["case", "saveur req/s", "saveur p50", "errors", "mlflow req/s", "mlflow p50",
             "target", "saveur/mlflow"],
            [[name, _rps(results[name + "/1000"]["rps"]), _ms(results[name + "/1000"]["p50"]),
              f"{results[name + '/1000']['errors']:.0f}",
              _rps(m1000["rps"]) if m1000 else "n/a", _ms(m1000["p50"]) if m1000 else "n/a",
              ">=5x", fmt_ratio(ratio(results[name + "/1000"]["rps"],
                                      m1000["rps"] if m1000 else None))]
             for name in ("saveur", "saveur+batch")],
        )
        print_table(
            "soak: saveur server memory (RSS of the process tree) under 1-row load",
            ["case", "at 10 s", "at 30 s", "growth", "limit", "at30/at10"],
            [["saveur serve", f"{soak['10'] / 2**20:.1f} MiB", f"{soak['30'] / 2**20:.1f} MiB",
              f"{(soak['30'] / soak['10'] - 1) * 100:+.1f}%", "<=10%",
              fmt_ratio(soak["30"] / soak["10"])]],
        )
    return 0


def _soak(server: _Server, body: bytes) -> dict[str, float]:
    """RSS at the 10th and 30th second of a 30-second 1-row load."""
    marks: dict[str, float] = {}

    def sample() -> None:
        t0 = time.perf_counter()
        for second in (10, 30):
            time.sleep(max(0.0, t0 + second - 0.5 - time.perf_counter()))
            marks[str(second)] = float(server.rss_bytes())

    sampler = threading.Thread(target=sample)
    sampler.start()
    _load(server.url, body, 30.0)
    sampler.join()
    return marks


if __name__ == "__main__":
    sys.exit(main())
