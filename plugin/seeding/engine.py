"""Observe Mattermost, plan and apply: the part of seeding that talks to the server.

Guarantees:

* an apply does exactly the plan: unchanged objects cost no write request;
* each object is recorded (``SeededObject``, committed) right after it is created, and before
  creating anything Envol looks for one it made earlier (team or channel by name, post by the
  ``envol_slug`` marker in its props), so an interrupted apply re-run never duplicates;
* a changed post is edited in place (its id and replies are kept);
* drift (deleted or edited in Mattermost) is reported, and restored only with ``repair``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.errors import EnvolError, ValidationFailed
from plugin.jsontypes import JSON
from plugin.mattermost import MARKER_PROP, FeatureNeedsLicense, MattermostClient, NotFound
from plugin.security.service import Signer
from plugin.seeding.content import CommitteeMember, Language
from plugin.seeding.desired import DesiredObject, DesiredState
from plugin.seeding.limits import file_problems, read_file_limits
from plugin.seeding.models import SeededObject
from plugin.seeding.plan import Change, Observed, Plan, Recorded, plan_changes
from plugin.seeding.wording import phrase, said
from plugin.surveys.service import poll_context

SLUG_PROP = "envol_slug"
POLL_PROP = "envol_poll"
POLL_ACTION_PATH = "/actions/poll"
BOOKMARKS_NEED_LICENCE = phrase("notice.bookmarks_need_licence")

_ON_BEHALF = {
    "fr": "*De la part de {name}, {role} :*\n\n",
    "en": "*On behalf of {name}, {role}:*\n\n",
}


def marker_for(slug: str) -> str:
    return f"seed:{slug}"


def _hash(fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- projections
# What Envol compares of each Mattermost object: the fields it manages, as Mattermost returns
# them. The same function runs on the answer of a write and on a later read, so an untouched
# object always hashes the same.


def project(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "team":
        return {key: obj.get(key, "") for key in ("name", "display_name", "description", "type")}
    if kind == "channel":
        return {
            key: obj.get(key, "") for key in ("name", "display_name", "type", "purpose", "header")
        }
    if kind == "bookmark":
        return {key: obj.get(key) or "" for key in ("display_name", "link_url", "emoji")}
    attachments = (obj.get("props") or {}).get("attachments") or []
    return {
        "message": obj.get("message", ""),
        "pinned": bool(obj.get("is_pinned")),
        "root_id": obj.get("root_id", ""),
        "file_ids": sorted(obj.get("file_ids") or []),
        # Button contexts are signed anew at each write and may be hidden by the server: only
        # what people see is compared.
        "poll": [
            {
                "text": a.get("text", ""),
                "buttons": [action.get("name", "") for action in a.get("actions") or []],
            }
            for a in attachments
        ],
    }


def post_props(obj: DesiredObject, signer: Signer, public_url: str, language: str) -> JSON:
    """A post's props: its slug (found again after an interruption) and its poll, drawn as
    buttons whose signed context (purpose ``poll``, any user) the votes endpoint verifies.

    The context carries the question and options, so the first vote creates the poll (the
    surveys capability owns polls; see ``plugin.surveys.service.poll_context``)."""
    props: JSON = {SLUG_PROP: obj.slug}
    poll = obj.fields.get("poll")
    if poll:
        props[POLL_PROP] = {
            "slug": obj.slug,
            "question": poll["question"],
            "options": list(poll["options"]),
        }
        props["attachments"] = [
            {
                "text": f"**{poll['question']}**",
                "actions": [
                    {
                        # Action ids must be alphanumeric: Mattermost puts them in a URL path.
                        "id": f"option{index}",
                        "name": option,
                        "type": "button",
                        "integration": {
                            "url": public_url.rstrip("/") + POLL_ACTION_PATH,
                            "context": {
                                "signed": poll_context(
                                    signer,
                                    None,
                                    index,
                                    key=obj.slug,
                                    question=poll["question"],
                                    options=list(poll["options"]),
                                    language=language,
                                )
                            },
                        },
                    }
                    for index, option in enumerate(poll["options"])
                ],
            }
        ]
    return props


# --------------------------------------------------------------------------- observing


def load_records(session: Session) -> dict[tuple[str, str], Recorded]:
    rows = session.scalars(select(SeededObject)).all()
    return {
        (row.kind, row.slug): Recorded(
            kind=row.kind,
            slug=row.slug,
            mattermost_id=row.mattermost_id,
            parent_id=row.parent_id,
            content_hash=row.content_hash,
            observed_hash=row.observed_hash,
            applied=dict(row.applied or {}),
        )
        for row in rows
    }


def _observed(kind: str, obj: Mapping[str, Any] | None) -> Observed:
    if obj is None:
        return Observed(exists=False)
    if obj.get("delete_at"):
        return Observed(exists=False, archived=kind == "channel")
    fields = project(kind, obj)
    return Observed(exists=True, observed_hash=_hash(fields), fields=fields)


def observe(
    client: MattermostClient,
    records: Mapping[tuple[str, str], Recorded],
    *,
    skip_bookmarks: bool = False,
) -> dict[tuple[str, str], Observed]:
    """Read every recorded object back from Mattermost (reads only)."""
    observed: dict[tuple[str, str], Observed] = {}
    bookmarks_by_channel: dict[str, dict[str, JSON]] = {}
    for key, record in records.items():
        kind = record.kind
        try:
            if kind == "team":
                observed[key] = _observed(kind, client.get_team(record.mattermost_id))
            elif kind == "channel":
                observed[key] = _observed(kind, client.get_channel(record.mattermost_id))
            elif kind == "bookmark":
                if skip_bookmarks:
                    continue
                channel_id = record.parent_id
                if channel_id not in bookmarks_by_channel:
                    bookmarks_by_channel[channel_id] = {
                        b["id"]: b for b in client.list_bookmarks(channel_id)
                    }
                observed[key] = _observed(
                    kind, bookmarks_by_channel[channel_id].get(record.mattermost_id)
                )
            else:
                observed[key] = _observed(kind, client.get_post(record.mattermost_id))
        except NotFound:
            observed[key] = Observed(exists=False)
        except FeatureNeedsLicense:
            skip_bookmarks = True
    return observed


def make_plan(
    client: MattermostClient, session: Session, desired: DesiredState, *, repair: bool = False
) -> Plan:
    """Compare the content, the records and Mattermost; reads only."""
    licensed = client.is_licensed()
    records = load_records(session)
    observed = observe(client, records, skip_bookmarks=not licensed)
    skipped = {} if licensed else {"bookmark": BOOKMARKS_NEED_LICENCE}
    plan = plan_changes(desired.objects, records, observed, repair=repair, skipped_kinds=skipped)
    if any(change.desired and change.desired.fields.get("files") for change in plan.to_apply):
        plan.blockers = file_problems(plan.to_apply, desired, read_file_limits(client))
    return plan


# --------------------------------------------------------------------------- applying


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    repaired: int = 0
    adopted: int = 0
    notices: list[str] = field(default_factory=list)


class _Applier:
    def __init__(
        self,
        client: MattermostClient,
        session: Session,
        desired: DesiredState,
        *,
        signer: Signer,
        public_url: str,
        member_clients: Mapping[str, MattermostClient],
    ) -> None:
        self.client = client
        self.session = session
        self.desired = desired
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self.member_clients = dict(member_clients)
        self.language: Language = desired.language
        self.ids: dict[tuple[str, str], str] = {
            key: record.mattermost_id for key, record in load_records(session).items()
        }
        self.fresh_channels: set[str] = set()  # created in this run: nothing to adopt there
        self.posts_by_marker: dict[str, dict[str, JSON]] = {}
        self.bookmarks_by_channel: dict[str, list[JSON]] = {}
        self.result = ApplyResult()
        self.bookmarks_refused = False
        self._me_id: str | None = None
        self.joined: set[tuple[str, str]] = set()  # (member key, team or channel id)

    # ------------------------------------------------------------------ records

    def _record(
        self,
        obj: DesiredObject,
        mm_object: Mapping[str, Any],
        parent_id: str,
        observed_fields: Mapping[str, Any],
        **applied: Any,
    ) -> None:
        mattermost_id = str(mm_object["id"])
        row = self.session.scalars(
            select(SeededObject).where(SeededObject.kind == obj.kind, SeededObject.slug == obj.slug)
        ).one_or_none()
        if row is None:
            row = SeededObject(kind=obj.kind, slug=obj.slug)
            self.session.add(row)
        row.mattermost_id = mattermost_id
        row.parent_id = parent_id
        row.content_hash = obj.content_hash
        row.observed_hash = _hash(observed_fields)
        row.applied = {"fields": dict(obj.fields), "observed": dict(observed_fields), **applied}
        row.applied_at = clock.now()
        # Committed at once: an interruption after this line never leads to a duplicate.
        self.session.commit()
        self.ids[obj.key] = mattermost_id

    def _parent_id(self, kind: str, slug: str | None) -> str:
        if slug is None or (kind, slug) not in self.ids:
            raise RuntimeError(f"{kind} {slug} must be applied before its children")
        return self.ids[(kind, slug)]

    # ------------------------------------------------------------------ dispatch

    def apply(self, change: Change) -> None:
        obj = change.desired
        assert obj is not None
        if obj.kind == "team":
            self._team(change, obj)
        elif obj.kind == "channel":
            self._channel(change, obj)
        elif obj.kind == "bookmark":
            self._bookmark(change, obj)
        else:
            self._post(change, obj)
        if change.action == "create":
            self.result.created += 1
        elif change.action == "update":
            self.result.updated += 1
        else:
            self.result.repaired += 1

    # ------------------------------------------------------------------ teams and channels

    def _team(self, change: Change, obj: DesiredObject) -> None:
        fields = dict(obj.fields)
        patch = {"display_name": fields["display_name"], "description": fields["description"]}
        if change.action == "create":
            try:
                team = self.client.get_team_by_name(fields["name"])
                self.result.adopted += 1
                # A team made by someone else: join it, or its channels cannot be created.
                self.client.add_team_members(team["id"], [self._bot_id()])
            except NotFound:
                team = self.client.create_team(
                    fields["name"],
                    fields["display_name"],
                    type=fields["type"],
                    description=fields["description"],
                )
        else:
            team = self.client.get_team(change.recorded.mattermost_id)  # type: ignore[union-attr]
        if any(team.get(k, "") != v for k, v in patch.items()):
            team = self.client.patch_team(team["id"], patch)
        self._record(obj, team, "", project("team", team))

    def _channel(self, change: Change, obj: DesiredObject) -> None:
        fields = dict(obj.fields)
        team_id = self._parent_id("team", obj.parent)
        channel: JSON | None = None
        if change.action == "create" or change.drift == "deleted":
            try:
                channel = self.client.get_channel_by_name(
                    team_id, fields["name"], include_deleted=True
                )
                if change.action == "create":
                    self.result.adopted += 1
            except NotFound:
                channel = None
        elif change.recorded is not None:
            channel = self.client.get_channel(change.recorded.mattermost_id)
        if channel is None:
            channel = self.client.create_channel(
                team_id,
                fields["name"],
                fields["display_name"],
                type=fields["type"],
                purpose=fields["purpose"],
                header=fields["header"],
            )
            self.fresh_channels.add(obj.slug)
        else:
            if channel.get("delete_at"):
                channel = self.client.restore_channel(channel["id"])
            patch = {
                k: fields[k]
                for k in ("name", "display_name", "purpose", "header")
                if channel.get(k, "") != fields[k]
            }
            if patch:
                channel = self.client.patch_channel(channel["id"], patch)
            if channel.get("type") != fields["type"]:
                self.result.notices.append(phrase("notice.channel_type", name=fields["name"]))
        self._record(obj, channel, team_id, project("channel", channel))

    def _bookmark(self, change: Change, obj: DesiredObject) -> None:
        if self.bookmarks_refused:
            return
        fields = dict(obj.fields)
        channel_id = self._parent_id("channel", obj.parent)
        try:
            bookmark: JSON | None = None
            if change.action == "create" or change.drift == "deleted":
                if channel_id not in self.bookmarks_by_channel:
                    self.bookmarks_by_channel[channel_id] = (
                        []
                        if obj.parent in self.fresh_channels
                        else self.client.list_bookmarks(channel_id)
                    )
                bookmark = next(
                    (
                        b
                        for b in self.bookmarks_by_channel[channel_id]
                        if not b.get("delete_at")
                        and b.get("display_name") == fields["display_name"]
                        and b.get("link_url") == fields["link_url"]
                    ),
                    None,
                )
                if bookmark is None:
                    bookmark = self.client.create_bookmark(
                        channel_id,
                        fields["display_name"],
                        link_url=fields["link_url"],
                        emoji=fields["emoji"],
                    )
            else:
                assert change.recorded is not None
                answer = self.client.update_bookmark(
                    channel_id,
                    change.recorded.mattermost_id,
                    {
                        "display_name": fields["display_name"],
                        "link_url": fields["link_url"],
                        "emoji": fields["emoji"],
                    },
                )
                bookmark = answer.get("updated") or answer
        except FeatureNeedsLicense:
            self.bookmarks_refused = True
            self.result.notices.append(BOOKMARKS_NEED_LICENCE)
            return
        self._record(obj, bookmark, channel_id, project("bookmark", bookmark))

    # ------------------------------------------------------------------ posts and replies

    def _member(self, author: str) -> CommitteeMember | None:
        return self.desired.members.get(author) if author != "bot" else None

    def _message(self, obj: DesiredObject, posted_as: str) -> str:
        member = self._member(str(obj.fields["author"]))
        message = str(obj.fields["message"])
        if member is not None and posted_as == "bot":
            prefix = _ON_BEHALF[self.language].format(
                name=member.name, role=member.role.pick(self.language) if member.role else ""
            )
            message = prefix + message
        return message

    def _props(self, obj: DesiredObject) -> JSON:
        props = post_props(obj, self.signer, self.public_url, self.language)
        props[MARKER_PROP] = marker_for(obj.slug)
        return props

    def _existing_post(self, channel_slug: str, channel_id: str, slug: str) -> JSON | None:
        if channel_slug in self.fresh_channels:
            return None
        if channel_id not in self.posts_by_marker:
            index: dict[str, JSON] = {}
            for post in self.client.iter_channel_posts(channel_id):
                found = (post.get("props") or {}).get(SLUG_PROP)
                if found and not post.get("delete_at"):
                    index[str(found)] = post
            self.posts_by_marker[channel_id] = index
        return self.posts_by_marker[channel_id].get(slug)

    def _post(self, change: Change, obj: DesiredObject) -> None:
        if obj.kind == "reply":
            root = next(o for o in self.desired.objects if o.key == ("post", obj.parent))
            channel_slug = str(root.parent)
            root_id = self._parent_id("post", obj.parent)
            pinned = False
        else:
            channel_slug = str(obj.parent)
            root_id = ""
            pinned = bool(obj.fields["pinned"])
        channel_id = self._parent_id("channel", channel_slug)
        recorded = change.recorded
        if change.action == "create" or change.drift == "deleted":
            post = self._existing_post(channel_slug, channel_id, obj.slug)
            if post is not None:
                self.result.adopted += 1
                posted_as = "bot" if post.get("user_id") == self._bot_id() else "member"
            else:
                post, posted_as = self._create_post(obj, channel_id, root_id)
            post = self._sync_post(post, obj, posted_as, pinned, force_props=False)
        else:
            assert recorded is not None
            posted_as = str(recorded.applied.get("posted_as", "bot"))
            post = self.client.get_post(recorded.mattermost_id) or {"id": recorded.mattermost_id}
            poll_changed = (recorded.applied.get("fields") or {}).get("poll") != obj.fields.get(
                "poll"
            )
            files_changed = (recorded.applied.get("fields") or {}).get("files") != obj.fields.get(
                "files"
            )
            if files_changed:
                self.result.notices.append(phrase("notice.files_kept", label=obj.label))
            post = self._sync_post(post, obj, posted_as, pinned, force_props=poll_changed)
        self._record(obj, post, root_id or channel_id, project("post", post), posted_as=posted_as)

    def _bot_id(self) -> str:
        if self._me_id is None:
            self._me_id = str(self.client.get_me()["id"])
        return self._me_id

    def _ensure_member_in(self, key: str, poster: MattermostClient, channel_id: str) -> None:
        """A committee member posting with their own token must be in the team and channel."""
        if (key, channel_id) in self.joined:
            return
        user_id = str(poster.get_me()["id"])
        team_id = str(self.client.get_channel(channel_id)["team_id"])
        if (key, team_id) not in self.joined:
            self.client.add_team_members(team_id, [user_id])
            self.joined.add((key, team_id))
        self.client.add_channel_members(channel_id, [user_id])
        self.joined.add((key, channel_id))

    def _create_post(self, obj: DesiredObject, channel_id: str, root_id: str) -> tuple[JSON, str]:
        author = str(obj.fields["author"])
        member = self._member(author)
        poster = self.client
        posted_as = "bot"
        if member is not None and member.key in self.member_clients:
            poster = self.member_clients[member.key]
            posted_as = "member"
            self._ensure_member_in(member.key, poster, channel_id)
        file_ids = []
        for item in obj.fields.get("files") or []:
            path = self.desired.asset(item["name"])
            info = poster.upload_file(
                channel_id, path.read_bytes(), item["name"], _content_type(item["name"])
            )
            file_ids.append(info["id"])
        props = self._props(obj)
        marker = props.pop(MARKER_PROP)
        post = poster.create_post(
            channel_id,
            self._message(obj, posted_as),
            props=props,
            file_ids=file_ids,
            root_id=root_id,
            marker=marker,
        )
        return post, posted_as

    def _sync_post(
        self, post: JSON, obj: DesiredObject, posted_as: str, pinned: bool, *, force_props: bool
    ) -> JSON:
        """Bring an existing post to the content: message (and props when needed), pin."""
        message = self._message(obj, posted_as)
        wanted_poll = project("post", {"props": self._props(obj)})["poll"]
        props = None
        if force_props or project("post", post)["poll"] != wanted_poll:
            props = {**(post.get("props") or {}), **self._props(obj)}
            if not obj.fields.get("poll"):
                props.pop("attachments", None)
                props.pop(POLL_PROP, None)
        if post.get("message") != message or props is not None:
            updated = self.client.update_post(post["id"], message=message, props=props)
            post = {**post, **updated}
        if bool(post.get("is_pinned")) != pinned:
            if pinned:
                self.client.pin_post(post["id"])
            else:
                self.client.unpin_post(post["id"])
            post = {**post, "is_pinned": pinned}
        return post


def _content_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def require_bot_for_posts(
    client: MattermostClient, plan: Plan, member_clients: Mapping[str, MattermostClient]
) -> None:
    """Refuse, before anything is written, a plan whose posts would appear as a person's own."""
    posts_with_client = any(
        change.desired is not None
        and change.desired.kind in ("post", "reply")
        and change.writes
        and str(change.desired.fields.get("author", "bot")) not in member_clients
        for change in plan.to_apply
    )
    if not posts_with_client:
        return
    me = client.get_me()
    if me.get("is_bot"):
        return
    raise EnvolError(said("apply.token_not_a_bot", username=me.get("username", "?")))


def apply_plan(
    client: MattermostClient,
    session: Session,
    desired: DesiredState,
    plan: Plan,
    *,
    signer: Signer,
    public_url: str,
    member_clients: Mapping[str, MattermostClient] | None = None,
    on_step: Callable[[Change], None] | None = None,
) -> ApplyResult:
    """Do exactly what ``plan`` says, recording each object as soon as it exists.

    A plan with blockers (a file the server would refuse) applies nothing: better no change
    than a launch space half published. Envol posts as its bot or not at all: when a post would
    go out with ``client`` (the bot's own posts, or a committee member's without their token)
    and ``client`` is a person's account, nothing is applied (``EnvolError``).
    """
    if plan.blockers:
        raise ValidationFailed(said("apply.files_refused", n=len(plan.blockers)), plan.blockers)
    require_bot_for_posts(client, plan, member_clients or {})
    applier = _Applier(
        client,
        session,
        desired,
        signer=signer,
        public_url=public_url,
        member_clients=member_clients or {},
    )
    for change in plan.to_apply:
        applier.apply(change)
        if on_step is not None:
            on_step(change)
    applier.result.notices = list(dict.fromkeys(plan.notices + applier.result.notices))
    return applier.result
