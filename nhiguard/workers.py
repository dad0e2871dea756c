"""A lean process pool for batch work: N worker processes, one pipe each; tasks in, results out, any order.

Why not `multiprocessing.Pool`: its worker-handler thread waits on the result queue too, so while a result
sits unread it wakes and loops without sleeping (tens of thousands of empty turns in a large history sweep,
half a CPU-second), and a worker that dies leaves the pool hanging. Here the caller's thread reads the results
itself, one sender thread writes the tasks (neither side can then block the other on a full pipe), and a
worker that dies is an error.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from nhiguard.errors import NhiguardError

Tag = TypeVar("Tag")
_Outbox = queue.SimpleQueue[tuple[Connection, tuple[Any, ...] | None] | None]


class WorkerDied(NhiguardError):
    """A worker process ended without answering (killed, out of memory, crashed)."""


def forks() -> bool:
    """Whether workers are forked here: they then start with the caller's memory (a compiled engine needs no
    copy, and the initializer's arguments are not pickled); elsewhere they are spawned."""
    return multiprocessing.get_start_method(allow_none=True) in (None, "fork") and hasattr(os, "fork")


def _serve(conn: Connection, handler: Callable[..., Any], initializer: Callable[..., None],
           initargs: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (a forked worker inherits the caller's handler)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle: it stops the workers
    initializer(*initargs)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            answer: tuple[bool, Any] = (True, handler(*task))
        except Exception as exc:  # handed to the caller, which raises it
            answer = (False, exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}"))
        conn.send(answer)


def _picklable(exc: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - bytes made on the line, never read from outside
    except Exception:  # an exception whose class cannot be rebuilt: a plain copy goes instead
        return False
    return True


class Workers(Generic[Tag]):
    """`jobs` processes that run `initializer(*initargs)` once, then `handler(*args)` per submitted task.
    Forked where the platform allows (the workers share the caller's compiled state), spawned elsewhere (then
    the handler, initializer and arguments must pickle)."""

    def __init__(self, jobs: int, handler: Callable[..., Any], initializer: Callable[..., None],
                 initargs: tuple[Any, ...] = ()) -> None:
        context: Any = multiprocessing.get_context("fork" if forks() else "spawn")
        self._conns: list[Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        self._queued: list[deque[Tag]] = []
        try:
            for _ in range(max(1, jobs)):
                mine, theirs = context.Pipe()
                proc = context.Process(target=_serve, args=(theirs, handler, initializer, initargs), daemon=True,
                                       name="nhiguard-worker")
                proc.start()
                theirs.close()
                self._conns.append(mine)
                self._procs.append(proc)
                self._queued.append(deque())
        except BaseException:
            self.terminate()
            raise
        self._outbox: _Outbox = queue.SimpleQueue()
        # started after the forks, so no worker inherits a copy of it
        self._sender = threading.Thread(target=self._send, name="nhiguard-sender", daemon=True)
        self._sender.start()

    def _send(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            conn, task = item
            with contextlib.suppress(OSError):  # a dead worker: `result` reports it
                conn.send(task)

    @property
    def jobs(self) -> int:
        return len(self._procs)

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queued)

    def submit(self, tag: Tag, *args: Any) -> None:
        """Queue `handler(*args)` on the worker with the fewest tasks; `result` gives `tag` back with it."""
        worker = min(range(len(self._conns)), key=lambda i: len(self._queued[i]))
        self._queued[worker].append(tag)
        self._outbox.put((self._conns[worker], args))

    def result(self) -> tuple[Tag, Any]:
        """The next answer from any worker, with its task's tag; a task's exception is raised here."""
        waiting = [conn for conn, queued in zip(self._conns, self._queued, strict=True) if queued]
        if not waiting:
            raise LookupError("no task pending")
        conn = multiprocessing.connection.wait(waiting)[0]
        index = self._conns.index(conn)  # type: ignore[arg-type]
        try:
            ok, value = self._conns[index].recv()
        except (EOFError, OSError):
            self._procs[index].join(timeout=1)
            raise WorkerDied(f"a scan worker stopped unexpectedly (exit code {self._procs[index].exitcode})"
                             ) from None
        tag = self._queued[index].popleft()
        if not ok:
            raise value
        return tag, value

    def stream(self, tasks: Iterable[tuple[Tag, tuple[Any, ...]]], per_worker: int = 3) -> Iterator[tuple[Tag, Any]]:
        """(tag, answer) for every (tag, arguments) task, answers as they come; at most `per_worker` tasks are
        queued on each worker, so a long stream of tasks is never all in memory."""
        source = iter(tasks)
        while True:
            while self.pending < self.jobs * per_worker:
                task = next(source, None)
                if task is None:
                    break
                self.submit(task[0], *task[1])
            if not self.pending:
                return
            yield self.result()

    def __enter__(self) -> Workers[Tag]:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()

    def close(self) -> None:
        """Let the workers finish (they run their exit handlers) and wait for them."""
        for conn in self._conns:
            self._outbox.put((conn, None))
        self._outbox.put(None)
        self._sender.join()
        for proc in self._procs:
            proc.join()
        self._release()

    def terminate(self) -> None:
        """Stop the workers now (their unfinished tasks are dropped)."""
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join()
        if getattr(self, "_sender", None) is not None and self._sender.is_alive():
            self._outbox.put(None)
            self._sender.join(timeout=5)
        self._release()

    def _release(self) -> None:
        for conn in self._conns:
            conn.close()
        self._conns = []
        for proc in self._procs:
            with contextlib.suppress(ValueError):
                proc.close()
        self._procs = []
        self._queued = []
