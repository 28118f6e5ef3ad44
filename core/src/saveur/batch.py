"""Batch scoring of files: ``predict_file`` streams an input file through a model.

The input (CSV, Parquet, JSON lines, or an MLflow JSON payload) is read in batches of
``batch_size`` rows; each batch goes through the scoring server's parser
(:func:`saveur.protocol.parse_request`; for a CSV batch of plain numbers in double columns,
pyarrow, which reads it to the same frame) and the model's signature enforcement, is
predicted, and its output is written while later batches are read in a worker thread (at
most :data:`READ_AHEAD_BYTES` held ahead), so memory is bounded by the batch size and that
budget, not by the file. The output is written to a temporary file next to it and renamed
into place at the end: a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from saveur.errors import BatchError, ProtocolError, SchemaError

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "BatchResult", "predict_file"]

INPUT_FORMATS = ("csv", "parquet", "jsonl", "json")
OUTPUT_FORMATS = ("csv", "parquet", "jsonl", "json")
_EXTENSIONS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
#: the batch size when none is given: large enough that per-batch costs vanish, small
#: enough that a batch of wide rows stays in tens of megabytes
DEFAULT_BATCH_SIZE = 10_000
#: how much parsed input the reader may hold ahead of scoring; a batch larger than the budget
#: is still read, one at a time
READ_AHEAD_BYTES = 16 << 20
_STDIO = "-"


@dataclass
class BatchResult:
    """What a :func:`predict_file` run did: rows read, scored and skipped, and its time."""

    rows_read: int = 0
    rows_scored: int = 0
    rows_skipped: int = 0
    seconds: float = 0.0
    output: str = _STDIO
    errors_file: str | None = None
    errors: list[tuple[int, str]] = field(default_factory=list, repr=False)

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of the whole run."""
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def predict_file(
    model_uri: str | os.PathLike[str],
    input: str | os.PathLike[str] | IO[bytes],
    output: str | os.PathLike[str] | IO[bytes],
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    params: dict[str, Any] | None = None,
    env_manager: str = "local",
    on_error: str = "fail",
    errors_file: str | os.PathLike[str] | None = None,
    keep_columns: Sequence[str] = (),
    trust_code: bool | None = None,
    progress: bool | None = None,
) -> BatchResult:
    """Score the file ``input`` with the model at ``model_uri`` and write ``output``.

    ``input``/``output`` are paths, ``"-"`` for stdin/stdout, or binary file objects. Formats
    are guessed from the extensions (``.csv``, ``.parquet``, ``.jsonl``, ``.json``) unless
    given. Rows keep their order; ``keep_columns`` copies input columns (an id) in front of
    the predictions. ``on_error="skip"`` writes rows that fail parsing or enforcement to
    ``errors_file`` (JSON lines of ``row`` and ``error``; default ``OUTPUT.errors.jsonl``)
    and scores the rest; ``"fail"`` stops at the first bad row with its number. Rows are
    numbered from 1, after a CSV header. ``env_manager="uv"`` runs the scoring in a uv
    environment built from the model's requirements. Raises :class:`BatchError`.
    """
    if on_error not in ("fail", "skip"):
        raise BatchError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise BatchError(f"batch_size must be a positive integer, got {batch_size!r}")
    in_format = _format(input_format, input, INPUT_FORMATS, "input")
    out_format = _format(output_format, output, OUTPUT_FORMATS, "output", default="json")
    keep = list(keep_columns)
    if env_manager == "uv":
        return _predict_in_uv_env(
            model_uri,
            input,
            output,
            in_format,
            out_format,
            batch_size,
            params,
            on_error,
            errors_file,
            keep,
            trust_code,
            progress,
        )
    if env_manager != "local":
        raise BatchError(f"env_manager must be 'local' or 'uv', got {env_manager!r}")

    from saveur.pyfunc import load_model

    started = time.perf_counter()
    model = load_model(model_uri, trust_code=trust_code)
    signature = model.signature
    given_params = params
    params = _check_params(signature, params)
    errors_path = None
    if on_error == "skip":
        errors_path = _errors_path(errors_file, output)
    result = BatchResult(
        output=_name(output), errors_file=None if errors_path is None else str(errors_path)
    )
    with (
        _Sink(output, out_format) as sink,
        _ErrorLog(errors_path) as errors,
        _open_input(input) as stream,
    ):
        source = _SOURCES[in_format](stream, batch_size, _name(input), signature)
        source.check_columns(signature, keep)
        file_params = getattr(source, "file_params", None)
        if file_params is not None and given_params is None:
            # A JSON payload's own "params", as `mlflow models predict` reads them.
            params = _check_params(signature, file_params)
        bar = _progress_bar(progress, source.total_rows)
        reader = _ReadAhead(source.batches(), READ_AHEAD_BYTES)
        try:
            for batch in reader:
                _score_batch(
                    model,
                    batch,
                    params,
                    signature,
                    keep,
                    on_error,
                    sink,
                    errors,
                    result,
                    _name(input),
                )
                if bar is not None:
                    bar.update(batch.n)
        finally:
            reader.close()
            if bar is not None:
                bar.close()
        sink.commit()
        errors.commit()
    result.seconds = time.perf_counter() - started
    return result


