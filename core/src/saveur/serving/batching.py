"""Adaptive batching: merge concurrent requests into one ``predict`` call and split results.

Requests are queued by the event loop; one background task takes the oldest request, waits
until ``max_rows`` rows are queued or ``max_delay_s`` has passed since it arrived, merges the
queued requests that have equal params, runs one predict on the worker thread and hands each
request its own slice. While a batch is being predicted, new requests pile up, so the batch
size adapts to the load without waiting when the server is idle and the delay is 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from saveur.serving.placement import Placement


class _NotMergeable(Exception):
    """Inputs or outputs that cannot be merged or split row-wise."""


@dataclass
class _Item:
    data: Any
    params: Any
    key: Hashable
    rows: int
    future: asyncio.Future[Any]
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    """Merge concurrent ``predict(data, params)`` calls of up to ``max_rows`` rows."""

    def __init__(
        self,
        predict: Callable[[Any, Any], Any],
        placement: Placement,
        *,
        max_rows: int,
        max_delay_s: float,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._predict = predict
        self._placement = placement
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self._queue: list[_Item] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: how many predict calls ran and how many requests they answered (for tests/stats)
        self.calls = 0
        self.requests = 0

    async def submit(self, data: Any, params: Any) -> Any:
        """Queue one request and wait for its own predictions."""
        loop = asyncio.get_running_loop()
        try:
            rows = _rows(data)
        except _NotMergeable:
            rows = 0  # predicted alone: see _take
        item = _Item(data, params, _params_key(params), rows, loop.create_future())
        self._queue.append(item)
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run())
        assert self._wakeup is not None
        self._wakeup.set()
        return await item.future

    async def close(self) -> None:
        """Stop the background task once the queue is empty."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._wait_for_more()
            batch = self._take()
            try:
                results = await self._placement.run(True, self._execute, batch)
            except BaseException as exc:  # the executor is shut down, or we are cancelled
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("shutting down")
                        )
                raise
            for item, (ok, value) in zip(batch, results, strict=True):
                if item.future.done():  # the client went away
                    continue
                if ok:
                    item.future.set_result(value)
                else:
                    item.future.set_exception(value)

    async def _wait_for_more(self) -> None:
        assert self._wakeup is not None
        deadline = self._queue[0].arrived + self.max_delay_s
        while sum(item.rows for item in self._queue) < self.max_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Item]:
        """The oldest request plus the later ones with equal params, up to ``max_rows``."""
        first = self._queue[0]
        batch = [first]
        rows = first.rows
        if first.rows > 0:
            for item in self._queue[1:]:
                if item.key != first.key or item.rows == 0:
                    continue
                if rows + item.rows > self.max_rows:
                    break
                batch.append(item)
                rows += item.rows
        taken = {id(item) for item in batch}
        self._queue = [item for item in self._queue if id(item) not in taken]
        return batch

    def _execute(self, batch: list[_Item]) -> list[tuple[bool, Any]]:
        """Run on the worker thread: one merged predict, else one predict per request."""
        self.calls += 1
        self.requests += len(batch)
        if len(batch) > 1:
            try:
                merged = _merge([item.data for item in batch])
                output = self._predict(merged, batch[0].params)
                parts = _split(output, [item.rows for item in batch])
                return [(True, part) for part in parts]
            except Exception:
                self.calls += len(batch)
        results: list[tuple[bool, Any]] = []
        for item in batch:
            try:
                results.append((True, self._predict(item.data, item.params)))
            except Exception as exc:
                results.append((False, exc))
        return results


def _params_key(params: Any) -> Hashable:
    """A key equal for two params only when they are identical values, type included.

    JSON encoders are no key: orjson writes NaN and both infinities as ``null``, and ``1``,
    ``1.0`` and ``true`` compare equal in Python. Values of a type not known here get a key
    of their own, so such requests are never merged.
    """
    if not params:
        return ()
    try:
        return _canonical(params)
    except _NotMergeable:
        return object()


_SCALARS = frozenset({bool, int, str, bytes, type(None)})


