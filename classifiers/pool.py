"""The classification pipeline run in worker processes, so that every core can classify.

A classification is CPU-bound Python and Cython that holds the GIL most of the time (spaCy's
NER, Presidio's recognisers, the regex tables), so threads in one process classify one text at
a time however many cores there are, and they take the GIL from the process that serves HTTP
and owns the embedded vector store. :class:`ProcessPoolPipeline` keeps the pipeline's interface
and runs :meth:`ClassificationPipeline.findings_many` in ``workers`` processes instead; policy
and pseudonymisation stay in the calling process (they need the pseudonym key, and cost
microseconds), so a worker only ever sees the text and returns findings, which hold no text.

Workers are started with ``spawn``: forking a process that already runs threads (the HTTP
server, torch, the scheduler) can deadlock the child on a lock some thread held at the fork.
Each worker builds its pipeline once, from a picklable ``factory``, and classifies a text before
it takes work, so no request pays for loading the models. A worker that dies (killed, out of
memory) breaks the pool: the call that saw it fails closed and the next call gets a new pool.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.synchronize import Barrier
from threading import BrokenBarrierError

from classifiers.findings import Finding
from classifiers.pipeline import (
    ClassificationPipeline,
    ClassificationStoppedError,
    ClassifierFailedError,
)

PipelineFactory = Callable[[], ClassificationPipeline]
"""Builds the pipeline in a worker; must be picklable (a module-level function or a partial)."""

# Short, and with a name, a number and an e-mail address, so that the warm-up runs the NER and
# the recognisers (lazy regex compilation, spaCy's caches) before any request does.
_WARM_UP = "Warm-up: Ada Lovelace (ada@example.org) moved to London on 10 Dec 1815."

# Modules a worker never needs but would import: thinc (under spaCy) imports torch whenever it
# is installed, and Presidio imports transformers, only to offer GPU and transformer models.
# Measured here: a worker holding them took ~480 MB and ~12 s to start under load; without
# them ~150 MB and ~3 s, with the same findings. A transformer-based spaCy model (``*_trf``)
# does need torch: pass ``without=()`` for one.
WITHOUT: tuple[str, ...] = ("torch", "transformers")

_worker_pipeline: ClassificationPipeline | None = None


def _start_worker(factory: bytes, without: tuple[str, ...], ready: Barrier) -> None:
    global _worker_pipeline  # noqa: PLW0603 - one pipeline per worker process, built once
    try:
        for module in without:
            # None in sys.modules makes `import module` raise ImportError, which both libraries
            # catch. The factory arrives pickled so that unpickling it (which imports the
            # classifiers, spaCy, Presidio) happens after this, not while the worker starts.
            sys.modules.setdefault(module, None)  # type: ignore[arg-type]
        _worker_pipeline = pickle.loads(factory)()  # noqa: S301 - our own bytes, from the parent
        _worker_pipeline.findings(_WARM_UP)
    except BaseException:
        ready.abort()  # the parent stops waiting for this worker and fails
        raise
    ready.wait()


def _worker_names() -> tuple[str, ...]:
    assert _worker_pipeline is not None  # noqa: S101 - set by the initializer
    return _worker_pipeline.names


def _worker_findings(texts: list[str]) -> list[list[Finding]]:
    assert _worker_pipeline is not None  # noqa: S101 - set by the initializer
    return _worker_pipeline.findings_many(texts)


class WorkerStartError(RuntimeError):
    """A worker process could not build its pipeline (a model not installed, an import)."""


class ProcessPoolPipeline(ClassificationPipeline):
    """A :class:`ClassificationPipeline` whose classifiers run in ``workers`` processes.

    The constructor starts every worker and waits until each has loaded its models (a few
    seconds for the spaCy model); a factory that fails in a worker, or workers that are not
    ready within ``start_timeout`` seconds, fail it with :class:`WorkerStartError`.
    One call is classified by one worker; concurrent calls (up to ``workers``) run in parallel.
    Thread-safe. Call :meth:`close` to stop the workers.
    """

    def __init__(
        self,
        factory: PipelineFactory,
        *,
        workers: int,
        without: tuple[str, ...] = WITHOUT,
        start_timeout: float = 300.0,
    ) -> None:
        if workers < 1:
            raise ValueError("a process pool needs at least one worker")
        super().__init__(())
        self._factory = pickle.dumps(factory)
        self._without = without
        self._start_timeout = start_timeout
        self._workers = workers
        self._lock = threading.Lock()
        self._executor = self._start()
        try:
            self._names = self._executor.submit(_worker_names).result()
        except BaseException:
            self._executor.shutdown(wait=False, cancel_futures=True)
            raise

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def workers(self) -> int:
        """How many worker processes classify."""
        return self._workers

    def findings_many(
        self, texts: Sequence[str], stop: Callable[[], bool] | None = None
    ) -> list[list[Finding]]:
        """:meth:`ClassificationPipeline.findings_many`, in one worker process (``stop`` is
        asked once, before the work is sent: a worker runs a call to its end)."""
        if stop is not None and stop():
            raise ClassificationStoppedError("worker process")
        executor = self._executor
        try:
            return executor.submit(_worker_findings, list(texts)).result()
        except BrokenProcessPool as exc:
            self._restart(executor)
            # The name only, as for any classifier failure: the message may not hold the text.
            raise ClassifierFailedError("worker process") from exc

    def close(self) -> None:
        """Stop the workers; a call still queued fails (and so fails closed)."""
        with self._lock:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        # Every worker and this process meet here once the worker has loaded and warmed up.
        ready = context.Barrier(self._workers + 1)
        executor = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(self._factory, self._without, ready),
        )
        # The executor starts a process for each task submitted while none is idle, so one
        # task per worker starts them all now (whichever worker is ready first may run them).
        started = [executor.submit(_worker_names) for _ in range(self._workers)]
        try:
            ready.wait(timeout=self._start_timeout)
            for future in started:
                future.result()
        except (BrokenBarrierError, BrokenProcessPool) as exc:
            executor.shutdown(wait=False, cancel_futures=True)
            # The worker printed its own traceback ("Exception in initializer") to stderr.
            raise WorkerStartError("a classifier worker failed to load its pipeline") from exc
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return executor

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:  # another thread may have restarted it already
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
