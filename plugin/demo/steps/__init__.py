"""The demo's steps, one module per capability it shows, and ``STEPS``: the one registry of
them, in the order of a real launch.

A step imports the capabilities it drives; no capability imports a step. To add one, write
``step_<what>(run: DemoRun) -> None`` in a module here and list it below.
"""

from __future__ import annotations

from plugin.demo.run import DemoStep
from plugin.demo.steps.campaigns import step_campaign
from plugin.demo.steps.cohorts import step_people_and_waves
from plugin.demo.steps.figures import step_figures
from plugin.demo.steps.foundation import step_foundation, step_plugin_bundle
from plugin.demo.steps.invitations import step_invitations_outcome
from plugin.demo.steps.launch import step_launch
from plugin.demo.steps.metrics import step_metrics
from plugin.demo.steps.preflight import step_preflight
from plugin.demo.steps.seeding import step_seed_and_brand
from plugin.demo.steps.support import step_support

STEPS: list[tuple[str, DemoStep]] = [
    ("Foundation: database, sandbox, webhooks, worker", step_foundation),
    ("The plugin bundle an admin uploads", step_plugin_bundle),
    ("Preflight: what the Mattermost server allows", step_preflight),
    ("Branding and the launch content, before anyone arrives", step_seed_and_brand),
    ("People: the roster, the pilot and the waves", step_people_and_waves),
    ("The communication plan: teasers, the CEO's announcement, launch day", step_campaign),
    ("The launch: every wave on its planned day, until the whole roster is invited", step_launch),
    ("Support space, a poll and the launch survey", step_support),
    ("Adoption: the report and the weekly post", step_metrics),
    ("Invitations and onboarding: what people received", step_invitations_outcome),
    ("The same figures, three ways: waves list, invitations status, the report", step_figures),
]
