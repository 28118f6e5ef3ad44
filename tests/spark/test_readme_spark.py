"""The README's Spark example runs as written, on the model its first example saves."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_spark_example_runs(spark, tmp_path, monkeypatch, capsys):
    first = re.search(r"```python\n(.*?)```", README, flags=re.S).group(1)
    example = re.search(r"## Spark\n+```python spark\n(.*?)```", README, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"spark": spark}
    exec(compile(first, "README first example", "exec"), namespace)
    exec(compile(example, "README Spark example", "exec"), namespace)
    shown = capsys.readouterr().out
    assert shown.count("prediction") == 2  # both tables were shown with the column
    expected = namespace["pyfunc"].predict(namespace["X"]).tolist()
    udf = namespace["predict"]
    rows = namespace["df"].withColumn("p", udf("a", "b")).select("p").collect()
    assert [r.p for r in rows] == expected
