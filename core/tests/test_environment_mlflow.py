"""The env files saveur writes are byte-identical to the ones real MLflow writes.

Runs in an interpreter that has MLflow 3 installed, named by ``SAVEUR_MLFLOW_PYTHON``
(skipped otherwise): there, MLflow's own ``_process_pip_requirements``, ``_PythonEnv`` and conda
writer produce the reference files and saveur writes its files next to them, so both see the
same Python, pip, setuptools and wheel. MLflow pins ``mlflow`` where saveur pins ``saveur``;
that one line is swapped before comparing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import saveur.environment

pytestmark = pytest.mark.mlflow

MLFLOW_PYTHON = os.environ.get("SAVEUR_MLFLOW_PYTHON")

_SCRIPT = r"""
import json, os, sys
import yaml
from mlflow.utils.environment import _PythonEnv, _process_pip_requirements
from mlflow.version import VERSION
from saveur.environment import resolve_requirements, saveur_requirement, write_environment_files

cases, root = json.loads(sys.argv[1]), sys.argv[2]
for index, (inferred, extra) in enumerate(cases):
    ref = os.path.join(root, f"mlflow-{index}")
    ours = os.path.join(root, f"saveur-{index}")
    os.makedirs(ref)
    os.makedirs(ours)
    # What mlflow.pyfunc.save_model does with inferred requirements (sorted) and extras.
    conda_env, reqs, _ = _process_pip_requirements(sorted(inferred), None, extra)
    with open(os.path.join(ref, "conda.yaml"), "w") as f:
        yaml.safe_dump(conda_env, stream=f, default_flow_style=False)
    with open(os.path.join(ref, "requirements.txt"), "w") as f:
        f.write("\n".join(reqs))
    _PythonEnv.current().to_yaml(os.path.join(ref, "python_env.yaml"))
    write_environment_files(ours, resolve_requirements(inferred, extra_pip_requirements=extra))
print(json.dumps({"mlflow_pin": f"mlflow=={VERSION}", "saveur_pin": saveur_requirement()}))
"""

CASES = [
    (["scikit-learn==1.5.0", "numpy==1.26.4"], None),
    ([], None),
    (
        ["numpy==1.26.4"],
        [
            "pkg @ git+https://x.org/a.git#egg=pkg",
            "a; python_version < '3.12'",
            "--extra-index-url https://x.example/simple",
            "b[x,y] >= 1, <2",
            "c>1",
            "c<3",
        ],
    ),
]


@pytest.mark.skipif(not MLFLOW_PYTHON, reason="set SAVEUR_MLFLOW_PYTHON to a Python with mlflow")
def test_env_files_are_byte_identical_to_mlflows(tmp_path: Path) -> None:
    src = Path(saveur.environment.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(src), "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK": "true"}
    done = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", _SCRIPT, json.dumps(CASES), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    pins = json.loads(done.stdout.strip().splitlines()[-1])
    for index in range(len(CASES)):
        for name in ("requirements.txt", "python_env.yaml", "conda.yaml"):
            reference = (tmp_path / f"mlflow-{index}" / name).read_text()
            ours = (tmp_path / f"saveur-{index}" / name).read_text()
            assert ours == reference.replace(pins["mlflow_pin"], pins["saveur_pin"]), (index, name)
