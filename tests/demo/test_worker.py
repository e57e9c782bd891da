"""The demo's worker leaves its broker wait as soon as Celery is asked to shut down."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from celery.worker import state

from plugin.demo.worker import Doorbell, _stop_aware_sleep


@pytest.fixture
def doorbell() -> Iterator[Doorbell]:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    bell = Doorbell(mine)
    yield bell
    bell.close()
    theirs.close()


@pytest.fixture(autouse=True)
def _shutdown_flags() -> Iterator[None]:
    saved = state.should_stop, state.should_terminate
    yield
    state.should_stop, state.should_terminate = saved


@pytest.mark.parametrize("flag", ["should_stop", "should_terminate"])
@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_shutdown_ends_the_wait(doorbell: Doorbell, flag: str, exit_code: int) -> None:
    # A warm shutdown (SIGTERM) sets should_stop to the exit code: 0, which equals False.
    state.should_stop = state.should_terminate = None
    setattr(state, flag, exit_code)

    with pytest.raises(TimeoutError):
        _stop_aware_sleep(doorbell)(0.01)


@pytest.mark.parametrize("unset", [None, False])
def test_without_a_shutdown_the_wait_just_ends(doorbell: Doorbell, unset: object) -> None:
    state.should_stop = state.should_terminate = unset

    _stop_aware_sleep(doorbell)(0.01)  # returns: kombu polls the broker again