class _ReadAhead:
    """The batches of ``batches``, read in a worker thread up to ``budget`` bytes ahead.

    Batches come in file order; an error reading them is raised only after every batch
    before it was taken (so those are scored and written first). The reader holds at most
    ``budget`` bytes of batches (:attr:`_Batch.held`) plus the one it is reading, and at
    least one batch whatever its size. :meth:`close` stops the reader and waits for the read
    it is in, if any, to end.
    """

    def __init__(self, batches: Iterator[_Batch], budget: int) -> None:
        self._budget = budget
        self._ready: deque[_Batch] = deque()
        self._held = 0
        self._done = False
        self._closed = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._read, args=(batches,), name="saveur-read", daemon=True
        )
        self._thread.start()

    def _read(self, batches: Iterator[_Batch]) -> None:
        error = None
        try:
            for batch in batches:
                with self._changed:
                    while (
                        self._ready
                        and self._held + batch.held > self._budget
                        and not self._closed
                    ):
                        self._changed.wait()
                    if self._closed:
                        return
                    self._ready.append(batch)
                    self._held += batch.held
                    self._changed.notify_all()
        except BaseException as exc:  # raised in turn by __iter__
            error = exc
        finally:
            with self._changed:
                self._done = True
                self._error = error
                self._changed.notify_all()

    def __iter__(self) -> Iterator[_Batch]:
        while True:
            with self._changed:
                while not self._ready and not self._done:
                    self._changed.wait()
                if not self._ready:
                    if self._error is not None:
                        raise self._error
                    return
                batch = self._ready.popleft()
                self._held -= batch.held
                self._changed.notify_all()
            yield batch

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._ready.clear()
            self._changed.notify_all()
        self._thread.join()


# ---- formats and paths ---------------------------------------------------------------------
def _name(target: Any) -> str:
    if isinstance(target, (str, os.PathLike)):
        text = os.fspath(target)
        return "stdin/stdout" if text == _STDIO else str(text)
    return getattr(target, "name", None) or type(target).__name__


def _format(
    given: str | None, target: Any, allowed: tuple[str, ...], what: str, default: str | None = None
) -> str:
    if given is not None:
        fmt = given.lower()
        if fmt not in allowed:
            raise BatchError(f"unknown {what} format {given!r}: use one of {list(allowed)}")
        return fmt
    if isinstance(target, (str, os.PathLike)) and os.fspath(target) != _STDIO:
        suffix = Path(os.fspath(target)).suffix.lower()
        if suffix in _EXTENSIONS and _EXTENSIONS[suffix] in allowed:
            return _EXTENSIONS[suffix]
    if default is not None:
        return default
    raise BatchError(
        f"cannot tell the {what} format of {_name(target)}: pass --{what}-format "
        f"({'|'.join(allowed)}) or use a file extension"
    )


def _errors_path(errors_file: Any, output: Any) -> Path | None:
    if errors_file is not None:
        return Path(os.fspath(errors_file))
    if isinstance(output, (str, os.PathLike)) and os.fspath(output) != _STDIO:
        return Path(os.fspath(output) + ".errors.jsonl")
    return None  # stdout output: skipped rows are reported on stderr


class _open_input:
    """A binary stream over the input path, stdin, or the caller's file object."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.owned: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if not isinstance(self.target, (str, os.PathLike)):
            return self.target  # type: ignore[no-any-return]
        if os.fspath(self.target) == _STDIO:
            return sys.stdin.buffer
        path = Path(os.fspath(self.target))
        try:
            self.owned = open(path, "rb")
        except FileNotFoundError:
            raise BatchError(f"input file {path} does not exist") from None
        except IsADirectoryError:
            raise BatchError(f"input {path} is a directory: give a file") from None
        except OSError as exc:
            raise BatchError(f"cannot read the input file {path}: {exc.strerror}") from None
        return self.owned

    def __exit__(self, *exc: object) -> None:
        if self.owned is not None:
            self.owned.close()


# ---- params --------------------------------------------------------------------------------
def _check_params(signature: Any, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Enforce params once, up front, so a bad param is never blamed on a row."""
    from saveur.enforce import compile_params

    if params is not None and not isinstance(params, dict):
        raise BatchError(f"params must be a JSON object, got {type(params).__name__}")
    if signature is None:
        return params
    enforce_params = compile_params(signature.params)
    try:
        return enforce_params(params)  # type: ignore[no-any-return]
    except SchemaError as exc:
        raise BatchError(f"params: {exc}") from None


# ---- sources: the input read in batches ----------------------------------------------------
class _Batch:
    """``n`` rows of the input starting at row ``start`` (0-based), parseable by range."""

    def __init__(self, start: int, n: int, parse: Any, held: int = 0) -> None:
        self.start = start
        self.n = n
        self._parse = parse
        #: bytes of input this batch holds until it is scored (read-ahead budget)
        self.held = held

    def parse(self, lo: int, hi: int) -> Any:
        """Rows ``lo:hi`` of this batch as the server's parser returns them (a DataFrame)."""
        return self._parse(lo, hi)


