"""Cohorts, the pilot, gated waves, audiences and the request-access waitlist."""
