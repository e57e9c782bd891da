"""Plan and apply against the sandbox, on SQLite and PostgreSQL (``db_session``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.errors import EnvolError, ValidationFailed
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.desired import DesiredState
from plugin.seeding.engine import ApplyResult, apply_plan, make_plan
from plugin.seeding.models import SeededObject
from plugin.seeding.plan import Change, Plan
from plugin.seeding.service import member_clients, require_desired, seeded_channels
from plugin.settings import RuntimeSettings
from tests.seeding.conftest import PUBLIC_URL, edit


class _Seeder:
    """plan/apply with the test's client, session and content."""

    def __init__(
        self,
        sandbox: Sandbox,
        client: MattermostClient,
        session: Session,
        content_dir: Path,
        runtime: RuntimeSettings,
        signer: Signer,
    ) -> None:
        self.sandbox, self.client, self.session = sandbox, client, session
        self.content_dir, self.runtime, self.signer = content_dir, runtime, signer

    def desired(self) -> DesiredState:
        return require_desired(self.content_dir, self.runtime, self.sandbox.url)

    def plan(self, *, repair: bool = False) -> Plan:
        return make_plan(self.client, self.session, self.desired(), repair=repair)

    def apply(
        self,
        *,
        repair: bool = False,
        members: dict[str, MattermostClient] | None = None,
        on_step: Any = None,
    ) -> tuple[Plan, ApplyResult, int]:
        """Plan then apply; returns the plan, the result and the write requests it took."""
        desired = self.desired()
        plan = make_plan(self.client, self.session, desired, repair=repair)
        before = self.sandbox.request_log.writes()
        result = apply_plan(
            self.client,
            self.session,
            desired,
            plan,
            signer=self.signer,
            public_url=PUBLIC_URL,
            member_clients=members,
            on_step=on_step,
        )
        return plan, result, self.sandbox.request_log.writes() - before

    def record(self, kind: str, slug: str) -> SeededObject:
        return self.session.scalars(
            select(SeededObject).where(SeededObject.kind == kind, SeededObject.slug == slug)
        ).one()

    def seeded_posts(self) -> list[dict[str, Any]]:
        return [
            p
            for p in self.sandbox.state.posts.values()
            if (p.get("props") or {}).get("envol_slug") and not p["delete_at"]
        ]


@pytest.fixture
def seeder(
    sandbox: Sandbox,
    admin_client: MattermostClient,
    db_session: Session,
    content_dir: Path,
    runtime: RuntimeSettings,
    signer: Signer,
) -> _Seeder:
    return _Seeder(sandbox, admin_client, db_session, content_dir, runtime, signer)


