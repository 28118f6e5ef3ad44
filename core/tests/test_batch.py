"""Batch scoring of files: saveur.batch.predict_file and the ``saveur predict`` command."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import saveur
from saveur.batch import predict_file
from saveur.cli import main
from saveur.errors import BatchError
from saveur.signature import ModelSignature, infer_signature
from saveur.types import ParamSchema, ParamSpec


@pytest.fixture
def frame():
    return pd.DataFrame({"x": np.arange(7.0), "y": np.arange(7.0) * 10})


@pytest.fixture
def model_dir(tmp_path, echo_model, frame):
    """An echo model (x3) with a signature of two double columns and an 'offset' param."""
    path = tmp_path / "model"
    sig = infer_signature(frame)
    sig = ModelSignature(
        inputs=sig.inputs, params=ParamSchema([ParamSpec("offset", "double", 0.0)])
    )
    saveur.save_model(echo_model, path, signature=sig)
    return path


def _leftovers(folder, *keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_csv_to_csv_keeps_row_order_across_batches_and_the_id_column(model_dir, tmp_path, frame):
    src = tmp_path / "in.csv"
    frame.assign(id=[f"r{i}" for i in range(7)]).to_csv(src, index=False)
    result = predict_file(model_dir, src, tmp_path / "out.csv", batch_size=3, keep_columns=["id"])
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "x", "y"]
    assert out["id"].tolist() == [f"r{i}" for i in range(7)]
    assert out["x"].tolist() == (frame["x"] * 3).tolist()
    assert (result.rows_read, result.rows_scored, result.rows_skipped) == (7, 7, 0)


@pytest.mark.parametrize("out_name", ["out.parquet", "out.jsonl", "out.csv"])
def test_parquet_input_to_each_output_format(model_dir, tmp_path, frame, out_name):
    frame.to_parquet(tmp_path / "in.parquet")
    predict_file(model_dir, tmp_path / "in.parquet", tmp_path / out_name, batch_size=2)
    path = tmp_path / out_name
    if out_name.endswith(".parquet"):
        out = pd.read_parquet(path)
    elif out_name.endswith(".jsonl"):
        out = pd.read_json(path, lines=True)
    else:
        out = pd.read_csv(path)
    assert out["y"].tolist() == (frame["y"] * 3).tolist()


def test_json_payload_in_and_mlflow_predictions_out(model_dir, tmp_path, frame):
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"dataframe_split": frame.to_dict(orient="split")}))
    predict_file(model_dir, src, tmp_path / "out.json", batch_size=4)
    body = json.loads((tmp_path / "out.json").read_text())
    assert [r["x"] for r in body["predictions"]] == (frame["x"] * 3).tolist()


def test_jsonl_lines_are_records_and_blank_lines_are_skipped(model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"x": 1, "y": 2}\n\n{"x": 3, "y": 4}\n')
    result = predict_file(model_dir, src, tmp_path / "out.csv")
    assert pd.read_csv(tmp_path / "out.csv")["y"].tolist() == [6.0, 12.0]
    assert result.rows_read == 2


def test_params_reach_the_model_and_bad_params_are_refused(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.csv", index=False)
    predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", params={"offset": 1.0})
    assert pd.read_csv(tmp_path / "out.csv")["x"].tolist() == (frame["x"] * 3 + 1).tolist()
    with pytest.raises(BatchError, match="params.*offset"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "bad.csv", params={"offset": "abc"})
    assert not (tmp_path / "bad.csv").exists()


def test_quoted_newlines_stay_inside_their_row(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b'id,x,y\n"a\nb",1,2\n"c ""q""",3,4\n')
    predict_file(model_dir, src, tmp_path / "out.csv", keep_columns=["id"], batch_size=1)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["id"].tolist() == ["a\nb", 'c "q"']
    assert out["x"].tolist() == [3.0, 9.0]


