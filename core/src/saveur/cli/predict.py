"""``saveur predict``: score a file with a model (``mlflow models predict``, streaming)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``predict`` command to the ``saveur`` command's subparsers."""
    from saveur.batch import DEFAULT_BATCH_SIZE, INPUT_FORMATS, OUTPUT_FORMATS

    predict = subparsers.add_parser(
        "predict",
        help="score a file (CSV, Parquet, JSON lines, JSON) with a model, in batches",
        description=(
            "Score a file with a model, streaming it in batches so memory stays bounded "
            "whatever the file's size. Formats are guessed from the file extensions. "
            "Accepts the options of `mlflow models predict` (-m, -i, -o, -t)."
        ),
    )
    predict.add_argument("-m", "--model-uri", required=True, help="model path or URI")
    predict.add_argument("-i", "--input-path", default="-",
                         help="input file (default and '-': stdin)")
    predict.add_argument("-o", "--output-path", default="-",
                         help="output file (default and '-': stdout), written atomically")
    predict.add_argument("--input-format", choices=INPUT_FORMATS, default=None,
                         help="input format (default: from the extension; json on stdin)")
    predict.add_argument("-t", "--content-type", choices=("json", "csv"), default=None,
                         help="MLflow's spelling of --input-format")
    predict.add_argument("--output-format", choices=OUTPUT_FORMATS, default=None,
                         help="output format (default: from the extension; json on stdout, "
                              "MLflow's {\"predictions\": [...]})")
    predict.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                         help=f"rows per batch (default {DEFAULT_BATCH_SIZE})")
    predict.add_argument("--params", default=None,
                         help="inference params as a JSON object, e.g. '{\"k\": 3}'")
    predict.add_argument("--env-manager", default="local",
                         help="local: this environment (default); uv: a cached virtualenv "
                              "built from the model's requirements")
    predict.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                         help="fail: stop at the first bad row (default); skip: write bad "
                              "rows to the errors file and score the rest")
    predict.add_argument("--errors-file", default=None,
                         help="where skipped rows go (default OUTPUT.errors.jsonl)")
    predict.add_argument("--keep-columns", action="append", default=[], metavar="COLS",
                         help="input columns to copy into the output (comma separated; "
                              "repeatable), such as an id")
    predict.add_argument("--trust-code", action="store_true", default=None,
                         help="allow loading code the model carries (pickles, code files)")
    predict.add_argument("--progress", dest="progress", action="store_true", default=None,
                         help="show a progress bar (default: only on a terminal)")
    predict.add_argument("--no-progress", dest="progress", action="store_false",
                         help="never show a progress bar")
    predict.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    import json

    from saveur.batch import predict_file
    from saveur.errors import BatchError
    from saveur.security import trust_from_env

    if args.env_manager not in ("local", "uv"):
        # MLflow's virtualenv and conda managers: uv builds the same environment.
        raise BatchError(
            f"--env-manager {args.env_manager!r} is not supported: use local or uv"
        )
    input_format = args.input_format
    if args.content_type is not None:
        if input_format is not None and input_format != args.content_type:
            raise BatchError(
                f"--content-type {args.content_type} and --input-format {input_format} "
                "disagree: give one"
            )
        input_format = args.content_type
    if input_format is None and args.input_path == "-":
        input_format = "json"  # what `mlflow models predict` reads from stdin
    params = None
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except ValueError as exc:
            raise BatchError(f"--params is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise BatchError("--params must be a JSON object, such as '{\"k\": 3}'")
    keep = [c.strip() for group in args.keep_columns for c in group.split(",") if c.strip()]
    result = predict_file(
        args.model_uri, args.input_path, args.output_path,
        input_format=input_format, output_format=args.output_format,
        batch_size=args.batch_size, params=params, env_manager=args.env_manager,
        on_error=args.on_error, errors_file=args.errors_file, keep_columns=keep,
        trust_code=trust_from_env(args.trust_code), progress=args.progress,
    )
    if args.env_manager == "local":
        skipped = (f"; {result.rows_skipped} rows skipped"
                   + (f" (see {result.errors_file})" if result.errors_file else "")
                   if result.rows_skipped else "")
        print(f"scored {result.rows_scored} rows in {result.seconds:.2f} s "
              f"({result.rows_per_second:,.0f} rows/s){skipped}", file=sys.stderr)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
