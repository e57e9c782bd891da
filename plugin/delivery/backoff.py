"""How long to wait before trying again something that failed for a reason that may pass.

One rule for every sender: the first wait after the first failure, doubled at each failure
after it, never more than a ceiling, and (optionally) spread at random so that a whole batch that
failed together does not come back at the same instant. Each user picks its own numbers:

* invitations and arrivals (``plugin.invitations.dispatcher.BACKOFF``): 15 s, 30 s, 1 min …
  at most 30 minutes; the adapter already retried within its own budget, this is the slower net;
* the launch campaign (``plugin.campaigns.dispatcher.DispatchPolicy``): 1 min … at most 6 hours,
  ± 20 %, so a recovering relay is not hit by a whole batch at once;
* the journal of accepted e-mails (``plugin.delivery.journal``): 0.2 s … at most 2 s, while a
  lost database connection comes back.

The Mattermost adapter's own retries within one call (``plugin.mattermost.transport``) are the
adapter's business: they honour ``Retry-After`` and sit below this package.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first: dt.timedelta
    ceiling: dt.timedelta
    # Each wait is multiplied by a random factor in [1 - jitter, 1 + jitter].
    jitter: float = 0.0

    def after(self, failures: int) -> dt.timedelta:
        """The wait after ``failures`` consecutive failures (1 for the first)."""
        seconds = min(
            self.first.total_seconds() * 2 ** max(failures - 1, 0),
            self.ceiling.total_seconds(),
        )
        if self.jitter:
            seconds *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return dt.timedelta(seconds=seconds)
