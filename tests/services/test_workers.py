"""The worker pool against real worker processes: exceptions that cross the process
boundary, workers that die mid-run (os._exit in a job, SIGKILL from outside), and the
pool being rebuilt while the rest of the work goes on."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.news.fetch import FetchError
from bot.news.parse import FeedParseError, parse_feed
from bot.services.workers import (
    JOB_DEADLINE,
    WorkerCrashed,
    WorkerError,
    WorkerPool,
    WorkerTimeout,
    portable,
)

RESULT_TIMEOUT = 60  # generous: the machine may be busy


def square_slowly(x: int) -> int:
    time.sleep(0.02)
    return x * x


def die() -> None:
    os._exit(3)


def spin_forever() -> None:
    while True:
        pass


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


class NeedsTwoArgs(Exception):
    """An exception whose default pickling breaks: cls(*args) misses an argument."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def raise_unpicklable() -> None:
    raise NeedsTwoArgs("x", "y")


def raise_system_exit() -> None:
    sys.exit(4)


def raise_fetch_error() -> None:
    raise FetchError("http://f.example/", "HTTP 503", status=503, retry_after=9.0, kind="fetch")


WORKER_ERRORS = [
    FeedParseError("not a feed: HTML page", kind="html"),
    FeedParseError("no entries (ill-formed XML)", kind="no_entries"),
    FetchError("http://f.example/", "cannot resolve host f.example", kind="dns"),
    WorkerError("NeedsTwoArgs", "x/y"),
    WorkerCrashed("the worker process died while running this job (2 times)"),
    WorkerTimeout("the job ran past its 120 s deadline, so its worker process was killed"),
]


@pytest.mark.parametrize("exc", WORKER_ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_type_survives_pickle(exc: Exception) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc) and str(copy) == str(exc)
    assert vars(copy) == vars(exc)
    assert portable(exc) is exc


def test_feed_parse_errors_cross_a_plain_process_pool() -> None:
    # The original defect: the pool broke on the first FeedParseError from a worker.
    with ProcessPoolExecutor(1) as pool:
        for body, kind in ((b"", "empty"), (b"<html><body><p>x</p></body></html>", "html")):
            future = pool.submit(parse_feed, body, base_url="http://f.example/")
            with pytest.raises(FeedParseError) as info:
                future.result(timeout=RESULT_TIMEOUT)
            assert info.value.kind == kind
        with pytest.raises(FetchError) as fetch_info:
            pool.submit(raise_fetch_error).result(timeout=RESULT_TIMEOUT)
        assert (fetch_info.value.status, fetch_info.value.retry_after) == (503, 9.0)
        assert pool.submit(square_slowly, 3).result(timeout=RESULT_TIMEOUT) == 9


def test_unpicklable_and_non_exception_errors_arrive_as_worker_errors() -> None:
    pool = WorkerPool(1)
    try:
        with pytest.raises(WorkerError, match="NeedsTwoArgs: x/y"):
            pool.submit(raise_unpicklable).result(timeout=RESULT_TIMEOUT)
        with pytest.raises(WorkerError, match="SystemExit"):
            pool.submit(raise_system_exit).result(timeout=RESULT_TIMEOUT)
        with pytest.raises(FeedParseError) as info:
            pool.submit(parse_feed, b"", base_url="http://f.example/").result(
                timeout=RESULT_TIMEOUT)
        assert info.value.kind == "empty"
        assert pool.submit(square_slowly, 4).result(timeout=RESULT_TIMEOUT) == 16
        assert pool.rebuilds == 0  # none of that broke the pool
    finally:
        pool.shutdown()


def test_a_job_that_kills_its_worker_costs_only_itself() -> None:
    pool = WorkerPool(1)
    try:
        before = [pool.submit(square_slowly, i) for i in range(5)]
        poison = pool.submit(die)
        after = [pool.submit(square_slowly, i) for i in range(5, 15)]
        assert [f.result(timeout=RESULT_TIMEOUT) for f in before + after] == [
            i * i for i in range(15)
        ]
        with pytest.raises(WorkerCrashed, match="2 times"):  # retried once, then given up
            poison.result(timeout=RESULT_TIMEOUT)
        assert pool.rebuilds == 2
        assert pool.submit(square_slowly, 7).result(timeout=RESULT_TIMEOUT) == 49
    finally:
        pool.shutdown()


