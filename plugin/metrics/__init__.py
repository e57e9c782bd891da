"""Adoption measures: daily snapshots per person and per group, the gates' measures."""
