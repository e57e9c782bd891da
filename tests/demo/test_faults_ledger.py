"""``envol demo --faults`` delivers exactly what the fault-free demo delivers (issue #10).

Two whole launches of the same seed and people, side by side in their own processes (as
``envol demo --faults --compare`` runs them): one fault-free, one with the sandbox injecting
5xx, dropped connections, latency and 429s into Envol's requests. Their delivery ledgers,
read from the mail catcher and the sandbox, must be equal key for key (Envol's "try again"
notices aside) and free of duplicates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.demo.runner import compare_runs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# The CLI's smallest population: every step still runs (invitations and reminders, welcomes,
# sidebar categories, nudges, digests, the survey, support tickets, the weekly report).
PEOPLE = 20
SEED = 7


def test_a_faulty_launch_delivers_what_a_fault_free_one_does(tmp_path: Path) -> None:
    compared = compare_runs(tmp_path, people=PEOPLE, seed=SEED, faults=True, timeout=800)
    clean, faulty = compared.fault_free, compared.second

    # The faults really happened, to Envol's requests, and only in the second run.
    assert clean.injected == {}
    assert faulty.injected.get("error", 0) > 10, faulty.injected
    assert faulty.injected.get("drop", 0) > 5, faulty.injected
    assert faulty.injected.get("rate_limited", 0) > 0, faulty.injected
    assert faulty.envol_requests > clean.envol_requests  # the retries

    # Every kind of delivery is in the ledger, so equality below means something.
    for section in ("e-mails", "dms", "posts", "team memberships", "channel memberships"):
        assert clean.ledger.size(section) > 0, section
    assert clean.ledger.size("sidebar categories") > 0
    assert clean.ledger.size("pins") > 0
    markers = {key.split(" | ")[1] for key in clean.ledger.section("dms").counts}
    for kind in ("welcome:", "nudge:", "digest:", "launch-survey-", "support-ticket-"):
        assert any(marker.startswith(kind) for marker in markers), kind

    assert clean.ledger.duplicates() == {}
    assert faulty.ledger.duplicates() == {}
    # Nothing lost, nothing twice, nothing changed. The one tolerated difference is a notice:
    # Envol's "try again" to someone whose form a fault kept from opening (who then retried).
    assert [d.describe() for d in compared.differences if not d.is_notice] == []
