"""The collector paced by the clock while a command runs: off inside, cycles still reclaimed by `tick`, and
restored after (a test process that calls the CLI in-process keeps its own setting)."""

from __future__ import annotations

import gc
import weakref

from nhiguard import gcpace


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


def test_paced_turns_the_collector_off_and_restores_it() -> None:
    assert gc.isenabled()
    with gcpace.paced():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_tick_reclaims_cycles_once_due_and_not_before() -> None:
    with gcpace.paced():
        alive = _cycle()
        gcpace.tick()  # not due yet: the cycle stays
        assert alive() is not None
        gcpace._next = 0.0  # due now (`paced` puts back what it found on the way out)
        gcpace.tick()
        assert alive() is None
    assert gcpace._next is None


def test_tick_does_nothing_unpaced() -> None:
    gc.disable()
    try:
        alive = _cycle()
        gcpace.tick()
        assert alive() is not None
    finally:
        gc.enable()
        gc.collect()
