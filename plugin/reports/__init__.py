"""Adoption reports: terminal tables, a self-contained HTML page with charts, the weekly
post and CSV."""