def test_plan_apply_edit_drift_repair(seeder: _Seeder, content_dir: Path) -> None:
    desired = seeder.desired()
    objects = len(desired.objects)
    bookmarks = sum(1 for o in desired.objects if o.kind == "bookmark")

    first = seeder.plan()
    assert first.counts() == {"create": objects - bookmarks, "skipped": bookmarks}
    assert first.notices and "licence" in first.notices[0]  # Team Edition: one notice
    assert seeder.sandbox.request_log.writes() == 0  # planning only reads

    plan, result, writes = seeder.apply()
    assert result.created == objects - bookmarks and result.adopted == 0
    pins = sum(1 for o in desired.objects if o.kind == "post" and o.fields["pinned"])
    files = sum(len(o.fields.get("files") or []) for o in desired.objects)
    assert writes == result.created + pins + files  # the minimum: nothing written twice
    assert len(seeder.seeded_posts()) == sum(
        1 for o in desired.objects if o.kind in ("post", "reply")
    )

    # Nothing changed: nothing to do, and an apply writes nothing at all.
    again = seeder.plan()
    assert again.nothing_to_do and again.counts()["unchanged"] == objects - bookmarks
    _, result, writes = seeder.apply()
    assert writes == 0 and result.created == result.updated == 0

    # One file edited: one update, applied in place (same id, replies kept).
    record = seeder.record("post", "word-from-management")
    post_id = record.mattermost_id
    replies_before = [
        p["id"] for p in seeder.sandbox.posts_in(record.parent_id) if p["root_id"] == post_id
    ]
    edit(
        content_dir / "posts" / "welcome" / "word-from-management.md",
        "Bienvenue, et à tout de suite dans les espaces !",
        "Bienvenue, et rendez-vous dans les espaces dès aujourd'hui !",
    )
    plan = seeder.plan()
    assert plan.counts()["update"] == 1
    (update,) = plan.to_apply
    assert update.slug == "word-from-management"
    assert any("rendez-vous dans les espaces" in line for line in update.diff)
    _, result, writes = seeder.apply()
    assert (result.updated, writes) == (1, 1)
    post = seeder.sandbox.state.posts[post_id]
    assert "rendez-vous dans les espaces" in post["message"] and not post["delete_at"]
    assert [
        p["id"] for p in seeder.sandbox.posts_in(record.parent_id) if p["root_id"] == post_id
    ] == replies_before
    assert seeder.plan().nothing_to_do

    # Deleted in Mattermost: drift, reported and left alone until --repair.
    deleted_id = seeder.record("post", "guide-apps").mattermost_id
    seeder.client.delete_post(deleted_id)
    plan = seeder.plan()
    (drift,) = plan.drifted
    assert (drift.slug, drift.drift) == ("guide-apps", "deleted")
    _, result, writes = seeder.apply()
    assert writes == 0 and seeder.client.get_post(deleted_id) is None

    _, result, writes = seeder.apply(repair=True)
    assert result.repaired == 1 and writes == 2  # the post, and its pin
    restored = seeder.record("post", "guide-apps")
    assert restored.mattermost_id != deleted_id
    post = seeder.sandbox.state.posts[restored.mattermost_id]
    assert post["is_pinned"] and post["message"].startswith("### 6️⃣ Guide")
    assert seeder.plan().nothing_to_do


def test_edits_made_in_mattermost_are_drift_until_repaired(seeder: _Seeder) -> None:
    seeder.apply()
    record = seeder.record("post", "start-here")
    seeder.client.update_post(record.mattermost_id, message="Quelqu'un a tout effacé.")
    channel = seeder.record("channel", "news")
    seeder.client.patch_channel(channel.mattermost_id, {"purpose": "autre chose"})

    plan = seeder.plan()
    assert {(c.slug, c.drift) for c in plan.drifted} == {
        ("start-here", "edited"),
        ("news", "edited"),
    }
    (post_drift,) = [c for c in plan.drifted if c.kind == "post"]
    assert any("Quelqu'un a tout effacé." in line for line in post_drift.diff)
    _, _, writes = seeder.apply()
    assert writes == 0
    assert seeder.sandbox.state.posts[record.mattermost_id]["message"] == "Quelqu'un a tout effacé."

    _, result, _ = seeder.apply(repair=True)
    assert result.repaired == 2
    assert seeder.sandbox.state.posts[record.mattermost_id]["message"].startswith(
        "### 👋 Commencez ici"
    )
    assert seeder.sandbox.state.channels[channel.mattermost_id]["purpose"].startswith(
        "Les nouvelles"
    )
    assert seeder.plan().nothing_to_do


