"""The invitations step's count of what was delivered, read from the receivers."""

from __future__ import annotations

from email.message import EmailMessage

from plugin.demo.steps.invitations import delivered_counts


def test_the_demo_counts_deliveries_by_key_from_the_outside() -> None:
    mails = []
    for key in ("invite:1:0", "invite:1:0", "invite:2:0"):
        message = EmailMessage()
        message["X-Envol-Key"] = key
        mails.append(message)
    posts = [
        {"props": {"envol_marker": "welcome:1"}},
        {"props": {"envol_marker": "welcome:1"}, "delete_at": 5},
        {"props": {}},
    ]
    counts = delivered_counts(mails, posts)
    assert counts["emails"] == {"invite:1:0": 2, "invite:2:0": 1}
    assert counts["dms"] == {"welcome:1": 1}
