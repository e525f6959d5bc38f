"""A process pool that survives its workers: CPU-bound parsing and extraction.

`WorkerPool` looks like a `concurrent.futures.Executor` and wraps a
`ProcessPoolExecutor` that is started on first use (commands that never parse pay
nothing) and rebuilt whenever it breaks:

- An exception raised by a job reaches the caller as itself when it survives a pickle
  round trip, and as a `WorkerError` naming it otherwise — an exception that cannot be
  unpickled in the parent would otherwise break the whole pool.
- A worker that dies (os._exit, SIGKILL, a segfault, the OOM killer) breaks the
  executor, which then fails every pending future at once. Each worker records the job
  it is running in shared memory, so the job the dead worker was running is known: it
  is retried once (`max_retries`) and then fails with `WorkerCrashed`; every other
  job (pending, or running in a surviving worker) was innocent and is resubmitted to
  the new pool without cost.
- Breaks with no job in flight (a worker dying at start-up, say) are counted: after
  `MAX_UNEXPLAINED_BREAKS` of them in a row the waiting jobs fail instead of looping.
- A job still running `deadline` seconds (`JOB_DEADLINE`) after a watchdog thread first
  saw it start (stuck in a loop, say) has its worker SIGKILLed: the rebuild above
  saves the other jobs, and that one fails with `WorkerTimeout`, without a retry.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Executor, Future, InvalidStateError
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.sharedctypes import Synchronized
from typing import Any

log = logging.getLogger(__name__)

MAX_UNEXPLAINED_BREAKS = 3
DEATH_WAIT = 2.0  # seconds a broken pool waits to see which worker died
JOB_DEADLINE = 120.0  # seconds one job may run; parsing a capped feed or page takes < 5


class WorkerError(RuntimeError):
    """A job failed with an exception that could not cross the process boundary."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name


class WorkerCrashed(RuntimeError):
    """The worker process running this job died (and it died again on a retry)."""

    def __init__(self, message: str = "the worker process died while running this job") -> None:
        super().__init__(message)


class WorkerTimeout(WorkerCrashed):
    """The job ran past the pool's deadline, so its worker process was killed."""


# -- inside a worker ------------------------------------------------------------------

_slot: tuple[Any, int] | None = None  # (shared array, index of this worker's pair)


