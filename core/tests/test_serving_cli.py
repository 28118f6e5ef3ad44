"""`saveur serve` and `saveur openapi` on the command line: options and error paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

import saveur
from saveur.cli import main
from saveur.signature import ModelSignature
from saveur.types import ColSpec, Schema, TensorSpec


@pytest.fixture
def echo_dir(tmp_path, echo_model):
    path = tmp_path / "echo_model"
    signature = ModelSignature(Schema([ColSpec("double", "x")]),
                               Schema([TensorSpec(np.dtype("float64"), (-1, 1))]))
    saveur.save_model(echo_model, path, signature=signature)
    return path


def test_openapi_writes_the_document_to_a_file(echo_dir, tmp_path, capsys):
    out = tmp_path / "doc.json"
    assert main(["openapi", "-m", str(echo_dir), "--name", "doubler", "-o", str(out)]) == 0
    document = json.loads(out.read_text())
    assert "/v2/models/doubler/infer" in document["paths"]
    assert f"wrote the OpenAPI document to {out}" in capsys.readouterr().err


def test_openapi_prints_to_stdout_by_default(echo_dir, capsys):
    assert main(["openapi", "-m", str(echo_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["openapi"] == "3.1.0"


def test_a_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["openapi", "-m", str(tmp_path / "nope")]) == 1
    assert "error:" in capsys.readouterr().err
    assert main(["serve", "-m", str(tmp_path / "nope")]) == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-batch-size", "0", "must be at least 1, got 0"),
        ("--workers", "0", "must be at least 1, got 0"),
        ("--max-body-mb", "0", "must be positive, got 0"),
        ("--max-batch-delay-ms", "-1", "must not be negative, got -1"),
        ("--env-manager", "conda", "invalid choice: 'conda'"),
    ],
)
def test_bad_serve_options_are_refused(echo_dir, capsys, option, value, message):
    with pytest.raises(SystemExit):
        main(["serve", "-m", str(echo_dir), option, value])
    assert message in capsys.readouterr().err


def test_serve_binds_127_0_0_1_and_port_5000_by_default():
    from saveur.cli import build_parser

    args = build_parser().parse_args(["serve", "-m", "m"])
    assert (args.host, args.port, args.workers, args.env_manager) == (
        "127.0.0.1", 5000, 1, "local")
    assert args.max_batch_size is None
