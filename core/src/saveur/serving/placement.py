"""Where a piece of scoring work runs: on the event loop or on the worker thread.

Small work that has lately been fast runs on the loop itself: handing it to a thread costs
more than it takes, and the two threads then contend for the GIL (measured: 1-row requests
served about 1.8 times faster inline). Work that is large, whose cost the body does not bound
(see ``scorer.small_body``), not yet measured, or lately slow goes to the worker thread, so
the loop keeps accepting connections and answering health checks meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class Placement:
    """Run callables inline while their recent duration stays under ``budget_s``."""

    def __init__(self, executor: Executor, *, budget_s: float = 0.005, weight: float = 0.2) -> None:
        self.executor = executor
        self.budget_s = budget_s
        self.weight = weight
        #: moving average of the measured durations of small work (its own run time only);
        #: None until measured on the worker thread. The very first run is not counted: a
        #: model's first call pays for lazy imports and caches, which must not stall the
        #: loop, nor keep a fast model off it for long.
        self.average_s: float | None = None
        self._runs = 0

    def inline(self, small: bool) -> bool:
        """Whether work of this size would run on the loop now."""
        return small and self.average_s is not None and self.average_s <= self.budget_s

    async def run(self, small: bool, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` inline or on the worker thread; time it when ``small``."""
        if not small:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        if self.inline(small):
            return self._timed(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, self._timed, fn, *args
        )

    def _timed(self, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            elapsed = time.perf_counter() - started
            self._runs += 1
            if self._runs == 1:
                pass  # the warm-up run
            elif self.average_s is None:
                self.average_s = elapsed
            else:
                self.average_s += self.weight * (elapsed - self.average_s)