# ---- bad rows and bad files ------------------------------------------------------------------
def test_a_bad_value_stops_the_run_naming_its_row_and_leaves_nothing(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    rows = [f"{i},{i}" for i in range(10)]
    rows[7] = "7,abc"
    src.write_text("x,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(BatchError, match=r"in\.csv row 8: column 'y' expects double") as e:
        predict_file(model_dir, src, tmp_path / "out.csv", batch_size=4)
    assert "\n" not in str(e.value)
    assert _leftovers(tmp_path, "in.csv", "model") == []


def test_skip_writes_bad_rows_to_the_errors_file_and_scores_the_rest(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    rows = [f"{i},{i}" for i in range(10)]
    rows[2], rows[7], rows[8] = "2,x", "abc,7", "8,nope"
    src.write_text("x,y\n" + "\n".join(rows) + "\n")
    result = predict_file(model_dir, src, tmp_path / "out.csv", batch_size=4, on_error="skip")
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["y"].tolist() == [3.0 * i for i in (0, 1, 3, 4, 5, 6, 9)]
    errors = [
        json.loads(line) for line in (tmp_path / "out.csv.errors.jsonl").read_text().splitlines()
    ]
    assert [e["row"] for e in errors] == [3, 8, 9]
    assert "column 'y'" in errors[0]["error"] and "column 'x'" in errors[1]["error"]
    assert result.rows_skipped == 3 and result.rows_scored == 7


def test_skip_with_an_explicit_errors_file(model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"x": 1, "y": 2}\n{"x": "a", "y": 2}\n')
    predict_file(
        model_dir, src, tmp_path / "out.jsonl", on_error="skip", errors_file=tmp_path / "bad.jsonl"
    )
    assert json.loads((tmp_path / "bad.jsonl").read_text())["row"] == 2
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 1


def test_ragged_csv_names_the_row(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("x,y\n1,2\n3,4\n5\n")
    with pytest.raises(BatchError, match=r"row 3 has 1 fields, the header has 2"):
        predict_file(model_dir, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_ragged_csv_with_quotes_names_the_row(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('x,y\n"1",2\n"3",4,5\n')
    with pytest.raises(BatchError, match=r"row 2 has 3 fields"):
        predict_file(model_dir, src, tmp_path / "out.csv")


def test_unterminated_quote_is_a_truncated_file(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('x,y\n1,2\n"3,4\n')
    with pytest.raises(BatchError, match="ends inside a quoted field"):
        predict_file(model_dir, src, tmp_path / "out.csv")


def test_truncated_parquet_is_refused(model_dir, tmp_path, frame):
    frame.to_parquet(tmp_path / "full.parquet")
    data = (tmp_path / "full.parquet").read_bytes()
    (tmp_path / "in.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(BatchError, match=r"in\.parquet is not a valid Parquet file"):
        predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_csv_given_as_parquet_is_refused(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match="not a valid Parquet file"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", input_format="parquet")


def test_a_missing_signature_column_is_named(model_dir, tmp_path):
    (tmp_path / "in.csv").write_text("x,z\n1,2\n")
    with pytest.raises(BatchError, match="has no column 'y', which the model's signature"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")


def test_a_missing_kept_column_is_named(model_dir, tmp_path, frame):
    frame.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(BatchError, match="no column 'id' to keep"):
        predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "out.csv", keep_columns=["id"])


def test_a_kept_column_that_clashes_with_a_prediction_column(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match="kept column 'x' has the name of a prediction"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", keep_columns=["x"])
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"x": 1, "y": ', "line 2 is not valid JSON"),
        ("[1, 2]", "line 2 must be a JSON object"),
        # Joined blindly, this line would smuggle params and a second record into the payload.
        (
            '{"x": 1, "y": 2}], "params": {"offset": 100}, "dataframe_records": [{"x": 5, "y": 6}',
            "line 2 is not valid JSON",
        ),
    ],
)
def test_bad_json_lines_are_refused_by_line(model_dir, tmp_path, line, message):
    src = tmp_path / "in.jsonl"
    src.write_text('{"x": 1, "y": 2}\n' + line + "\n")
    with pytest.raises(BatchError, match=message):
        predict_file(model_dir, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_csv_is_refused(model_dir, tmp_path):
    (tmp_path / "in.csv").write_text("")
    with pytest.raises(BatchError, match="is empty"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_format": "xml"}, "unknown input format 'xml'"),
        ({"output_format": "xls"}, "unknown output format 'xls'"),
        ({"on_error": "ignore"}, "on_error must be"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"env_manager": "conda"}, "env_manager must be"),
    ],
)
def test_bad_options_are_refused(model_dir, tmp_path, frame, kwargs, message):
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match=message):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", **kwargs)


def test_an_unknown_extension_asks_for_the_format(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.txt", index=False)
    with pytest.raises(BatchError, match="cannot tell the input format of .*in.txt"):
        predict_file(model_dir, tmp_path / "in.txt", tmp_path / "out.csv")


def test_missing_input_file_is_named(model_dir, tmp_path):
    with pytest.raises(BatchError, match="input file .*nope.csv does not exist"):
        predict_file(model_dir, tmp_path / "nope.csv", tmp_path / "out.csv")


def test_an_output_that_is_not_a_regular_file_is_refused(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match="/dev/null exists and is not a regular file"):
        predict_file(model_dir, tmp_path / "in.csv", "/dev/null", output_format="csv")


def test_the_model_returning_too_few_rows_is_an_error(model_dir, tmp_path, frame, monkeypatch):
    import saveur_echo

    monkeypatch.setattr(
        saveur_echo.EchoModel, "predict", lambda self, data, params=None: data.iloc[:1]
    )
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match="returned 1 predictions for the 7 rows 1-7"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_model_failure_names_the_rows_and_leaves_nothing(model_dir, tmp_path, frame, monkeypatch):
    import saveur_echo

    def predict(self, data, params=None):
        if data["x"].iloc[0] >= 3:
            raise RuntimeError("boom")
        return data

    monkeypatch.setattr(saveur_echo.EchoModel, "predict", predict)
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(BatchError, match="model failed on rows 4-6: RuntimeError: boom"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.parquet", batch_size=3)
    assert _leftovers(tmp_path, "in.csv", "model") == []


def test_keyboard_interrupt_leaves_no_output_and_no_temp_file(
    model_dir, tmp_path, frame, monkeypatch
):
    import saveur_echo

    calls = []

    def predict(self, data, params=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return data

    monkeypatch.setattr(saveur_echo.EchoModel, "predict", predict)
    frame.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv").write_text("previous results\n")
    with pytest.raises(KeyboardInterrupt):
        predict_file(
            model_dir, tmp_path / "in.csv", tmp_path / "out.csv", batch_size=2, on_error="skip"
        )
    # the earlier output is untouched: the run never replaced it
    assert (tmp_path / "out.csv").read_text() == "previous results\n"
    assert _leftovers(tmp_path, "in.csv", "model", "out.csv") == []


# ---- progress, the command line, uv ----------------------------------------------------------
def test_progress_bar_shows_rows_per_second_when_asked(model_dir, tmp_path, frame, capsys):
    frame.to_parquet(tmp_path / "in.parquet")
    predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "out.csv", progress=True)
    assert "rows/s" in capsys.readouterr().err


def test_no_progress_bar_when_stderr_is_not_a_terminal(model_dir, tmp_path, frame, capsys):
    frame.to_parquet(tmp_path / "in.parquet")
    predict_file(model_dir, tmp_path / "in.parquet", tmp_path / "out.csv")
    assert capsys.readouterr().err == ""


def test_cli_accepts_mlflow_spellings(model_dir, tmp_path, frame, capsys):
    frame.to_csv(tmp_path / "in.data", index=False)
    out = tmp_path / "out.json"
    assert (
        main(
            [
                "predict",
                "-m",
                str(model_dir),
                "-i",
                str(tmp_path / "in.data"),
                "-t",
                "csv",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert [r["x"] for r in json.loads(out.read_text())["predictions"]] == (frame["x"] * 3).tolist()
    assert "scored 7 rows" in capsys.readouterr().err


def test_cli_stdin_json_to_stdout(model_dir, frame, monkeypatch, capsysbinary):
    body = json.dumps({"dataframe_records": frame.to_dict(orient="records")}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["predict", "-m", str(model_dir), "--params", '{"offset": 1}']) == 0
    out = json.loads(capsysbinary.readouterr().out)
    assert [r["y"] for r in out["predictions"]] == (frame["y"] * 3 + 1).tolist()


def test_cli_keep_columns_and_skip(model_dir, tmp_path, capsys):
    (tmp_path / "in.csv").write_text("id,x,y\na,1,2\nb,1,zz\nc,3,4\n")
    code = main(
        [
            "predict",
            "-m",
            str(model_dir),
            "-i",
            str(tmp_path / "in.csv"),
            "-o",
            str(tmp_path / "out.csv"),
            "--keep-columns",
            "id",
            "--on-error",
            "skip",
        ]
    )
    assert code == 0
    assert pd.read_csv(tmp_path / "out.csv")["id"].tolist() == ["a", "c"]
    assert "1 rows skipped" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--params", "{bad"], "--params is not valid JSON"),
        (["--params", "[1]"], "--params must be a JSON object"),
        (["--env-manager", "conda"], "--env-manager 'conda' is not supported"),
        (["-t", "json", "--input-format", "csv"], "disagree"),
    ],
)
def test_cli_refuses_bad_options_with_a_message(model_dir, tmp_path, frame, capsys, argv, message):
    frame.to_csv(tmp_path / "in.csv", index=False)
    code = main(
        [
            "predict",
            "-m",
            str(model_dir),
            "-i",
            str(tmp_path / "in.csv"),
            "-o",
            str(tmp_path / "out.csv"),
            *argv,
        ]
    )
    assert code == 1
    assert message in capsys.readouterr().err


def test_uv_env_manager_runs_the_command_with_the_models_python(
    model_dir, tmp_path, frame, monkeypatch
):
    import subprocess

    import saveur.envmanager

    seen = {}
    monkeypatch.setattr(
        saveur.envmanager,
        "build_env",
        lambda path, extras=(): (
            seen.setdefault("env", (path, extras)) and tmp_path / "venv" / "bin" / "python"
        ),
    )

    def run(command, check):
        seen["command"] = command
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)
    frame.to_csv(tmp_path / "in.csv", index=False)
    predict_file(
        model_dir,
        tmp_path / "in.csv",
        tmp_path / "out.csv",
        env_manager="uv",
        keep_columns=["x"],
        params={"offset": 2},
        progress=False,
    )
    command = seen["command"]
    assert command[0] == str(tmp_path / "venv" / "bin" / "python")
    assert command[1:4] == ["-m", "saveur", "predict"]
    assert command[command.index("--env-manager") + 1] == "local"
    assert json.loads(command[command.index("--params") + 1]) == {"offset": 2}
    assert seen["env"][1] == ("batch",)
    monkeypatch.setattr(
        subprocess, "run", lambda command, check: subprocess.CompletedProcess(command, 3)
    )
    with pytest.raises(BatchError, match="uv environment .* failed with exit status 3"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", env_manager="uv")


def test_quotes_after_the_first_block_switch_to_record_reading(model_dir, tmp_path):
    rows = [f"{i},{i}.0,1.0" for i in range(100_000)]  # about 1.5 MiB: several read blocks
    rows[90_000] = '"ninety, thousand",2.0,1.0'
    rows[90_001] = '"multi\nline",3.0,1.0'
    (tmp_path / "in.csv").write_text("id,x,y\n" + "\n".join(rows))  # no final newline
    result = predict_file(
        model_dir, tmp_path / "in.csv", tmp_path / "out.csv", keep_columns=["id"], batch_size=7_000
    )
    out = pd.read_csv(tmp_path / "out.csv", dtype={"id": str})
    assert result.rows_scored == 100_000
    assert out["id"].iloc[90_000] == "ninety, thousand"
    assert out["id"].iloc[90_001] == "multi\nline"
    assert out["id"].iloc[-1] == "99999" and out["x"].iloc[-1] == 99999.0 * 3


def test_a_ragged_row_deep_in_a_big_file_is_named(model_dir, tmp_path):
    rows = [f"{i},1.0" for i in range(120_000)]
    rows[110_000] = "1.0,2.0,3.0"
    (tmp_path / "in.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(BatchError, match=r"row 110001 has 3 fields"):
        predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_json_payloads_params_are_used_unless_params_are_given(model_dir, tmp_path, frame):
    src = tmp_path / "in.json"
    src.write_text(
        json.dumps(
            {"dataframe_split": frame.head(2).to_dict(orient="split"), "params": {"offset": 10.0}}
        )
    )
    predict_file(model_dir, src, tmp_path / "a.json")
    assert [r["x"] for r in json.loads((tmp_path / "a.json").read_text())["predictions"]] == [
        10.0,
        13.0,
    ]
    predict_file(model_dir, src, tmp_path / "b.json", params={"offset": 0.0})
    assert [r["x"] for r in json.loads((tmp_path / "b.json").read_text())["predictions"]] == [
        0.0,
        3.0,
    ]


def test_skip_without_bad_rows_leaves_an_empty_errors_file(model_dir, tmp_path, frame):
    frame.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv.errors.jsonl").write_text('{"row": 1, "error": "stale"}\n')
    predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", on_error="skip")
    assert (tmp_path / "out.csv.errors.jsonl").read_text() == ""


def test_a_model_whose_signature_declares_no_params(tmp_path, echo_model, frame):
    path = tmp_path / "noparams"
    saveur.save_model(echo_model, path, signature=infer_signature(frame))
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = predict_file(path, tmp_path / "in.csv", tmp_path / "out.csv")
    assert result.rows_scored == 7
    assert pd.read_csv(tmp_path / "out.csv")["x"].tolist() == (frame["x"] * 3).tolist()


# ---- the fast paths: pyarrow for plain-number CSV, orjson for numeric JSON -------------------
_PLAIN_CHUNKS = [
    b"1,2\n3.5,-4e-3\n",
    b"\n1,2\n\n\n3,4\n",  # blank lines, which both parsers skip
    b",2\n1,\n,\n",  # empty cells are NaN
    b"+1,.5\n5.,1E5\n-0,00012\n1e-400,4.9e-324\n1e308,-1e-320\n",
    b"0.1000000000000000055511151231257827,123456789012345678901234567890\n",
    b"9007199254740993,1.7976931348623157e308\n2.2250738585072011e-308,1e+5\n",
]


@pytest.mark.parametrize("chunk", _PLAIN_CHUNKS)
def test_plain_number_chunks_read_by_pyarrow_equal_the_servers_parser(model_dir, chunk):
    pytest.importorskip("pyarrow")
    from saveur.batch import _FastDoubles
    from saveur.protocol import CONTENT_TYPE_CSV, parse_request

    sig = saveur.pyfunc.load_model(model_dir).signature
    fast = _FastDoubles.for_columns(["x", "y"], b"x,y\n", sig)
    assert fast is not None
    got = fast.read(chunk)
    expected = parse_request(b"x,y\n" + chunk, CONTENT_TYPE_CSV, sig).data
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.columns.dtype == expected.columns.dtype
    # bit for bit, NaN and -0.0 included
    assert got.to_numpy().view(np.int64).tolist() == expected.to_numpy().view(np.int64).tolist()


@pytest.mark.parametrize(
    "chunk",
    [
        b"1,2\n3\n",  # ragged: the line checks name the row
        b"1,2,3\n",  # an extra field (pandas would take it as an index)
        b"1,abc\n",  # letters: the server's parser names the value
        b"1,nan\n",
        b"1,inf\n",
        b"1,NA\n",  # words both read, kept on the server's path
        b"1, 2\n",  # spaces
        b"1,2\r\n",  # carriage returns
        b"1,5e\n",
        b"1,1e400\n",  # past a double's range: pandas 2 refuses it, pandas 3 reads inf
        b"-1.8e308,1\n",
        b"1,--1\n",
        b"1,1.2.3\n",  # malformed numbers
    ],
)
def test_other_chunks_are_left_to_the_servers_parser(model_dir, chunk):
    pytest.importorskip("pyarrow")
    from saveur.batch import _FastDoubles

    sig = saveur.pyfunc.load_model(model_dir).signature
    assert _FastDoubles.for_columns(["x", "y"], b"x,y\n", sig).read(chunk) is None


@pytest.mark.parametrize(
    "columns,header",
    [
        (["x", "id"], b"x,id\n"),  # a column the signature does not name
        (["x", "x"], b"x,x\n"),  # duplicates, which pandas renames
        (["x", "y"], b'"x",y\n'),  # a quoted header
    ],
)
def test_pyarrow_reads_only_files_of_double_columns_of_the_signature(model_dir, columns, header):
    from saveur.batch import _FastDoubles

    sig = saveur.pyfunc.load_model(model_dir).signature
    assert _FastDoubles.for_columns(columns, header, sig) is None
    assert _FastDoubles.for_columns(["x", "y"], b"x,y\n", None) is None


def test_plain_and_slow_csv_paths_score_alike_across_batches(model_dir, tmp_path, frame):
    """Blank lines, empty cells and a batch boundary inside a 1 MiB block: the same rows."""
    rows = [f"{i}.5,{i * 10}e-1" for i in range(3000)]
    rows[5] = ""  # a blank line does not count as a row
    plain = tmp_path / "plain.csv"
    plain.write_text("x,y\n" + "\n".join(rows) + "\n")
    crlf = tmp_path / "crlf.csv"  # carriage returns keep every batch on pandas' path
    crlf.write_bytes(plain.read_bytes().replace(b"\n", b"\r\n"))
    for src in (plain, crlf):
        result = predict_file(model_dir, src, tmp_path / f"{src.stem}.csv", batch_size=1000)
        assert result.rows_scored == 2999
    assert (tmp_path / "plain.csv").read_bytes() != b""
    a = pd.read_csv(tmp_path / "plain.csv")
    b = pd.read_csv(tmp_path / "crlf.csv")
    pd.testing.assert_frame_equal(a, b)
    assert a["x"].iloc[5] == 6.5 * 3


def test_a_ragged_row_in_a_plain_number_file_is_named_past_the_first_batch(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    rows = [f"{i},{i}" for i in range(25)]
    rows[17] = "17"
    src.write_text("x,y\n" + "\n".join(rows) + "\n")
    with pytest.raises(BatchError, match=r"in\.csv row 18 has 1 fields, the header has 2"):
        predict_file(model_dir, src, tmp_path / "out.csv", batch_size=10)


@pytest.mark.parametrize("lines", [True, False])
@pytest.mark.parametrize(
    "data",
    [
        {"a": [1, 2, 3]},
        {"a": [1.5, 2.0, -3e-9]},
        {"a": [True, False, True]},
        {"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]},
    ],
)
def test_numeric_json_records_match_json_dumps(lines, data):
    pytest.importorskip("orjson")
    from saveur.batch import _numeric_records

    frame = pd.DataFrame(data)
    body = _numeric_records(frame, lines=lines)
    records = frame.to_dict(orient="records")
    if lines:
        assert body.endswith(b"\n")
        assert [json.loads(line) for line in body.splitlines()] == records
    else:
        assert json.loads(b"[" + body + b"]") == records


def test_a_plain_number_csv_is_read_by_pyarrow_batch_by_batch(model_dir, tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    from saveur import batch

    calls = []
    read = batch._FastDoubles.read

    def counting(self, chunk):
        frame = read(self, chunk)
        calls.append(frame is not None)
        return frame

    monkeypatch.setattr(batch._FastDoubles, "read", counting)
    src = tmp_path / "in.csv"
    src.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(7)))
    predict_file(model_dir, src, tmp_path / "out.csv", batch_size=3)
    assert calls == [True, True, True]
    assert pd.read_csv(tmp_path / "out.csv")["x"].tolist() == [3.0 * i for i in range(7)]


class _Held:
    def __init__(self, i, held):
        self.i, self.held = i, held


def test_read_ahead_keeps_order_stays_within_its_budget_and_raises_in_turn():
    from saveur.batch import _ReadAhead

    produced = []

    def batches():
        for i in range(6):
            produced.append(i)
            yield _Held(i, 10)
        raise BatchError("in.csv row 31 has 1 fields, the header has 2")

    reader = _ReadAhead(batches(), budget=25)
    seen = []
    with pytest.raises(BatchError, match="row 31 has 1 fields"):
        for batch in reader:
            # two batches of 10 fit in 25, and the reader holds the one it has just read
            assert len(produced) <= batch.i + 1 + 3
            seen.append(batch.i)
    reader.close()
    assert seen == [0, 1, 2, 3, 4, 5]  # every batch before the error came first


def test_read_ahead_takes_a_batch_over_its_budget_and_close_stops_the_reader():
    from saveur.batch import _ReadAhead

    produced = []

    def batches():
        for i in range(1000):
            produced.append(i)
            yield _Held(i, 100)

    reader = _ReadAhead(batches(), budget=50)
    assert next(iter(reader)).i == 0  # larger than the budget, still read, one at a time
    reader.close()
    assert len(produced) <= 3  # stopped, not run through the file


@pytest.fixture
def load_refused(monkeypatch):
    """saveur.pyfunc.load_model refusing the model, as it does a pickle without trust."""
    import saveur.pyfunc
    from saveur.errors import TrustError

    def refused(*args, **kwargs):
        raise TrustError("loading 'model.pkl' would run code carried by the model")

    monkeypatch.setattr(saveur.pyfunc, "load_model", refused)


def test_a_model_that_fails_to_load_is_the_error_even_with_a_bad_input(
    model_dir, tmp_path, load_refused
):
    from saveur.errors import TrustError

    (tmp_path / "empty.csv").write_bytes(b"")  # alone, this is "in.csv is empty"
    with pytest.raises(TrustError, match="would run code carried by the model"):
        predict_file(model_dir, tmp_path / "empty.csv", tmp_path / "out.csv")
    (tmp_path / "good.csv").write_text("x,y\n1,2\n")
    with pytest.raises(TrustError, match="would run code carried by the model"):
        predict_file(model_dir, tmp_path / "good.csv", tmp_path / "out.csv")
    assert _leftovers(tmp_path, "model", "empty.csv", "good.csv") == []


def test_a_failed_load_is_reported_at_once_while_a_pipe_is_still_open(
    model_dir, tmp_path, load_refused
):
    import os
    import threading

    from saveur.errors import TrustError

    read_end, write_end = os.pipe()
    os.write(write_end, b"x,y\n1,2\n")  # a header, a row, and then nothing (no end of file)
    raised = []

    def run():
        with open(read_end, "rb") as stream:
            try:
                predict_file(model_dir, stream, tmp_path / "out.csv", input_format="csv")
            except TrustError as exc:
                raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    os.close(write_end)
    assert raised and "would run code carried by the model" in str(raised[0])
    assert not (tmp_path / "out.csv").exists()


def test_the_command_in_its_own_process_writes_everything_and_exits_with_its_status(
    model_dir, tmp_path, frame
):
    import subprocess

    frame.to_csv(tmp_path / "in.csv", index=False)
    import os

    import saveur_echo

    # the echo model's loader is a test module, not an installed plugin: trusted, on the path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(saveur_echo.__file__).parents[1]), *sys.path])}
    command = [sys.executable, "-m", "saveur", "predict", "--trust-code", "-m", str(model_dir), "-i"]
    done = subprocess.run(
        [*command, str(tmp_path / "in.csv"), "-o", "-", "--no-progress"],
        capture_output=True, timeout=300, env=env,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)  # all of it written out before the process ended
    assert [r["x"] for r in body["predictions"]] == (frame["x"] * 3).tolist()
    failed = subprocess.run(
        [*command, str(tmp_path / "missing.csv"), "-o", str(tmp_path / "out.csv")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert failed.returncode == 1
    assert "missing.csv does not exist" in failed.stderr
