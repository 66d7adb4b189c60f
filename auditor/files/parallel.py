"""Table files read on every core: a pool of worker processes, each with its own reader, results taken back in
the order the files were submitted — so findings, coverage and the incremental state come out the same
whatever the number of workers.

The pool starts only when a second file needs reading (an unchanged rescan and a one-file change never pay
for it). Workers are started after the scan lowered its priority (auditor.scan.pipeline.lower_priority): the
lowest CPU priority and idle I/O are inherited by them. A worker opens the file by its path through
auditor.safeio (the tree's rules); a file read in this process is opened through the walk's own entry. A pool
that breaks (a worker killed) is not a lost file: the file, and every later one, is read here. On Windows the
pool is not used yet (see ``_pool``)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import safeio

WINDOW = 8  # files in flight per worker: enough to keep them busy, few enough to bound held results

_reader: Any = None  # the worker's reader


def default_jobs() -> int:
    """Every core this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _start(make_reader: Callable[[], Any]) -> None:
    global _reader
    _reader = make_reader()


def _read(path: str, tree: safeio.Tree) -> list[dict[str, Any]]:
    return _reader.summaries(Path(path), None, tree)


class _Done:
    """A result read in this process, with a Future's face."""

    def __init__(self, value: list[dict[str, Any]]) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> list[dict[str, Any]]:
        return self.value


class ParallelReads:
    """Submit files in walk order; ``ready`` hands back (item, summaries) in that same order."""

    def __init__(self, reader: Any, make_reader: Callable[[], Any], jobs: int, tree: safeio.Tree) -> None:
        self.reader, self.make_reader, self.jobs, self.tree = reader, make_reader, max(1, jobs), tree
        self.pool: ProcessPoolExecutor | None = None
        self.broken = False
        self.fresh = 0
        self.pending: deque[tuple[Any, Any]] = deque()  # (item, Future | _Done | None)

    def add(self, item: Any, cand: Any | None) -> None:
        """Queue ``item``; ``cand`` (a walk Candidate) when its file must be read, None when it need not."""
        job = None
        if cand is not None:
            self.fresh += 1
            pool = self._pool() if self.fresh > 1 else None
            try:
                job = pool.submit(_read, str(cand.path), self.tree) if pool is not None else None
            except BrokenProcessPool:
                self.broken, job = True, None
            if job is None:
                job = _Done(self.reader.summaries(cand.path, cand.open))
            else:
                job.cand = cand  # type: ignore[attr-defined]  # read here if the pool breaks
        self.pending.append((item, job))

    def ready(self, wait: bool = False) -> Iterator[tuple[Any, list[dict[str, Any]] | None]]:
        """(item, summaries or None) from the head of the queue: those finished; with ``wait`` all of them, and
        while more than WINDOW files per worker are in flight, the oldest ones."""
        limit = WINDOW * self.jobs
        while self.pending:
            item, job = self.pending[0]
            if job is not None and not (wait or len(self.pending) > limit or job.done()):
                return
            self.pending.popleft()
            yield item, None if job is None else self._result(job)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    # ------------------------------------------------------------------ the pool
    def _pool(self) -> ProcessPoolExecutor | None:
        if self.jobs < 2 or self.broken or sys.platform == "win32":
            # Windows: auditor.exe with a pool hung under Wine 8 (--jobs 2 did not finish in 240 s where --jobs 1
            # took 18 s); until that is understood and proven, files are read in this process there
            return None
        if self.pool is None:
            # spawn everywhere: no copy of this process's threads and open handles, the same on Windows
            ctx = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_start,
                                            initargs=(self.make_reader,))
        return self.pool

    def _result(self, job: Future | _Done) -> list[dict[str, Any]]:
        try:
            return job.result()
        except BrokenProcessPool:
            self.broken = True
            cand = job.cand  # type: ignore[union-attr]
            return self.reader.summaries(cand.path, cand.open)
