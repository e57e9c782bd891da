"""Whether a person waits on this process's answers: the CLI says so, workers and the webhooks
do not. A module of its own, importing nothing, so that ``envol … --help`` can say it without
importing the Mattermost client (requests, urllib3, the driver: a third of the CLI's start-up).
"""

from __future__ import annotations

_fail_fast = False


def fail_fast_when_unreachable(enabled: bool = True) -> bool:
    """This process's default for new Mattermost transports: when the server cannot be reached
    at all (connection refused, unknown host, connect timeout) and has not answered this
    transport yet, give up at once with one sentence instead of retrying for the whole budget.
    The CLI sets it (a person waits for an answer, and a wrong URL or a stopped server is the
    usual cause); workers and the webhooks keep retrying. Once the server has answered, a
    refused connection is a restart and is retried, so a long command does not stop half-way.
    Returns the previous default, to restore it."""
    global _fail_fast
    previous, _fail_fast = _fail_fast, enabled
    return previous


def failing_fast() -> bool:
    """The default set by ``fail_fast_when_unreachable``."""
    return _fail_fast
