"""Small shared helpers for ``bench_*.py`` modules: timing, formatting, the table layout.

Optional: a bench module may print its table by hand, as long as it follows the convention in
``benchmarks/README.md`` (a ``== title ==`` line, then rows whose last field is a ratio such as
``41.3x``). Import as ``from _common import ...``: a bench runs as a script, so this folder is
on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable, Sequence


def quick() -> bool:
    """True when the runner asked for a short run (``run.py --quick``)."""
    return os.environ.get("SAVEUR_BENCH_QUICK") == "1"


def have(module: str) -> bool:
    """Whether ``module`` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def median_seconds(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt_time(seconds: float | None) -> str:
    """``12.3 ms``, ``45 µs``, ``1.71 s``; ``n/a`` for ``None``."""
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(ratio: float | None) -> str:
    """``41.3x`` (two decimals under 10, so ``1.04x`` stays readable); ``n/a`` for ``None``."""
    if ratio is None:
        return "n/a"
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either side was not measured."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``== title ==`` then an aligned table; the last column should be the ratio."""
    print(f"== {title} ==")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        first = str(r[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        print("  ".join([first, *rest]))
    print(flush=True)
