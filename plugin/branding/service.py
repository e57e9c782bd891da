"""``envol brand apply``: make Mattermost look like the company, idempotently.

* Site name, brand text and the custom brand switch (``PUT /config/patch``), compared with the
  current config first, so an unchanged brand costs no write.
* Brand image and team icon, uploaded again only when the file changes.
* Team display name and description.
* The company colour theme, set as the ``theme`` preference of every member who has not chosen
  their own. Envol remembers the value it set for each person (``ThemeAssignment``): a member
  whose theme is still that value follows a later colour change; anybody else's choice is
  never touched. New members get it from ``apply_theme_to_new_member`` when they join.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from plugin import clock
from plugin.branding.models import BrandSetting, ThemeAssignment
from plugin.mattermost import MattermostClient, NotFound
from plugin.seeding.desired import RenderedBranding

THEME_SETTING = "company_theme"
BRAND_IMAGE_SETTING = "brand_image"

ThemeDecision = Literal["set", "update", "unchanged", "personal"]


def theme_value(theme: Mapping[str, str]) -> str:
    """The preference value exactly as ``MattermostClient.set_theme`` writes it."""
    return json.dumps(dict(theme), separators=(",", ":"))


def _same_theme(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def decide_theme(
    current: Sequence[Mapping[str, Any]], envol_value: str | None, company_value: str
) -> ThemeDecision:
    """What to do with one member's theme.

    ``current`` is the member's ``theme`` preferences (global and per team); ``envol_value``
    what Envol last set for them, if anything.
    """
    if not current:
        return "set"
    if len(current) == 1 and current[0].get("name", "") == "":
        value = str(current[0].get("value", ""))
        if _same_theme(value, company_value):
            return "unchanged"
        if _same_theme(value, envol_value):
            return "update"  # still Envol's earlier theme: follow the company's new colours
    return "personal"


@dataclass
class BrandStep:
    """One thing ``apply_branding`` looked at. ``what`` names it (site, brand_image, team,
    team_names, team_icon), worded by ``plugin/branding/views.py``; ``detail`` is a value (the
    settings that differ, a file name; for a skipped team, the team's name)."""

    what: str
    action: Literal["set", "unchanged", "skipped"]
    detail: str = ""


@dataclass
class BrandReport:
    steps: list[BrandStep] = field(default_factory=list)
    themes: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def writes_needed(self) -> int:
        return (
            sum(1 for s in self.steps if s.action == "set")
            + self.themes.get("set", 0)
            + self.themes.get("update", 0)
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _setting(session: Session, key: str) -> BrandSetting | None:
    return session.get(BrandSetting, key)


def _remember(session: Session, key: str, content_hash: str, value: str = "") -> None:
    row = session.get(BrandSetting, key)
    if row is None:
        row = BrandSetting(key=key)
        session.add(row)
    row.content_hash = content_hash
    row.value = value
    row.applied_at = clock.now()


def apply_branding(
    client: MattermostClient, session: Session, branding: RenderedBranding, *, dry_run: bool = False
) -> BrandReport:
    """Bring Mattermost's look to ``branding``; with ``dry_run``, only say what would change."""
    report = BrandReport(dry_run=dry_run)
    _site(client, branding, report, dry_run)
    logo = branding.logo
    if logo is not None:
        _image(
            session,
            BRAND_IMAGE_SETTING,
            logo,
            "brand_image",
            report,
            dry_run,
            lambda data: client.upload_brand_image(data, logo.name, _image_type(logo)),
        )
    try:
        team = client.get_team_by_name(branding.team_name)
    except NotFound:
        report.steps.append(BrandStep("team", "skipped", branding.team_name))
        team = None
    if team is not None:
        patch = {
            "display_name": branding.team_display_name,
            "description": branding.team_description,
        }
        if any(team.get(k, "") != v for k, v in patch.items()):
            report.steps.append(
                BrandStep(
                    "team_names",
                    "set",
                    f"{team.get('display_name')!r} → {branding.team_display_name!r}",
                )
            )
            if not dry_run:
                client.patch_team(team["id"], patch)
        else:
            report.steps.append(BrandStep("team_names", "unchanged"))
        if branding.team_icon is not None:
            icon = branding.team_icon
            _image(
                session,
                f"team_icon:{team['id']}",
                icon,
                "team_icon",
                report,
                dry_run,
                lambda data: client.set_team_icon(team["id"], data, icon.name, _image_type(icon)),
            )
        report.themes = apply_company_theme(
            client, session, team["id"], branding.theme, dry_run=dry_run
        )
    if not dry_run:
        session.commit()
    return report


def _site(
    client: MattermostClient, branding: RenderedBranding, report: BrandReport, dry_run: bool
) -> None:
    current = client.get_config().get("TeamSettings") or {}
    wanted = {
        "SiteName": branding.site_name,
        "CustomBrandText": branding.brand_text,
        "EnableCustomBrand": True,
    }
    differs = [key for key, value in wanted.items() if current.get(key) != value]
    if not differs:
        report.steps.append(BrandStep("site", "unchanged"))
        return
    report.steps.append(BrandStep("site", "set", ", ".join(differs)))
    if not dry_run:
        client.set_custom_brand(
            site_name=branding.site_name, brand_text=branding.brand_text, enable=True
        )


def _image(
    session: Session,
    key: str,
    path: Path,
    what: str,
    report: BrandReport,
    dry_run: bool,
    upload: Callable[[bytes], None],
) -> None:
    digest = _digest(path)
    recorded = _setting(session, key)
    if recorded is not None and recorded.content_hash == digest:
        report.steps.append(BrandStep(what, "unchanged"))
        return
    report.steps.append(BrandStep(what, "set", path.name))
    if not dry_run:
        upload(path.read_bytes())
        _remember(session, key, digest)
        session.commit()  # uploaded: never upload the same file again after an interruption


def _image_type(path: Path) -> str:
    return {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".bmp": "image/bmp",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
    }.get(path.suffix.lower(), "application/octet-stream")


# --------------------------------------------------------------------------- themes


def _theme_preferences(client: MattermostClient, user_id: str) -> list[dict[str, Any]]:
    return [p for p in client.get_preferences(user_id) if p.get("category") == "theme"]


def _theme_one(
    client: MattermostClient,
    session: Session,
    user_id: str,
    company_value: str,
    company_theme: Mapping[str, str],
    *,
    dry_run: bool,
) -> ThemeDecision:
    assignment = session.get(ThemeAssignment, user_id)
    decision = decide_theme(
        _theme_preferences(client, user_id), assignment.value if assignment else None, company_value
    )
    if decision == "unchanged" and assignment is None and not dry_run:
        # Already the company's colours (e.g. set before Envol's records existed): adopt it,
        # so a later colour change follows.
        session.add(ThemeAssignment(user_id=user_id, value=company_value))
    if decision in ("set", "update") and not dry_run:
        client.set_theme(user_id, company_theme)
        if assignment is None:
            session.add(ThemeAssignment(user_id=user_id, value=company_value))
        else:
            assignment.value = company_value
            assignment.applied_at = clock.now()
        session.commit()
    return decision


def apply_company_theme(
    client: MattermostClient,
    session: Session,
    team_id: str,
    theme: Mapping[str, str],
    *,
    dry_run: bool = False,
) -> dict[str, int]:
    """Set the company theme for the team's human members who have not chosen their own.

    Returns how many members were set, updated, left unchanged or kept their own theme.
    """
    company_value = theme_value(theme)
    if not dry_run:
        _remember(
            session,
            THEME_SETTING,
            hashlib.sha256(company_value.encode()).hexdigest(),
            company_value,
        )
    counts = {"set": 0, "update": 0, "unchanged": 0, "personal": 0}
    # GET /users?in_team= rather than members then POST /users/ids: a no-op run sends no POST.
    humans = [
        u["id"]
        for u in client.iter_users(in_team=team_id, active=True)
        if not u.get("is_bot") and not u.get("delete_at")
    ]
    for user_id in humans:
        counts[_theme_one(client, session, user_id, company_value, theme, dry_run=dry_run)] += 1
    if not dry_run:
        session.commit()
    return counts


@dataclass(frozen=True)
class CompanyTheme:
    """The company theme ``envol brand apply`` recorded: its stored value and its colours."""

    value: str
    colours: Mapping[str, str]


def company_theme(session: Session) -> CompanyTheme | None:
    """The recorded company theme, None before ``envol brand apply`` has run once. Read once
    for a batch of arrivals, not once per person."""
    setting = session.get(BrandSetting, THEME_SETTING)
    if setting is None or not setting.value:
        return None
    return CompanyTheme(setting.value, json.loads(setting.value))


def theme_new_member(
    client: MattermostClient, session: Session, user_id: str, theme: CompanyTheme
) -> bool:
    """``apply_theme_to_new_member`` with the company theme already read. Returns True when
    the theme was set."""
    decision = _theme_one(client, session, user_id, theme.value, theme.colours, dry_run=False)
    session.commit()
    return decision in ("set", "update")


def apply_theme_to_new_member(
    client: MattermostClient, session: Session, user_id: str, team_id: str
) -> bool:
    """Give a member who just joined the company theme, unless they already chose one.

    Called by the invitations capability on join. Returns True when the theme was set. Does
    nothing before ``envol brand apply`` has run once (no company theme is known yet).
    """
    theme = company_theme(session)
    return theme is not None and theme_new_member(client, session, user_id, theme)
