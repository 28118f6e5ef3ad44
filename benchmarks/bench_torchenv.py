"""A scikit-learn server in an env that also has torch, against the same in an env without.

One environment for several frameworks is common. The same LogisticRegression (10 double
columns, skops) is served by `saveur serve` from the benchmark env (torch 2.13 and the torch,
onnx and fastai plugins installed) and from `.bench/notorch-venv` (saveur and saveur-sklearn
only, every shared package at the same version), one server at a time, after one unmeasured
start in each env, the two envs alternating over 5 rounds (1 with --quick), their order
swapped every round:

- startup: spawn to the first 200 on /ping;
- idle memory: resident memory of the server process after one scoring request and 2 s idle;
- whether torch is in the server's process (a /proc/<pid>/maps check for libtorch).

Target (issue 15): both within 10% of the env without torch (ratio <= 1.10x).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ratio, print_table, quick, ratio
from _envs import ensure_notorch_env
from bench_serving import COLUMNS, _free_port, _tree, tree_rss


def _model(root: Path) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(500, len(COLUMNS)), columns=COLUMNS)
    y = ((x["f0"] + x["f1"]) > 1.0).astype("int64")
    model = LogisticRegression().fit(x, y)
    path = root / "model"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)))
    return path


def _has_torch(pid: int) -> bool:
    for p in _tree(pid):
        try:
            if "libtorch" in Path(f"/proc/{p}/maps").read_text():
                return True
        except OSError:
            pass
    return False


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere).

    Wall time to the first 200 swings by a third on this shared VM within minutes (another
    guest's load, CPU steal); the CPU the process itself spent to get there does not count
    the waiting, so it compares the two envs' startup work more steadily."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve_once(python: Path, model: Path) -> dict[str, float]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(python), "-m", "saveur", "serve", "-m", str(model), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = started + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/ping", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"server from {python} did not start") from None
                time.sleep(0.02)
        startup = time.perf_counter() - started
        startup_cpu = _cpu_seconds(process.pid)
        body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[0.5] * 10]}})
        request = urllib.request.Request(
            url + "/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        time.sleep(2.0)
        return {
            "startup": startup,
            "startup_cpu": startup_cpu,
            "rss": float(tree_rss(process.pid)),
            "torch": float(_has_torch(process.pid)),
        }
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    envs = {"with torch": Path(sys.executable), "without torch": ensure_notorch_env()}
    rounds = 1 if quick() else 5
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in envs}
    with tempfile.TemporaryDirectory() as tmp:
        model = _model(Path(tmp))
        # one unmeasured start each (first reads of each env's files, its estimator cache),
        # then the order swapped every round, so neither env always follows the other
        for python in envs.values():
            _serve_once(python, model)
        for i in range(rounds):
            for name in (list(envs) if i % 2 == 0 else list(envs)[::-1]):
                samples[name].append(_serve_once(envs[name], model))

    def med(name: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[name])

    torch_loaded = any(s["torch"] for s in samples["with torch"])
    print(f"torch in the server process of the env with torch: {'yes' if torch_loaded else 'no'}")
    print_table(
        f"saveur serve of a scikit-learn model, env with torch vs without (median of {rounds})",
        ["case", "with torch", "without torch", "target", "with/without"],
        [
            [
                "startup, spawn -> /ping 200",
                f"{med('with torch', 'startup') * 1e3:.0f} ms",
                f"{med('without torch', 'startup') * 1e3:.0f} ms",
                "<=1.10x",
                fmt_ratio(ratio(med("with torch", "startup"), med("without torch", "startup"))),
            ],
            [
                "startup CPU time (user + system)",
                f"{med('with torch', 'startup_cpu') * 1e3:.0f} ms",
                f"{med('without torch', 'startup_cpu') * 1e3:.0f} ms",
                "<=1.10x",
                fmt_ratio(ratio(med("with torch", "startup_cpu"),
                                med("without torch", "startup_cpu"))),
            ],
            [
                "idle RSS after one request",
                f"{med('with torch', 'rss') / 2**20:.0f} MB",
                f"{med('without torch', 'rss') / 2**20:.0f} MB",
                "<=1.10x",
                fmt_ratio(ratio(med("with torch", "rss"), med("without torch", "rss"))),
            ],
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