class _Source:
    total_rows: int | None = None
    columns: list[str] | None = None  # known up front for CSV and Parquet

    def __init__(self, stream: IO[bytes], batch_size: int, name: str, signature: Any) -> None:
        self.stream = stream
        self.batch_size = batch_size
        self.name = name
        self.signature = signature

    def batches(self) -> Iterator[_Batch]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_columns(self, signature: Any, keep: list[str]) -> None:
        """Refuse a file that lacks a required column of the signature or a kept column."""
        if self.columns is None:
            return
        present = set(self.columns)
        for name in keep:
            if name not in present:
                raise BatchError(
                    f"{self.name} has no column {name!r} to keep (--keep-columns); its "
                    f"columns are {self.columns[:20]}"
                )
        inputs = getattr(signature, "inputs", None)
        if inputs is None or inputs.is_tensor_spec() or inputs.inputs[0].name is None:
            return
        for spec in inputs.inputs:
            if spec.required and spec.name not in present:
                raise BatchError(
                    f"{self.name} has no column {spec.name!r}, which the model's signature "
                    f"requires; its columns are {self.columns[:20]}"
                )


class _CsvSource(_Source):
    """CSV read record by record (a quoted newline stays inside its record), in batches of
    rows that each go through the server's CSV parser with the header in front."""

    def __init__(self, stream: IO[bytes], batch_size: int, name: str, signature: Any) -> None:
        super().__init__(stream, batch_size, name, signature)
        import csv

        header = self._next_record()
        if header is None:
            raise BatchError(f"{name} is empty: a CSV input needs a header row")
        self.header = header
        try:
            self.columns = next(csv.reader([header.decode("utf-8")]))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BatchError(f"{name}: the CSV header row is malformed: {exc}") from None
        self.width = len(self.columns)

    def _next_record(self) -> bytes | None:
        line = self.stream.readline()
        if not line:
            return None
        while line.count(b'"') % 2:  # a quoted field runs on to the next line
            more = self.stream.readline()
            if not more:
                raise BatchError(f"{self.name} ends inside a quoted field (a truncated file?)")
            line += more
        return line if line.endswith(b"\n") else line + b"\n"

    def batches(self) -> Iterator[_Batch]:
        start = 0
        fast = _FastDoubles.for_columns(self.columns, self.header, self.signature)
        for chunk, lines in self._chunks():
            records: list[bytes] | None = None
            frame = None if fast is None or lines is not None else fast.read(chunk)
            if frame is not None:
                # pyarrow read the chunk whole: every line had the header's width and every
                # cell a plain number or nothing, so no line check is left to do.
                n = len(frame)
            elif lines is None:
                # No quotes: one line is one record, checked with bytes and numpy operations.
                if chunk.startswith((b"\n", b"\r\n")) or b"\n\n" in chunk or b"\n\r\n" in chunk:
                    records = [r for r in _split_lines(chunk) if r.strip()]
                    chunk = b"".join(records)
                self._check_ragged_plain(chunk, start)
                n = chunk.count(b"\n")
            else:
                if not lines[-1].endswith(b"\n"):
                    lines[-1] += b"\n"
                records = self._quoted_records(lines)
                self._check_ragged_quoted(records, start)
                chunk = b"".join(records)
                n = len(records)
            if n == 0:
                continue
            holder = {"records": records, "frame": frame, "fast": frame is not None}

            def parse(
                lo: int,
                hi: int,
                chunk: bytes = chunk,
                n: int = n,
                holder: dict = holder,
                header: bytes = self.header,
            ) -> Any:
                from saveur.protocol import CONTENT_TYPE_CSV, parse_request

                if (lo, hi) == (0, n):
                    if holder["frame"] is not None:
                        return holder.pop("frame")  # handed over once: no second copy kept
                    body = chunk
                else:  # only when a failing batch is bisected
                    if holder["records"] is None:
                        # A chunk pyarrow read may hold blank lines, which it skipped.
                        holder["records"] = (
                            [r for r in _split_lines(chunk) if r != b"\n"]
                            if holder["fast"]
                            else _split_lines(chunk)
                        )
                    body = b"".join(holder["records"][lo:hi])
                return parse_request(header + body, CONTENT_TYPE_CSV, self.signature).data

            held = len(chunk) * (1 if records is None else 2)
            if frame is not None:
                held += frame.size * 8  # only double columns are read by pyarrow
            yield _Batch(start, n, parse, held=held)
            start += n

    def _chunks(self) -> Iterator[tuple[bytes, list[bytes] | None]]:
        """Batches of ``batch_size`` lines: ``(bytes, None)`` read in 1 MiB blocks while the
        file holds no quote, then ``(b"", lines)`` read line by line for quoted records.

        Each block is scanned once for quotes and newlines as it is read; a batch's end is
        looked for only in the block that holds it."""
        import numpy as np

        pending: list[bytes] = []  # read, not yet handed out; newlines counts their b"\n"
        newlines = 0
        last_count = 0  # newlines in pending[-1]
        while True:
            while newlines < self.batch_size:
                block = self.stream.read(1 << 20)
                if not block:
                    break
                if b'"' in block:
                    yield from self._quoted_chunks(b"".join([*pending, block]))
                    return
                pending.append(block)
                # numpy counts bytes about four times faster than bytes.count
                last_count = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))
                newlines += last_count
            if not pending:
                return
            if newlines < self.batch_size:  # the end of the file
                chunk = b"".join(pending)
                yield (chunk if chunk.endswith(b"\n") else chunk + b"\n"), None
                return
            # The batch ends in the last block, at its k-th newline.
            last = pending.pop()
            k = self.batch_size - (newlines - last_count)
            cut = int(np.flatnonzero(np.frombuffer(last, dtype=np.uint8) == 10)[k - 1]) + 1
            chunk = b"".join([*pending, last[:cut]])
            rest = last[cut:]
            pending = [rest] if rest else []
            newlines = last_count = last_count - k
            yield chunk, None

    def _quoted_chunks(self, pending: bytes) -> Iterator[tuple[bytes, list[bytes] | None]]:
        import io
        from itertools import chain, islice

        head = io.BytesIO(pending).readlines()
        tail = iter(self.stream)
        if head and not head[-1].endswith(b"\n"):
            head[-1] += next(tail, b"")  # the rest of a line cut by the block boundary
        self._lines = chain(head, tail)
        while True:
            lines = list(islice(self._lines, self.batch_size))
            if not lines:
                return
            yield b"", lines

    def _quoted_records(self, lines: list[bytes]) -> list[bytes]:
        """Lines joined into records: a line break inside quotes does not end a record."""
        records: list[bytes] = []
        pending = b""
        for line in lines:
            pending += line
            if pending.count(b'"') % 2:
                continue
            if pending.strip():
                records.append(pending)
            pending = b""
        if pending:
            while pending.count(b'"') % 2:
                more = next(self._lines, b"")
                if not more:
                    raise BatchError(f"{self.name} ends inside a quoted field (a truncated file?)")
                pending += more
            records.append(pending if pending.endswith(b"\n") else pending + b"\n")
        return records

    def _check_ragged_plain(self, chunk: bytes, start: int) -> None:
        """Every line of an unquoted chunk has the header's number of fields, or name it."""
        import numpy as np

        expected = self.width - 1
        data = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)  # each record ends with b"\n"
        commas = np.flatnonzero(data == 44)
        counts = np.diff(np.searchsorted(commas, ends), prepend=0)
        wrong = np.flatnonzero(counts != expected)
        if len(wrong):
            bad = int(wrong[0])
            self._ragged(start + bad, int(counts[bad]) + 1)

    def _check_ragged_quoted(self, records: list[bytes], start: int) -> None:
        import csv

        for i, record in enumerate(records):
            try:
                fields = next(csv.reader([record.decode("utf-8", "replace")]))
            except csv.Error as exc:
                raise BatchError(f"{self.name} row {start + i + 1}: malformed CSV: {exc}") from None
            if len(fields) != self.width:
                self._ragged(start + i, len(fields))

    def _ragged(self, row: int, got: int) -> None:
        raise BatchError(
            f"{self.name} row {row + 1} has {got} fields, the header has {self.width} "
            "(a ragged or truncated CSV file)"
        )


