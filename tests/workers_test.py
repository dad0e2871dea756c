"""The process pool: every task answered once with its tag, errors raised in the caller, a dead worker reported."""

from __future__ import annotations

import os
import signal

import pytest

from nhiguard.workers import WorkerDied, Workers

_STATE: dict[str, int] = {}


def _init(offset: int) -> None:
    _STATE["offset"] = offset


def _work(n: int) -> tuple[int, int]:
    if n < 0:
        raise ValueError(f"negative: {n}")
    if n == 666:
        os.kill(os.getpid(), signal.SIGKILL)
    return n + _STATE["offset"], os.getpid()


def test_every_task_is_answered_once_with_its_tag() -> None:
    pool: Workers[str] = Workers(2, _work, _init, (1000,))
    try:
        for n in range(40):
            pool.submit(f"task {n}", n)
        answers = {}
        pids = set()
        while pool.pending:
            tag, (value, pid) = pool.result()
            answers[tag] = value
            pids.add(pid)
        pool.close()
    finally:
        pool.terminate()
    assert answers == {f"task {n}": n + 1000 for n in range(40)}
    assert len(pids) == 2 and os.getpid() not in pids  # the work ran in both workers, not here


def test_a_task_error_is_raised_in_the_caller_and_the_pool_goes_on() -> None:
    pool: Workers[int] = Workers(1, _work, _init, (0,))
    try:
        pool.submit(1, -5)
        with pytest.raises(ValueError, match="negative: -5"):
            pool.result()
        pool.submit(2, 7)
        assert pool.result()[0] == 2
    finally:
        pool.terminate()


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    pool: Workers[int] = Workers(1, _work, _init, (0,))
    try:
        pool.submit(1, 666)
        with pytest.raises(WorkerDied, match="stopped unexpectedly"):
            pool.result()
    finally:
        pool.terminate()


def test_result_without_a_task_is_refused() -> None:
    pool: Workers[int] = Workers(1, _work, _init, (0,))
    try:
        with pytest.raises(LookupError):
            pool.result()
    finally:
        pool.close()
