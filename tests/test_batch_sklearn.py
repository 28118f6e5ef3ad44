"""`saveur predict` end to end on a scikit-learn model: real command runs, files, pipes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("saveur_sklearn")

COLUMNS = [f"f{i}" for i in range(10)]
README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    import saveur_sklearn
    from saveur.signature import infer_signature

    rng = np.random.RandomState(0)
    x = pd.DataFrame(rng.rand(500, 10), columns=COLUMNS)
    y = ((x["f0"] + x["f1"]) > 1.0).astype("int64")
    model = LogisticRegression().fit(x, y)
    path = tmp_path_factory.mktemp("models") / "logreg"
    saveur_sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x)))
    return path, model, x


def _saveur(*args: str, stdin: bytes | None = None, cwd: Path | None = None):
    return subprocess.run([sys.executable, "-m", "saveur", *args], input=stdin,
                          capture_output=True, timeout=300, cwd=cwd)


def test_csv_file_to_csv_file_with_an_id(trained, tmp_path):
    path, model, x = trained
    x.assign(id=np.arange(len(x)) * 7).to_csv(tmp_path / "in.csv", index=False)
    done = _saveur("predict", "-m", str(path), "-i", str(tmp_path / "in.csv"),
                   "-o", str(tmp_path / "out.csv"), "--keep-columns", "id",
                   "--batch-size", "64")
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["id"].tolist() == (np.arange(len(x)) * 7).tolist()
    assert out["prediction"].tolist() == model.predict(x).tolist()
    # not a terminal: a one-line summary, no progress bar
    assert "scored 500 rows" in done.stderr.decode()
    assert "\r" not in done.stderr.decode()


def test_stdin_csv_to_stdout_json_as_mlflow_models_predict(trained):
    path, model, x = trained
    done = _saveur("predict", "-m", str(path), "-t", "csv",
                   stdin=x.head(20).to_csv(index=False).encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"] == [
        {"prediction": int(v)} for v in model.predict(x.head(20))
    ]


def test_parquet_to_parquet(trained, tmp_path):
    path, model, x = trained
    x.to_parquet(tmp_path / "in.parquet")
    done = _saveur("predict", "-m", str(path), "-i", str(tmp_path / "in.parquet"),
                   "-o", str(tmp_path / "out.parquet"), "--batch-size", "100")
    assert done.returncode == 0, done.stderr
    assert pd.read_parquet(tmp_path / "out.parquet")["prediction"].tolist() == \
        model.predict(x).tolist()


def test_jsonl_stdin_to_jsonl_stdout(trained):
    path, model, x = trained
    lines = "".join(json.dumps(r) + "\n" for r in x.head(5).to_dict(orient="records"))
    done = _saveur("predict", "-m", str(path), "--input-format", "jsonl",
                   "--output-format", "jsonl", stdin=lines.encode())
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["prediction"] for line in done.stdout.splitlines()] == \
        model.predict(x.head(5)).tolist()


def test_a_bad_row_fails_with_one_line_and_no_output(trained, tmp_path):
    path, _, x = trained
    text = x.head(50).to_csv(index=False).splitlines()
    text[31] = "oops," + text[31].split(",", 1)[1]  # data row 31, column f0
    (tmp_path / "in.csv").write_text("\n".join(text) + "\n")
    done = _saveur("predict", "-m", str(path), "-i", str(tmp_path / "in.csv"),
                   "-o", str(tmp_path / "out.csv"), "--batch-size", "8")
    assert done.returncode == 1
    # (the integration env holds a broken test plugin, whose warning comes first)
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert re.search(r"in\.csv row 31: column 'f0' expects double", errors[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_skip_scores_the_good_rows(trained, tmp_path):
    path, model, x = trained
    text = x.head(30).to_csv(index=False).splitlines()
    text[5] = "bad," + text[5].split(",", 1)[1]
    (tmp_path / "in.csv").write_text("\n".join(text) + "\n")
    done = _saveur("predict", "-m", str(path), "-i", str(tmp_path / "in.csv"),
                   "-o", str(tmp_path / "out.csv"), "--on-error", "skip")
    assert done.returncode == 0, done.stderr
    expected = model.predict(x.head(30).drop(index=4)).tolist()
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == expected
    error = json.loads((tmp_path / "out.csv.errors.jsonl").read_text())
    assert error["row"] == 5 and "'f0'" in error["error"]


def test_readme_batch_command_runs(trained, tmp_path):
    """The README's `saveur predict` lines run as written on the README's model."""
    block = re.search(r"## Batch scoring.*?```bash\n(.*?)```", README, flags=re.S).group(1)
    first = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    (tmp_path / "save.py").write_text(first)
    done = subprocess.run([sys.executable, "save.py"], cwd=tmp_path, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    pd.DataFrame({"id": [1, 2, 3], "a": [0.0, 1.0, 3.0], "b": [1.0, 0.0, 0.0]}).to_csv(
        tmp_path / "input.csv", index=False)
    pd.read_csv(tmp_path / "input.csv").to_parquet(tmp_path / "input.parquet")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = 0
    for line in block.splitlines():
        if line.startswith("saveur predict"):
            done = subprocess.run(line, shell=True, cwd=tmp_path, env=env,
                                  capture_output=True, timeout=300)
            assert done.returncode == 0, (line, done.stderr)
            ran += 1
    assert ran >= 3
    assert pd.read_csv(tmp_path / "scores.csv")["id"].tolist() == [1, 2, 3]
    assert len(json.loads((tmp_path / "predictions.json").read_text())["predictions"]) == 3