def test_worker_killed_from_outside_mid_run_loses_nothing() -> None:
    pool = WorkerPool(1)
    try:
        futures = [pool.submit(sleep_then, 0.05, i) for i in range(30)]
        busy = _wait_busy(pool)
        pid, _job = busy[0]
        os.kill(pid, signal.SIGKILL)
        # the job in flight is retried (it did nothing wrong), the pending ones resubmitted
        assert [f.result(timeout=RESULT_TIMEOUT) for f in futures] == list(range(30))
        assert pool.rebuilds >= 1
        assert pid not in [p for p, _ in pool.busy()]
    finally:
        pool.shutdown()


def test_idle_worker_killed_between_jobs_is_replaced() -> None:
    pool = WorkerPool(1)
    try:
        assert pool.submit(sleep_then, 0.2, 1).result(timeout=RESULT_TIMEOUT) == 1
        future = pool.submit(sleep_then, 1.0, 2)
        pid = _wait_busy(pool)[0][0]
        future.result(timeout=RESULT_TIMEOUT)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + RESULT_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.submit(square_slowly, 5).result(timeout=RESULT_TIMEOUT) == 25
    finally:
        pool.shutdown()


def test_two_workers_one_poison_job() -> None:
    pool = WorkerPool(2)
    try:
        futures = [pool.submit(sleep_then, 0.03, i) for i in range(20)]
        poison = pool.submit(die)
        futures += [pool.submit(sleep_then, 0.03, i) for i in range(20, 40)]
        assert [f.result(timeout=RESULT_TIMEOUT) for f in futures] == list(range(40))
        with pytest.raises(WorkerCrashed):
            poison.result(timeout=RESULT_TIMEOUT)
    finally:
        pool.shutdown()


def test_a_stuck_job_is_killed_at_its_deadline_and_costs_only_itself() -> None:
    pool = WorkerPool(1, deadline=2.0)  # short for the test; the default is JOB_DEADLINE
    try:
        before = [pool.submit(sleep_then, 0.01, i) for i in range(3)]
        stuck = pool.submit(spin_forever)
        after = [pool.submit(sleep_then, 0.01, i) for i in range(3, 8)]
        with pytest.raises(WorkerTimeout, match="deadline") as info:
            stuck.result(timeout=RESULT_TIMEOUT)
        assert isinstance(info.value, WorkerCrashed)  # ingest records it as a worker failure
        assert [f.result(timeout=RESULT_TIMEOUT) for f in before + after] == list(range(8))
        assert pool.rebuilds == 1  # killed once: a stuck job is not retried
        assert pool.submit(square_slowly, 6).result(timeout=RESULT_TIMEOUT) == 36
    finally:
        pool.shutdown()


def test_the_default_deadline_is_generous_and_a_bad_one_is_refused() -> None:
    assert JOB_DEADLINE >= 60
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="deadline"):
            WorkerPool(1, deadline=bad)


def test_shutdown_cancels_what_has_not_run() -> None:
    pool = WorkerPool(1)
    running = pool.submit(sleep_then, 0.5, 1)
    queued = [pool.submit(sleep_then, 0.5, i) for i in range(10)]
    _wait_busy(pool)
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.result(timeout=RESULT_TIMEOUT) == 1
    wait(queued, timeout=RESULT_TIMEOUT)
    assert any(f.cancelled() for f in queued)
    with pytest.raises(CancelledError):
        pool.submit(square_slowly, 2).result(timeout=RESULT_TIMEOUT)


def test_a_plain_process_pool_breaks_where_ours_does_not() -> None:
    # The behaviour WorkerPool exists to contain.
    with ProcessPoolExecutor(1) as pool:
        pool.submit(die)
        with pytest.raises(BrokenProcessPool):  # at submit, or from the future
            pool.submit(square_slowly, 2).result(timeout=RESULT_TIMEOUT)


def _wait_busy(pool: WorkerPool) -> list[tuple[int, int]]:
    deadline = time.monotonic() + RESULT_TIMEOUT
    while time.monotonic() < deadline:
        busy = pool.busy()
        if busy:
            return busy
        time.sleep(0.002)
    raise AssertionError("no worker ever became busy")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