def _canonical(value: Any) -> Hashable:
    """A typed, hashable form of a params value (``_NotMergeable`` for unknown types)."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind.__name__, value)
    if kind is float:
        # hex() tells NaN, +inf, -inf, 0.0 and -0.0 apart; == does not.
        return ("float", value.hex())
    if kind is list or kind is tuple:
        return (kind.__name__, tuple(_canonical(v) for v in value))
    if kind is dict:
        items = [(_canonical(k), _canonical(v)) for k, v in value.items()]
        items.sort(key=lambda kv: repr(kv[0]))  # key order is not part of the value
        return ("dict", tuple(items))
    return _canonical_other(value, kind)


def _canonical_other(value: Any, kind: type) -> Hashable:
    import datetime

    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return ("ndarray-O", value.shape, _canonical(value.tolist()))
        # the bytes tell NaN payloads and signed zeros apart, as float.hex() does
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("numpy", value.dtype.str, value.tobytes())
    if isinstance(value, (str, bytes, int, datetime.date, datetime.time, datetime.timedelta)):
        # subclasses and dates: the exact type is part of the key
        return (f"{kind.__module__}.{kind.__qualname__}", repr(value))
    raise _NotMergeable(kind.__name__)


def _rows(data: Any) -> int:
    import numpy as np
    import pandas as pd

    if isinstance(data, (pd.DataFrame, pd.Series)):
        return len(data)
    if isinstance(data, np.ndarray) and data.ndim >= 1:
        return int(data.shape[0])
    if isinstance(data, dict) and data:
        lengths = {len(v) if hasattr(v, "__len__") else -1 for v in data.values()}
        if len(lengths) == 1 and (n := lengths.pop()) >= 0:
            return n
    if isinstance(data, list):
        return len(data)
    raise _NotMergeable(type(data).__name__)


def _merge(parts: list[Any]) -> Any:
    import numpy as np
    import pandas as pd

    first = parts[0]
    if isinstance(first, pd.DataFrame) and all(isinstance(p, pd.DataFrame) for p in parts):
        columns = list(first.columns)
        if any(list(p.columns) != columns for p in parts):
            raise _NotMergeable("different columns")
        return pd.concat(parts, ignore_index=True)
    if isinstance(first, np.ndarray) and all(isinstance(p, np.ndarray) for p in parts):
        if any(p.shape[1:] != first.shape[1:] or p.dtype != first.dtype for p in parts):
            raise _NotMergeable("different shapes")
        return np.concatenate(parts)
    if isinstance(first, dict) and all(isinstance(p, dict) for p in parts):
        keys = list(first)
        if any(list(p) != keys for p in parts):
            raise _NotMergeable("different keys")
        return {key: _merge([p[key] for p in parts]) for key in keys}
    if isinstance(first, list) and all(isinstance(p, list) for p in parts):
        return [row for p in parts for row in p]
    raise _NotMergeable(type(first).__name__)


def _split(output: Any, sizes: list[int]) -> list[Any]:
    import numpy as np
    import pandas as pd

    total = sum(sizes)
    bounds = np.cumsum([0, *sizes])
    if isinstance(output, (pd.DataFrame, pd.Series)):
        if len(output) != total:
            raise _NotMergeable("one output row per input row expected")
        output = output.reset_index(drop=True)
        return [output.iloc[a:b].reset_index(drop=True) for a, b in zip(bounds, bounds[1:])]
    if isinstance(output, np.ndarray) and output.ndim >= 1:
        if output.shape[0] != total:
            raise _NotMergeable("one output row per input row expected")
        return [output[a:b] for a, b in zip(bounds, bounds[1:])]
    if isinstance(output, list):
        if len(output) != total:
            raise _NotMergeable("one output row per input row expected")
        return [output[a:b] for a, b in zip(bounds, bounds[1:])]
    if isinstance(output, dict) and output:
        columns = {key: _split(value, sizes) for key, value in output.items()}
        return [{key: columns[key][i] for key in output} for i in range(len(sizes))]
    raise _NotMergeable(type(output).__name__)