def test_a_changed_poll_is_redrawn_in_place(seeder: _Seeder, content_dir: Path) -> None:
    # The 2023 OpenAPI spec types PostPatch.props as a string; the server takes a map
    # (model.PostPatch.Props is a StringInterface), so the contract check is off here.
    seeder.sandbox.disable_contract()
    seeder.apply()
    record = seeder.record("post", "know-how-first-poll")
    edit(
        content_dir / "posts" / "business" / "know-how-first-poll.md",
        "{fr: Les bases de la cybersécurité, en: Cybersecurity basics}",
        "{fr: Les bases de la cybersécurité au bureau, en: Cybersecurity basics at work}",
    )
    plan = seeder.plan()
    (update,) = plan.to_apply
    assert update.slug == "know-how-first-poll" and any("au bureau" in d for d in update.diff)
    _, result, writes = seeder.apply()
    assert (result.updated, writes) == (1, 1)
    post = seeder.sandbox.state.posts[record.mattermost_id]
    names = [a["name"] for a in post["props"]["attachments"][0]["actions"]]
    assert names[2] == "Les bases de la cybersécurité au bureau"
    assert post["props"]["envol_slug"] == "know-how-first-poll"
    assert seeder.plan().nothing_to_do


def test_a_deleted_thread_is_restored_whole(seeder: _Seeder) -> None:
    seeder.apply()
    root = seeder.record("post", "customer-projects-lessons")
    channel_id = root.parent_id
    seeder.client.delete_post(root.mattermost_id)  # Mattermost deletes the replies too
    plan = seeder.plan()
    assert {c.slug for c in plan.drifted} == {
        "customer-projects-lessons",
        *(f"customer-projects-lessons--reply-{i}" for i in (1, 2, 3)),
    }
    seeder.apply(repair=True)
    new_root = seeder.record("post", "customer-projects-lessons").mattermost_id
    replies = [p for p in seeder.sandbox.posts_in(channel_id) if p["root_id"] == new_root]
    assert len(replies) == 3
    assert seeder.plan().nothing_to_do


class _Interrupted(Exception):
    pass


def test_an_interrupted_apply_completes_without_duplicates(seeder: _Seeder) -> None:
    steps = 0

    def crash_after_twelve(change: Change) -> None:
        nonlocal steps
        steps += 1
        if steps == 12:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        seeder.apply(on_step=crash_after_twelve)
    assert seeder.session.scalar(select(func.count()).select_from(SeededObject)) == 12

    # The worst moment: created in Mattermost, not yet recorded (simulated by forgetting it).
    seeder.session.execute(delete(SeededObject).where(SeededObject.slug == "usage-charter"))
    seeder.session.commit()

    _, result, _ = seeder.apply()
    assert result.adopted >= 1
    slugs = [p["props"]["envol_slug"] for p in seeder.seeded_posts()]
    assert len(slugs) == len(set(slugs))  # no post twice
    desired = seeder.desired()
    assert len(slugs) == sum(1 for o in desired.objects if o.kind in ("post", "reply"))
    assert seeder.plan().nothing_to_do


def test_existing_team_and_channels_are_adopted_not_duplicated(seeder: _Seeder) -> None:
    team = seeder.sandbox.create_team("entreprise", "Old name")  # the admin is not a member
    seeder.sandbox.create_channel(team["id"], "bienvenue", "Hello")
    _, result, _ = seeder.apply()
    assert result.adopted == 2
    assert [t["name"] for t in seeder.sandbox.state.teams.values()].count("entreprise") == 1
    welcome = seeder.sandbox.channel_by_name(team["id"], "bienvenue")
    assert welcome["display_name"] == "Bienvenue"
    assert seeder.record("channel", "welcome").mattermost_id == welcome["id"]


def test_bookmarks_on_a_licensed_server(seeder: _Seeder) -> None:
    seeder.sandbox.set_license(True)
    plan, _, _ = seeder.apply()
    assert not plan.notices and plan.counts()["skipped"] == 0
    links = sorted(b["link_url"] for b in seeder.sandbox.state.bookmarks.values())
    runtime = seeder.runtime
    assert links == sorted(
        [runtime.desktop_app_url, runtime.mobile_app_ios_url, runtime.mobile_app_android_url]
    )
    assert seeder.plan().nothing_to_do