class _FastDoubles:
    """CSV chunks of plain numbers read by pyarrow, for a file whose every column is a
    ``double`` column of the signature.

    The server's parser (pandas' ``read_csv`` with ``float64`` columns) is exact but single
    threaded and slow at a million rows; pyarrow reads the same chunk on every core. Only
    chunks whose bytes are digits, ``.``, ``e``, ``E``, ``+``, ``-``, commas and ``\\n`` are
    read here: cells are then decimal numbers or empty, which both parsers read to the same
    double (correctly rounded; empty is NaN) and blank lines, which both skip. pyarrow refuses
    a row of another width or a malformed number, and a number too large for a double (which
    pandas 2 refuses and pandas 3 reads as infinity) is looked for; such a chunk, and any
    other, goes through the server's parser and the line checks, which name the row as
    before.
    """

    _PLAIN = b"0123456789.eE+-,\n"

    def __init__(self, columns: list[str]) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pc

        self._pc = pc
        self._buffer = pa.BufferReader
        self._isinf = np.isinf
        self._invalid = pa.ArrowInvalid
        self._read = pc.ReadOptions(column_names=columns, block_size=1 << 20)
        self._parse = pc.ParseOptions(quote_char=False, double_quote=False)
        self._convert = pc.ConvertOptions(
            column_types={name: pa.float64() for name in columns},
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    @classmethod
    def for_columns(
        cls, columns: list[str] | None, header: bytes, signature: Any
    ) -> _FastDoubles | None:
        """The reader when every column of the header is a double of the signature."""
        from saveur.protocol._spec import _column_specs
        from saveur.types import DataType

        inputs = getattr(signature, "inputs", None)
        if not columns or inputs is None or b'"' in header or b"\r" in header:
            return None
        if len(set(columns)) != len(columns) or "" in columns:
            return None  # pandas renames duplicates and names empty headers
        specs = _column_specs(inputs)
        for name in columns:
            spec = specs.get(name)
            if spec is None or not isinstance(spec.type, DataType) or spec.type.name != "double":
                return None
        try:
            return cls(columns)
        except ImportError:  # pyarrow is the batch extra; pandas reads without it
            return None

    def read(self, chunk: bytes) -> Any:
        """The chunk as the DataFrame the server's parser returns, or None."""
        if chunk.translate(None, self._PLAIN):
            return None  # letters, spaces, carriage returns...: the server's parser
        try:
            table = self._pc.read_csv(
                self._buffer(chunk),
                read_options=self._read,
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except self._invalid:
            return None
        frame = table.to_pandas()
        if self._isinf(frame.to_numpy()).any():
            return None  # a number past a double's range: pandas 2 refuses it, 3 reads inf
        return frame


class _JsonLinesSource(_Source):
    """One JSON object per line, each checked alone, then parsed together as the server
    parses ``dataframe_records``."""

    def batches(self) -> Iterator[_Batch]:
        from itertools import islice

        loads = _json_loads()
        start = 0
        line_no = 0
        while True:
            lines = list(islice(self.stream, self.batch_size))
            if not lines:
                return
            records = []
            for line in lines:
                line_no += 1
                if not line.strip():
                    continue
                # Each line is decoded alone: lines joined blindly could smuggle a "params"
                # key or several records into one.
                try:
                    value = loads(line)
                except ValueError as exc:
                    raise BatchError(
                        f"{self.name} line {line_no} is not valid JSON: {_one_line(exc)}"
                    ) from None
                if not isinstance(value, dict):
                    raise BatchError(
                        f"{self.name} line {line_no} must be a JSON object (one record), got "
                        f"{type(value).__name__}"
                    )
                records.append(line.strip())
            if not records:
                continue

            def parse(lo: int, hi: int, records: list[bytes] = records) -> Any:
                from saveur.protocol import CONTENT_TYPE_JSON, parse_request

                body = b'{"dataframe_records":[' + b",".join(records[lo:hi]) + b"]}"
                return parse_request(body, CONTENT_TYPE_JSON, self.signature).data

            held = sum(map(len, records))
            yield _Batch(start, len(records), parse, held=held)
            start += len(records)


class _ParquetSource(_Source):
    """Parquet read batch by batch with pyarrow: only one batch is ever decoded."""

    def __init__(self, stream: IO[bytes], batch_size: int, name: str, signature: Any) -> None:
        super().__init__(stream, batch_size, name, signature)
        pq = _pyarrow_parquet()
        from saveur.protocol import MAX_COLUMNS

        if not stream.seekable():
            import io

            # Parquet's footer is at the end: a pipe has to be read whole first.
            stream = io.BytesIO(stream.read())
        try:
            # Buffered reads of pages, no pre-buffering: without these, pyarrow reads whole
            # column chunks and the process grows with the file (1 GB for 10M rows x 10).
            self.file = pq.ParquetFile(stream, buffer_size=1 << 20, pre_buffer=False)
            meta = self.file.metadata
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError... for bad files
            raise BatchError(f"{name} is not a valid Parquet file: {_one_line(exc)}") from None
        if meta.num_columns > MAX_COLUMNS:
            raise BatchError(
                f"{name} has {meta.num_columns} columns; at most {MAX_COLUMNS} are accepted"
            )
        self.total_rows = meta.num_rows
        self.columns = list(self.file.schema_arrow.names)

    def batches(self) -> Iterator[_Batch]:
        start = 0
        reader = self.file.iter_batches(batch_size=self.batch_size)
        while True:
            try:
                record_batch = next(reader)
            except StopIteration:
                return
            except Exception as exc:
                raise BatchError(
                    f"{self.name} is not a valid Parquet file (from row {start + 1}): "
                    f"{_one_line(exc)}"
                ) from None
            if record_batch.num_rows == 0:
                continue

            def parse(lo: int, hi: int, rb: Any = record_batch) -> Any:
                # The server reads a Parquet body with pandas' pyarrow engine: the same
                # conversion, one record batch at a time.
                return rb.slice(lo, hi - lo).to_pandas()

            yield _Batch(start, record_batch.num_rows, parse, held=record_batch.nbytes)
            start += record_batch.num_rows


class _JsonPayloadSource(_Source):
    """An MLflow scoring payload (``dataframe_split``, ``inputs``...): ``mlflow models
    predict -t json`` input. JSON is not streamable: the file is read whole."""

    def __init__(self, stream: IO[bytes], batch_size: int, name: str, signature: Any) -> None:
        super().__init__(stream, batch_size, name, signature)
        from saveur.protocol import CONTENT_TYPE_JSON, parse_request

        try:
            parsed = parse_request(stream.read(), CONTENT_TYPE_JSON, signature)
        except ProtocolError as exc:
            raise BatchError(f"{name}: {exc}") from None
        self.data = parsed.data
        self.file_params = parsed.params
        import pandas as pd

        if isinstance(self.data, pd.DataFrame):
            self.total_rows = len(self.data)
            self.columns = [str(c) for c in self.data.columns]

    def batches(self) -> Iterator[_Batch]:
        import pandas as pd

        data = self.data
        if not isinstance(data, pd.DataFrame):
            yield _Batch(0, _rows(data), lambda lo, hi: data)
            return
        for start in range(0, len(data), self.batch_size):
            chunk = data.iloc[start : start + self.batch_size]

            def parse(lo: int, hi: int, chunk: Any = chunk) -> Any:
                return chunk.iloc[lo:hi]

            yield _Batch(start, len(chunk), parse)


_SOURCES: dict[str, type[_Source]] = {
    "csv": _CsvSource,
    "jsonl": _JsonLinesSource,
    "parquet": _ParquetSource,
    "json": _JsonPayloadSource,
}


def _split_lines(chunk: bytes) -> list[bytes]:
    """The lines of a chunk that ends with a newline, each with its newline (and only on
    b"\\n": a carriage return or form feed inside a field does not end a record)."""
    return [line + b"\n" for line in chunk.split(b"\n")[:-1]]


def _rows(data: Any) -> int:
    if isinstance(data, dict):
        return max((len(v) for v in data.values() if hasattr(v, "__len__")), default=1)
    return len(data) if hasattr(data, "__len__") else 1


# ---- scoring one batch ---------------------------------------------------------------------
def _score_batch(
    model: Any,
    batch: _Batch,
    params: Any,
    signature: Any,
    keep: list[str],
    on_error: str,
    sink: _Sink,
    errors: _ErrorLog,
    result: BatchResult,
    name: str,
) -> None:
    result.rows_read += batch.n
    good: list[tuple[Any, Any]] = []
    bad: list[tuple[int, str]] = []
    _check_range(
        model,
        batch,
        0,
        batch.n,
        params,
        good,
        bad,
        stop_at_first=on_error == "fail",
        keep=keep,
        inputs=_input_names(signature),
    )
    if bad and on_error == "fail":
        row, message = bad[0]
        raise BatchError(f"{name} row {batch.start + row + 1}: {message}")
    for row, message in bad:
        errors.write(batch.start + row + 1, message)
        result.errors.append((batch.start + row + 1, message))
    result.rows_skipped += len(bad)
    for raw, data in good:
        predictions = _predict(model, data, params, batch, name)
        frame = _to_frame(predictions, len(raw), name, batch)
        if keep:
            frame = _with_kept(raw, frame, keep, name)
        sink.write(frame)
        result.rows_scored += len(frame)


def _check_range(
    model: Any,
    batch: _Batch,
    lo: int,
    hi: int,
    params: Any,
    good: list,
    bad: list,
    *,
    stop_at_first: bool,
    keep: Sequence[str] = (),
    inputs: frozenset = frozenset(),
) -> None:
    """Parse and enforce rows lo:hi; on failure, halve the range to find the bad rows.

    A clean batch costs one parse and one enforcement; only a failing one is bisected, so
    k bad rows cost O(k log n) small checks, and each bad row is named by its own check.
    """
    try:
        raw = batch.parse(lo, hi)
        # Kept columns the signature does not name ride along; enforcement need not see them.
        extra = [c for c in keep if inputs and c in raw.columns and c not in inputs]
        data, _ = model.check_input(raw.drop(columns=extra) if extra else raw, params)
    except (ProtocolError, SchemaError) as exc:
        if hi - lo == 1:
            # A one-row check names "row 0": the caller puts the file's row number first.
            bad.append((lo, str(exc).replace(" in row 0", "")))
            return
        mid = (lo + hi) // 2
        for start, end in ((lo, mid), (mid, hi)):
            _check_range(
                model,
                batch,
                start,
                end,
                params,
                good,
                bad,
                stop_at_first=stop_at_first,
                keep=keep,
                inputs=inputs,
            )
            if bad and stop_at_first:
                return
        return
    good.append((raw, data))


def _input_names(signature: Any) -> frozenset:
    inputs = getattr(signature, "inputs", None)
    if inputs is None or inputs.is_tensor_spec():
        return frozenset()
    return frozenset(spec.name for spec in inputs.inputs if spec.name is not None)


def _predict(model: Any, data: Any, params: Any, batch: _Batch, name: str) -> Any:
    try:
        return model.predict_checked(data, params)
    except Exception as exc:
        raise BatchError(
            f"{name}: the model failed on rows {batch.start + 1}-{batch.start + batch.n}: "
            f"{type(exc).__name__}: {_one_line(exc)}"
        ) from exc


def _to_frame(predictions: Any, n: int, name: str, batch: _Batch) -> Any:
    """The predictions of one batch as a DataFrame with one row per input row."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        frame = predictions.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    elif isinstance(predictions, pd.Series):
        frame = pd.DataFrame(
            {str(predictions.name or "prediction"): predictions.reset_index(drop=True)}
        )
    elif isinstance(predictions, dict):
        frame = pd.DataFrame({str(k): _column(v) for k, v in predictions.items()})
    else:
        arr = np.asarray(predictions) if not isinstance(predictions, np.ndarray) else predictions
        frame = pd.DataFrame({"prediction": _column(arr)})
    if len(frame) != n:
        raise BatchError(
            f"{name}: the model returned {len(frame)} predictions for the {n} rows "
            f"{batch.start + 1}-{batch.start + batch.n}; batch scoring needs one per row"
        )
    return frame


def _column(values: Any) -> Any:
    import numpy as np

    arr = np.asarray(values)
    if arr.ndim <= 1:
        return arr.reshape(-1)
    return list(arr)  # one array per row (a multi-output model)


def _with_kept(raw: Any, frame: Any, keep: list[str], name: str) -> Any:
    import pandas as pd

    missing = [c for c in keep if c not in raw.columns]
    if missing:
        raise BatchError(f"{name} has no column {missing[0]!r} to keep (--keep-columns)")
    clash = [c for c in keep if c in frame.columns]
    if clash:
        raise BatchError(
            f"kept column {clash[0]!r} has the name of a prediction column: rename it in "
            f"{name} or keep another"
        )
    kept = raw[keep].reset_index(drop=True)
    return pd.concat([kept, frame], axis=1)


# ---- the output, written atomically --------------------------------------------------------
class _Atomic:
    """A file written under a temporary name in its folder and renamed at commit; removed
    on any failure (KeyboardInterrupt included), so no truncated file looks complete."""

    def __init__(self, path: Path) -> None:
        if path.is_dir():
            raise BatchError(f"output {path} is a directory: give a file name")
        if path.exists() and not path.is_file():
            # A rename would replace a device or a pipe's directory entry, not write to it.
            raise BatchError(
                f"output {path} exists and is not a regular file: use -o - to write to stdout"
            )
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise BatchError(f"the folder of the output {path} does not exist")
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        self.path = path
        self.tmp = Path(tmp)
        self.file = os.fdopen(fd, "wb")
        self.committed = False

    def commit(self) -> None:
        self.file.close()
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)
        self.committed = True

    def discard(self) -> None:
        if not self.committed:
            self.file.close()
            self.tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _Sink:
    """Writes prediction frames in the output format, to a file (atomically) or stdout."""

    def __init__(self, target: Any, fmt: str) -> None:
        self.target = target
        self.format = fmt
        self.atomic: _Atomic | None = None
        self.stream: IO[bytes] | None = None
        self.parquet: Any = None
        self.rows = 0
        self.started = False

    def __enter__(self) -> _Sink:
        if isinstance(self.target, (str, os.PathLike)):
            if os.fspath(self.target) == _STDIO:
                self.stream = sys.stdout.buffer
            else:
                self.atomic = _Atomic(Path(os.fspath(self.target)))
                self.stream = self.atomic.file
        else:
            self.stream = self.target
        if self.format == "parquet":
            _pyarrow_parquet()  # fail before any work when pyarrow is missing
        return self

    def write(self, frame: Any) -> None:
        assert self.stream is not None
        first = not self.started
        self.started = True
        if self.format == "csv":
            text = frame.to_csv(index=False, header=first, lineterminator="\n")
            self.stream.write(text.encode("utf-8"))
        elif self.format == "jsonl":
            if len(frame):
                self.stream.write(_records_json(frame, lines=True))
        elif self.format == "json":
            self.stream.write(b'{"predictions": [' if first else b"")
            body = _records_json(frame, lines=False)
            if len(frame):
                if self.rows:
                    self.stream.write(b", ")
                self.stream.write(body)
        else:
            self._write_parquet(frame)
        self.rows += len(frame)

    def _write_parquet(self, frame: Any) -> None:
        import pyarrow as pa

        pq = _pyarrow_parquet()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(self.stream, table.schema)
        elif table.schema != self.parquet.schema:
            try:
                table = table.cast(self.parquet.schema)
            except (pa.ArrowInvalid, ValueError) as exc:
                raise BatchError(
                    f"predictions changed type between batches ({_one_line(exc)}); the "
                    "Parquet output needs one schema: use a larger --batch-size or CSV output"
                ) from None
        self.parquet.write_table(table)

    def commit(self) -> None:
        assert self.stream is not None
        if self.format == "json":
            if not self.started:
                self.stream.write(b'{"predictions": [')
            self.stream.write(b"]}\n")
        elif self.format == "parquet":
            if self.parquet is None:  # no rows: still a valid, empty Parquet file
                import pyarrow as pa

                self.parquet = _pyarrow_parquet().ParquetWriter(self.stream, pa.schema([]))
            self.parquet.close()
        self.stream.flush()
        if self.atomic is not None:
            self.atomic.commit()

    def __exit__(self, *exc: object) -> None:
        if self.atomic is not None and not self.atomic.committed:
            if self.parquet is not None:
                try:
                    self.parquet.close()
                except Exception:
                    pass
            self.atomic.discard()


def _records_json(frame: Any, *, lines: bool) -> bytes:
    """Rows as JSON objects, encoded as the server encodes predictions (NaN, bytes, dates)."""
    fast = _numeric_records(frame, lines=lines)
    if fast is not None:
        return fast
    from saveur.protocol import predictions_to_json

    body = predictions_to_json(frame)
    # predictions_to_json writes {"predictions": [records]}: take the records out.
    start, end = body.index(b"[") + 1, body.rindex(b"]")
    inner = body[start:end]
    if not lines:
        return inner
    if not inner.strip():
        return b""
    import json

    return b"".join(
        json.dumps(record, allow_nan=True).encode("utf-8") + b"\n"
        for record in json.loads(b"[" + inner + b"]")
    )


def _numeric_records(frame: Any, *, lines: bool) -> bytes | None:
    """Finite numeric columns written by orjson a column at a time, without building a dict
    per row (the slow part of a million-row JSON output); None for any other frame."""
    import numpy as np

    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson comes with the serve extra
        return None
    if not len(frame) or not len(frame.columns):
        return None
    columns = []
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind not in "biuf" or (
            values.dtype.kind == "f" and not np.isfinite(values).all()
        ):
            return None
        encoded = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
        columns.append((orjson.dumps(str(name)) + b":", encoded[1:-1]))
    if len(columns) == 1:
        # Numbers hold no comma: the array's separators become the seams between records.
        ((key, values),) = columns
        prefix = b"{" + key
        if lines:
            return prefix + values.replace(b",", b"}\n" + prefix) + b"}\n"
        return prefix + values.replace(b",", b"}," + prefix) + b"}"
    keys = [key for key, _ in columns]
    rows = [
        b"{" + b",".join(k + v for k, v in zip(keys, row, strict=True)) + b"}"
        for row in zip(*(values.split(b",") for _, values in columns), strict=True)
    ]
    return b"\n".join(rows) + b"\n" if lines else b",".join(rows)


class _ErrorLog:
    """The skipped rows, as JSON lines ``{"row": N, "error": "..."}``, written atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.atomic: _Atomic | None = None
        self.enabled = False

    def __enter__(self) -> _ErrorLog:
        return self

    def write(self, row: int, message: str) -> None:
        import json

        line = json.dumps({"row": row, "error": message}) + "\n"
        if self.path is None:
            print(f"skipped row {row}: {message}", file=sys.stderr)
            return
        if self.atomic is None:
            self.atomic = _Atomic(self.path)
        self.atomic.file.write(line.encode("utf-8"))

    def commit(self) -> None:
        if self.atomic is None and self.path is not None:
            # Written even when empty: an errors file left by an earlier run must not
            # describe this one.
            self.atomic = _Atomic(self.path)
        if self.atomic is not None:
            self.atomic.commit()

    def __exit__(self, *exc: object) -> None:
        if self.atomic is not None:
            self.atomic.discard()


# ---- helpers -------------------------------------------------------------------------------
def _progress_bar(progress: bool | None, total: int | None) -> Any:
    """A tqdm bar with rows per second on a terminal's stderr; None when quiet."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None  # the progress bar is an extra: pip install 'saveur[batch]'
    return tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        file=sys.stderr,
        desc="scoring",
        dynamic_ncols=True,
    )


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchError(
            "Parquet input and output need pyarrow: pip install 'saveur[batch]'"
        ) from None
    return pq


def _json_loads() -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson comes with the serve extra
        import json

        return json.loads

    import json

    def loads(line: bytes) -> Any:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            # NaN/Infinity tokens, which MLflow's clients write: the standard library reads them
            return json.loads(line)

    return loads


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


# ---- the uv environment ---------------------------------------------------------------------
def _predict_in_uv_env(
    model_uri: Any,
    input: Any,
    output: Any,
    in_format: str,
    out_format: str,
    batch_size: int,
    params: Any,
    on_error: str,
    errors_file: Any,
    keep: list[str],
    trust_code: bool | None,
    progress: bool | None,
) -> BatchResult:
    """Run ``saveur predict`` with the Python of the model's own uv environment."""
    import json
    import subprocess

    from saveur.environment.envmanager import build_env
    from saveur.loading import open_model

    for what, target in (("input", input), ("output", output)):
        if not isinstance(target, (str, os.PathLike)):
            raise BatchError(
                f"env_manager='uv' needs the {what} as a path or '-', not a file object"
            )
    started = time.perf_counter()
    model_dir = open_model(model_uri).path
    python = build_env(model_dir, extras=("batch",))
    command = [
        str(python),
        "-m",
        "saveur",
        "predict",
        "-m",
        str(model_dir),
        "-i",
        os.fspath(input),
        "-o",
        os.fspath(output),
        "--input-format",
        in_format,
        "--output-format",
        out_format,
        "--batch-size",
        str(batch_size),
        "--on-error",
        on_error,
        "--env-manager",
        "local",
    ]
    if params is not None:
        command += ["--params", json.dumps(params)]
    if errors_file is not None:
        command += ["--errors-file", os.fspath(errors_file)]
    if keep:
        command += ["--keep-columns", ",".join(keep)]
    if trust_code:
        command.append("--trust-code")
    if progress is False:
        command.append("--no-progress")
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise BatchError(
            f"scoring in the model's uv environment ({python}) failed with exit status "
            f"{completed.returncode}; its error is above"
        )
    return BatchResult(
        output=_name(output),
        seconds=time.perf_counter() - started,
        errors_file=None if errors_file is None else os.fspath(errors_file),
    )
