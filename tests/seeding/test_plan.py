"""The pure planning function: desired × recorded × observed → changes."""

from __future__ import annotations

from typing import Any

from plugin.seeding.desired import DesiredObject, content_hash
from plugin.seeding.plan import Observed, Recorded, plan_changes, short_diff


def _obj(kind: str, slug: str, parent: str | None = None, **fields: Any) -> DesiredObject:
    return DesiredObject(
        kind=kind,
        slug=slug,
        parent=parent,
        fields=fields,  # type: ignore[arg-type]
        label=f"{kind} {slug}",
        file="x",
        line=1,
    )


def _record(obj: DesiredObject, observed_hash: str = "seen", **fields: Any) -> Recorded:
    applied = dict(fields or obj.fields)
    return Recorded(
        kind=obj.kind,
        slug=obj.slug,
        mattermost_id=f"id-{obj.slug}",
        parent_id="",
        content_hash=content_hash(applied),
        observed_hash=observed_hash,
        applied={"fields": applied, "observed": {"message": "as applied"}},
    )


SEEN = Observed(exists=True, observed_hash="seen", fields={"message": "as applied"})


def test_new_objects_are_created_in_parent_order() -> None:
    post = _obj("post", "p", "c", message="hi")
    channel = _obj("channel", "c", "t", name="c")
    team = _obj("team", "t", name="t")
    plan = plan_changes([post, channel, team], {}, {})
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("create", "team"),
        ("create", "channel"),
        ("create", "post"),
    ]
    assert plan.summary() == "3 to create"


def test_unchanged_when_content_and_mattermost_agree() -> None:
    post = _obj("post", "p", "c", message="hi")
    plan = plan_changes([post], {post.key: _record(post)}, {post.key: SEEN})
    assert [c.action for c in plan.changes] == ["unchanged"]
    assert plan.nothing_to_do


def test_changed_content_is_an_update_with_a_diff() -> None:
    post = _obj("post", "p", "c", message="line one\nline two, changed")
    record = _record(post, message="line one\nline two")
    (change,) = plan_changes([post], {post.key: record}, {post.key: SEEN}).changes
    assert change.action == "update"
    assert change.diff == ("message:", "  -line two", "  +line two, changed")


def test_deleted_in_mattermost_is_drift_unless_repairing() -> None:
    post = _obj("post", "p", "c", message="hi")
    records = {post.key: _record(post)}
    gone = {post.key: Observed(exists=False)}
    (change,) = plan_changes([post], records, gone).changes
    assert (change.action, change.drift) == ("drifted", "deleted")
    assert "--repair" in change.reason
    (change,) = plan_changes([post], records, gone, repair=True).changes
    assert (change.action, change.drift) == ("repair", "deleted")


def test_edited_in_mattermost_is_drift_even_when_the_content_changed_too() -> None:
    post = _obj("post", "p", "c", message="new text")
    records = {post.key: _record(post, message="old text")}
    edited = {
        post.key: Observed(exists=True, observed_hash="other", fields={"message": "someone's edit"})
    }
    (change,) = plan_changes([post], records, edited).changes
    assert (change.action, change.drift) == ("drifted", "edited")
    assert change.diff == ("message: 'as applied' → \"someone's edit\"",)
    (change,) = plan_changes([post], records, edited, repair=True).changes
    assert change.action == "repair"


def test_archived_channel_holds_its_children() -> None:
    channel = _obj("channel", "c", "t", name="c")
    post = _obj("post", "p", "c", message="hi")
    records = {channel.key: _record(channel)}
    observed = {channel.key: Observed(exists=False, archived=True)}
    plan = plan_changes([channel, post], records, observed)
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("drifted", "channel"),
        ("skipped", "post"),
    ]
    assert "archived" in plan.changes[0].reason
    repaired = plan_changes([channel, post], records, observed, repair=True)
    assert [c.action for c in repaired.changes] == ["repair", "create"]


def test_skipped_kinds_and_orphans() -> None:
    bookmark = _obj("bookmark", "b", "c", display_name="x")
    gone_post = _obj("post", "old", "c", message="bye")
    plan = plan_changes(
        [bookmark],
        {gone_post.key: _record(gone_post)},
        {},
        skipped_kinds={"bookmark": "needs a licence"},
    )
    assert [(c.action, c.slug) for c in plan.changes] == [("skipped", "b"), ("orphaned", "old")]
    assert plan.notices == ["needs a licence"]
    assert plan.nothing_to_do


def test_short_diff_for_short_fields() -> None:
    assert short_diff({"pinned": False, "name": "a"}, {"pinned": True, "name": "a"}) == (
        "pinned: False → True",
    )
