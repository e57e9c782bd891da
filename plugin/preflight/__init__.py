"""Preflight: check a Mattermost server before a launch (``envol preflight``)."""

from plugin.preflight.service import (
    CHECKS,
    Check,
    PreflightContext,
    PreflightReport,
    blocker_line,
    register_check,
    run_preflight,
)

__all__ = [
    "CHECKS",
    "Check",
    "PreflightContext",
    "PreflightReport",
    "blocker_line",
    "register_check",
    "run_preflight",
]
