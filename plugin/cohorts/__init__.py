"""Cohorts, the pilot, gated waves and the request-access waitlist."""
