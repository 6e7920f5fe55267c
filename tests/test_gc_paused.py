"""The garbage collector pause that bulk imports and fetches share across threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from safespace._gc import gc_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_a_pause_turns_the_collector_off_and_back_on() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_collector_is_back_on_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_when_the_last_one_ends() -> None:
    """A fetch's read-ahead thread pauses while its applying thread is paused too: the
    first to end must not turn the collector on under the other."""
    gc.enable()
    entered, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with gc_paused():
            entered.set()
            release.wait(10)
            seen.append(gc.isenabled())

    with gc_paused():
        thread = threading.Thread(target=other)
        thread.start()
        assert entered.wait(10)
    # this thread's pause has ended; the other's has not
    assert not gc.isenabled()
    release.set()
    thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_nested_pauses_in_one_thread() -> None:
    gc.enable()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