def _init_worker(
    slots: Any, counter: Synchronized, init: Callable[..., None] | None, initargs: tuple
) -> None:
    global _slot
    with counter.get_lock():
        index = counter.value % (len(slots) // 2)
        counter.value += 1
    slots[2 * index] = os.getpid()
    _slot = (slots, 2 * index + 1)
    if init is not None:
        init(*initargs)


def portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling (so the parent can rebuild it), else a WorkerError.
    Exceptions that are not `Exception`s (SystemExit…) never travel as themselves."""
    if isinstance(exc, Exception):
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # any failure at all means "not portable"
            return WorkerError(type(exc).__name__, str(exc)[:500])
        return exc
    return WorkerError(type(exc).__name__, str(exc)[:500])


def _run(job_id: int, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    if _slot is not None:
        _slot[0][_slot[1]] = job_id
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:
        safe = portable(exc)
        if safe is exc:
            raise
        raise safe from None
    finally:
        if _slot is not None:
            _slot[0][_slot[1]] = 0


# -- in the parent ----------------------------------------------------------------------


@dataclass(eq=False)
class _Job:
    id: int
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    future: Future = field(default_factory=Future)
    crashes: int = 0
    inner: Future | None = None
    timed_out: bool = False  # its worker was killed for running past the deadline


@dataclass(eq=False)
class _Generation:
    executor: ProcessPoolExecutor
    slots: Any  # RawArray of (pid, running job id) pairs
    broken: bool = False
    suspects: frozenset[int] | None = None  # jobs running when it broke
    rebuilder: threading.Thread | None = None  # shuts it down, feeds its successor

    def workers(self) -> list[tuple[int, int]]:
        """(pid, running job id or 0) for each worker that has started."""
        pairs = list(self.slots)
        return [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2) if pairs[i]]

    def running(self) -> list[tuple[int, int]]:
        return [(pid, job_id) for pid, job_id in self.workers() if job_id]

    def killed_jobs(self) -> frozenset[int]:
        """The jobs that were running in workers that have died. Called as the broken
        executor fails its futures, before it terminates the surviving workers, whose
        jobs are innocent. A dying worker closes its pipes (which is how the executor
        notices) a moment before the kernel shows it as exited, so wait up to
        ``DEATH_WAIT`` for one to show; a dead worker that was idle accuses no one.
        When no dead worker can be told apart (no /proc, or none showed in time), every
        running job is a suspect."""
        workers = self.workers()
        running = frozenset(job_id for _, job_id in workers if job_id)
        if not os.path.isdir("/proc/self"):
            return running
        give_up = time.monotonic() + DEATH_WAIT
        while True:
            dead = {pid for pid, _ in workers if _exited(pid)}
            if dead:
                return frozenset(job_id for pid, job_id in workers if pid in dead and job_id)
            if time.monotonic() >= give_up:
                return running
            time.sleep(0.005)


def _exited(pid: int) -> bool:
    """Whether child ``pid`` has exited (a zombie not yet reaped counts), without
    reaping it: the executor does that."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[-1].split()[0]
    except FileNotFoundError:
        return os.path.isdir("/proc/self")  # gone — if there is a /proc at all
    except (OSError, IndexError):
        return False
    return state in (b"Z", b"X")


class WorkerPool(Executor):
    def __init__(
        self,
        workers: int,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
        *,
        max_retries: int = 1,
        deadline: float | None = JOB_DEADLINE,
    ) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        self._workers = workers
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._max_retries = max_retries
        if deadline is not None and deadline <= 0:
            raise ValueError("a job deadline must be positive (or None for none)")
        self._deadline = deadline
        self._jobs: dict[int, _Job] = {}  # submitted and not yet done, by id
        self._watchdog: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ctx = get_context()
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._generation: _Generation | None = None
        self._stranded: list[_Job] = []
        self._unexplained = 0
        self._closed = False
        self.rebuilds = 0  # how many times the pool broke (and was, or is being, replaced)

    # -- Executor ----------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        job = _Job(next(self._ids), fn, args, kwargs)
        with self._lock:
            self._jobs[job.id] = job
        job.future.add_done_callback(lambda f, job=job: self._done(job, f))
        self._dispatch(job)
        return job.future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._stopping.set()
        with self._lock:
            self._closed = True
            generation, self._generation = self._generation, None
            stranded, self._stranded = self._stranded, []
        for job in stranded:
            job.future.cancel()
        if generation is None:
            return
        if generation.rebuilder is None:
            generation.executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        elif wait:  # broken: its rebuilder shuts it down (twice would close fds twice)
            generation.rebuilder.join()

    # -- for tests and diagnostics --------------------------------------------------------
    def busy(self) -> list[tuple[int, int]]:
        """(worker pid, job id) for each worker running a job right now."""
        with self._lock:
            return self._generation.running() if self._generation else []

    # -- internals -----------------------------------------------------------------------
    def _current(self) -> _Generation:
        if self._generation is None:
            slots = self._ctx.RawArray("q", 2 * self._workers)
            counter = self._ctx.Value("i", 0)
            executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(slots, counter, self._initializer, self._initargs),
            )
            self._generation = _Generation(executor, slots)
            if self._deadline is not None and self._watchdog is None:
                self._watchdog = threading.Thread(
                    target=self._watch, args=(self._deadline,), name="worker-pool-watchdog",
                    daemon=True)
                self._watchdog.start()
        return self._generation

    def _watch(self, deadline: float) -> None:
        """Kill the worker of any job seen running for longer than ``deadline``."""
        started: dict[tuple[int, int], float] = {}  # (pid, job id) → first seen running
        while not self._stopping.wait(min(deadline / 4, 1.0)):
            now = time.monotonic()
            with self._lock:
                generation = self._generation
                running = generation.running() if generation and not generation.broken else []
                started = {key: started.get(key, now) for key in running}
                for (pid, job_id), since in started.items():
                    job = self._jobs.get(job_id)
                    if now - since < deadline or job is None or job.timed_out:
                        continue
                    job.timed_out = True
                    log.warning("job %d ran past its %g s deadline; killing worker %d",
                                job_id, deadline, pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _dispatch(self, job: _Job) -> None:
        with self._lock:
            if job.future.done():
                return
            if self._closed:
                job.future.cancel()
                return
            generation = self._current()
            if not generation.broken:
                try:
                    inner = generation.executor.submit(_run, job.id, job.fn, job.args, job.kwargs)
                except BrokenProcessPool:
                    pass  # an idle worker died: nothing was pending, so no callback recovers
                else:
                    job.inner = inner
                    inner.add_done_callback(
                        lambda f, g=generation, job=job: self._settle(g, job, f)
                    )
                    return
            self._stranded.append(job)
            self._recover(generation)

    def _done(self, job: _Job, future: Future) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        if not future.cancelled():
            return
        future.set_running_or_notify_cancel()  # wakes concurrent.futures.wait()ers
        if job.inner is not None:
            job.inner.cancel()

    def _settle(self, generation: _Generation, job: _Job, inner: Future) -> None:
        if job.future.done():
            return
        if inner.cancelled():
            job.future.cancel()
            return
        exc = inner.exception()
        if not isinstance(exc, BrokenProcessPool):
            with self._lock:
                self._unexplained = 0
            _resolve(job.future, inner)
            return
        if generation.suspects is None:
            suspects = generation.killed_jobs()  # may wait a moment: not under the lock
            with self._lock:
                if generation.suspects is None:
                    generation.suspects = suspects
                    self._unexplained = 0 if suspects else self._unexplained + 1
        with self._lock:
            self._recover(generation)
            if job.timed_out:
                _fail(job.future, WorkerTimeout(
                    f"the job ran past its {self._deadline:g} s deadline, so its worker "
                    "process was killed"))
                return
            if job.id in generation.suspects:
                job.crashes += 1
                if job.crashes > self._max_retries:
                    _fail(job.future, WorkerCrashed(
                        f"the worker process died while running this job "
                        f"({job.crashes} times)"))
                    return
            self._stranded.append(job)

    def _recover(self, generation: _Generation) -> None:
        """Called with the lock held: replace a broken generation, off this thread."""
        if generation.broken:
            return
        generation.broken = True
        self.rebuilds += 1
        generation.rebuilder = threading.Thread(
            target=self._rebuild, args=(generation,), name="worker-pool-rebuild", daemon=True
        )
        generation.rebuilder.start()

    def _rebuild(self, generation: _Generation) -> None:
        # Waits for the broken executor's manager thread, so every future it was going
        # to fail has failed (and been stranded) before the new pool is fed.
        generation.executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            if self._generation is generation:
                self._generation = None
            stranded, self._stranded = self._stranded, []
            give_up = self._unexplained >= MAX_UNEXPLAINED_BREAKS
            if give_up:
                self._unexplained = 0
        log.warning("a worker process died; worker pool rebuilt (%d job(s) resubmitted)",
                    len(stranded))
        # Innocent jobs first, the ones that were in flight last: a job that kills its
        # worker again then cannot take the innocent ones down with it.
        for job in sorted(stranded, key=lambda j: (j.crashes, j.id)):
            if give_up:
                _fail(job.future, WorkerCrashed(
                    "worker processes keep dying before running any job"))
            else:
                self._dispatch(job)


def _resolve(future: Future, inner: Future) -> None:
    try:
        exc = inner.exception()
        if exc is None:
            future.set_result(inner.result())
        else:
            future.set_exception(exc)
    except (InvalidStateError, CancelledError):
        pass  # cancelled meanwhile


def _fail(future: Future, exc: BaseException) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
        future.set_exception(exc)
