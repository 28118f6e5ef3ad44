"""Placement of scoring work: small fast work inline on the loop, the rest on the worker thread."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from saveur.serving.placement import Placement


def _thread_names(placement, calls):
    async def main():
        names = []
        for small, seconds in calls:
            def work(seconds=seconds):
                time.sleep(seconds)
                return threading.current_thread().name

            names.append(await placement.run(small, work))
        return names

    return asyncio.run(main())


def test_small_fast_work_runs_on_the_loop_and_large_work_on_the_worker():
    with ThreadPoolExecutor(1, thread_name_prefix="worker") as executor:
        names = _thread_names(Placement(executor), [(True, 0)] * 3 + [(False, 0)])
    assert names[0].startswith("worker")  # nothing measured yet: the warm-up run
    assert names[1].startswith("worker")  # the first measured run
    assert names[2] == threading.current_thread().name
    assert names[3].startswith("worker")


def test_a_slow_first_run_does_not_keep_fast_work_off_the_loop():
    with ThreadPoolExecutor(1, thread_name_prefix="worker") as executor:
        placement = Placement(executor, budget_s=0.01)
        names = _thread_names(placement, [(True, 0.2), (True, 0), (True, 0)])
    assert names[0].startswith("worker") and names[1].startswith("worker")
    assert names[2] == threading.current_thread().name


def test_slow_small_work_moves_to_the_worker_and_comes_back_when_fast_again():
    with ThreadPoolExecutor(1, thread_name_prefix="worker") as executor:
        placement = Placement(executor, budget_s=0.01, weight=1.0)
        names = _thread_names(placement, [(True, 0)] * 3 + [(True, 0.05), (True, 0), (True, 0)])
    names = names[2:]
    assert names[0] == threading.current_thread().name  # measured fast
    assert names[1] == threading.current_thread().name  # measured fast
    assert names[2].startswith("worker")  # the last run took 50 ms > 10 ms
    assert names[3] == threading.current_thread().name  # measured fast again on the worker
