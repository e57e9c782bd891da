"""Files the server would refuse are found by the plan, so an apply never stops half-way on a
413: ``FileSettings.MaxFileSize`` and ``MaxImageResolution``, read from the server."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session

from plugin.errors import ValidationFailed, localize
from plugin.mattermost import Invalid, MattermostClient
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.engine import apply_plan, make_plan
from plugin.seeding.limits import DEFAULT_MAX_IMAGE_RESOLUTION, read_file_limits
from plugin.seeding.service import require_desired
from plugin.settings import RuntimeSettings
from tests.seeding.conftest import PUBLIC_URL

PHOTO = "posts/business/news-launch-day.md:2"  # the post's slug line: photo-lancement.png


def test_files_the_server_would_refuse_stop_the_plan_not_the_apply_half_way(
    sandbox: Sandbox,
    admin_client: MattermostClient,
    db_session: Session,
    content_dir: Path,
    runtime: RuntimeSettings,
    signer: Signer,
) -> None:
    # The photo is 2,793 bytes and 360 × 220 pixels: one over each limit.
    sandbox.patch_config(
        {"FileSettings": {"MaxFileSize": 2000, "MaxImageResolution": 360 * 220 - 1}}
    )
    desired = require_desired(content_dir, runtime, sandbox.url)

    plan = make_plan(admin_client, db_session, desired)

    assert plan.blockers == [
        f"{PHOTO}: photo-lancement.png is 2,793 bytes, more than the server accepts (2,000 bytes, "
        "FileSettings.MaxFileSize): make it smaller, or raise Maximum File Size in the System "
        "Console (Environment > File Storage).",
        f"{PHOTO}: photo-lancement.png is 360 × 220 pixels, more than the server accepts "
        "(79,199 pixels, FileSettings.MaxImageResolution): resize it, e.g. to 1920 pixels wide.",
    ]
    # In French, numbers as French writes them (narrow no-break space between thousands).
    french = [localize(blocker, "fr") for blocker in plan.blockers]
    assert french[0].startswith(
        f"{PHOTO}\u00a0: photo-lancement.png pèse 2\u202f793 octets, plus que ce qu'accepte le "
        "serveur (2\u202f000 octets, FileSettings.MaxFileSize)\u00a0: réduisez-le"
    )
    assert (
        "(79\u202f199 pixels, FileSettings.MaxImageResolution)\u00a0: redimensionnez" in french[1]
    )
    writes = sandbox.request_log.writes()
    with pytest.raises(ValidationFailed, match="would be refused by Mattermost") as refused:
        apply_plan(admin_client, db_session, desired, plan, signer=signer, public_url=PUBLIC_URL)
    assert sandbox.request_log.writes() == writes  # not one channel, not one post
    assert refused.value.localized("fr") == (
        "2 fichier(s) seraient refusés par Mattermost\u202f; rien n'a été appliqué."
    )


def test_limits_come_from_the_client_config_when_the_full_config_is_out_of_reach(
    sandbox: Sandbox,
) -> None:
    member = sandbox.create_user("member")
    with MattermostClient(sandbox.url, sandbox.create_token(member["id"])) as client:
        limits = read_file_limits(client)  # a plain member may not read /config
    assert (limits.max_file_size, limits.max_image_resolution) == (
        104_857_600,
        DEFAULT_MAX_IMAGE_RESOLUTION,
    )


def test_the_sandbox_refuses_images_above_the_limit_as_the_server_does(
    sandbox: Sandbox, admin_client: MattermostClient
) -> None:
    sandbox.patch_config({"FileSettings": {"MaxFileSize": 100}})
    team = sandbox.create_team("exemple", "Exemple", admin_id=sandbox.admin_user_id)

    with pytest.raises(Invalid) as refused:
        admin_client.set_team_icon(team["id"], b"\x89PNG" + b"0" * 200)
    profile = requests.post(
        f"{sandbox.url}/api/v4/users/{sandbox.admin_user_id}/image",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        files={"image": ("me.png", b"0" * 200, "image/png")},
        timeout=5,
    )

    assert refused.value.status_code == 413
    assert refused.value.error_id == "api.team.set_team_icon.too_large.app_error"
    assert profile.status_code == 413
    assert profile.json()["id"] == "api.user.upload_profile_user.too_large.app_error"