def test_committee_member_posts_as_themselves_with_a_token(seeder: _Seeder) -> None:
    claire = seeder.sandbox.create_user("claire.martin", first_name="Claire")
    token = seeder.sandbox.create_token(claire["id"])
    members = member_clients(seeder.desired(), {"claire.martin": token}, seeder.sandbox.url)
    assert set(members) == {"claire"}
    seeder.apply(members=members)
    charter = seeder.sandbox.state.posts[seeder.record("post", "usage-charter").mattermost_id]
    assert charter["user_id"] == claire["id"]
    assert not charter["message"].startswith("*De la part de")
    assert len(charter["file_ids"]) == 1
    # Thomas has no token: the bot speaks on his behalf.
    word = seeder.sandbox.state.posts[seeder.record("post", "word-from-management").mattermost_id]
    assert word["user_id"] == seeder.client.get_me()["id"]  # Envol's bot
    assert word["message"].startswith(
        "*De la part de Thomas Bernard, directeur général délégué, sponsor du projet :*"
    )
    assert seeder.plan().nothing_to_do


def test_posts_are_refused_when_envol_s_token_is_a_person_s(
    seeder: _Seeder, sandbox: Sandbox
) -> None:
    seeder.client = MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=5)
    try:
        with pytest.raises(EnvolError, match=r"belongs to @\w+, a person, not a bot"):
            seeder.apply()
        assert sandbox.request_log.writes() == 0 and seeder.seeded_posts() == []
    finally:
        seeder.client.close()


def test_a_token_of_the_wrong_person_is_refused(seeder: _Seeder) -> None:
    someone = seeder.sandbox.create_user("someone.else")
    token = seeder.sandbox.create_token(someone["id"])
    with pytest.raises(Exception, match=r"belongs to @someone\.else"):
        member_clients(seeder.desired(), {"claire.martin": token}, seeder.sandbox.url)


def test_poll_buttons_are_signed_for_the_votes_endpoint(seeder: _Seeder, signer: Signer) -> None:
    seeder.apply()
    record = seeder.record("post", "know-how-first-poll")
    post = seeder.sandbox.state.posts[record.mattermost_id]
    (attachment,) = post["props"]["attachments"]
    assert attachment["actions"][0]["name"] == "Bien utiliser la recherche du réseau"
    action = attachment["actions"][2]
    assert action["integration"]["url"] == PUBLIC_URL + "/actions/poll"
    data = signer.verify(
        action["integration"]["context"]["signed"],
        purpose="poll",
        user_id=None,
        max_age=dt.timedelta(days=365),
    )
    # The votes endpoint creates the poll from its first vote: the context carries it whole.
    assert data["poll"] == "know-how-first-poll" and data["option"] == 2
    assert data["options"] == post["props"]["envol_poll"]["options"]
    assert data["question"] == post["props"]["envol_poll"]["question"] and data["lang"] == "fr"
    assert post["props"]["envol_poll"]["options"][2] == "Les bases de la cybersécurité"


def test_invalid_content_applies_nothing(seeder: _Seeder, content_dir: Path) -> None:
    edit(
        content_dir / "posts" / "support" / "guide-apps.md", "channel: support", "channel: nowhere"
    )
    with pytest.raises(ValidationFailed) as failure:
        seeder.apply()
    assert failure.value.problems == [
        "posts/support/guide-apps.md:3: error: unknown channel 'nowhere' — use the slug of a "
        "channel of spaces.yaml: welcome, support, ideas, committee, managers-champions, news, "
        "customer-projects, know-how [channel]"
    ]
    assert seeder.sandbox.request_log.writes() == 0


def test_seeded_channels_for_onboarding(seeder: _Seeder) -> None:
    seeder.apply()
    channels = {c.slug: c for c in seeded_channels(seeder.session, seeder.desired())}
    assert channels["committee"].cohorts == ("committee",)
    assert channels["support"].name == "support"
    assert channels["support"].category == "Pour bien démarrer"
    assert channels["support"].channel_id == seeder.record("channel", "support").mattermost_id
