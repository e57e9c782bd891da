"""Strategies 2 and 4, failures and retries, opt-outs, concurrent dispatchers, crash recovery."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from plugin.app import EnvolContext
from plugin.clock import FrozenClock
from plugin.db import transaction
from plugin.delivery.models import AcceptedMessage, OutboundMessage, OutboundState
from plugin.demo.sandbox_people import accept_invite
from plugin.invitations.dispatcher import dispatch_invitations
from plugin.invitations.models import Invitation, InvitationState, InvitationStrategy
from plugin.invitations.service import opt_out, retry_failed
from plugin.mail.message import deterministic_message_id
from plugin.mattermost import MattermostClient, Retryable
from plugin.onboarding.cycle import run_once
from plugin.onboarding.funnel import funnel
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.invitations.world import (
    TEAM,
    build_scene,
    environment,
    markers,
    recipients,
    runtime,
)


def _states(context: EnvolContext) -> dict[str, int]:
    with context.sessions() as session:
        rows = session.execute(select(Invitation.state, func.count()).group_by(Invitation.state))
        return {state.value: count for state, count in rows}


def _emails(context: EnvolContext) -> dict[int, str]:
    with context.sessions() as session:
        return {p.id: p.email for p in session.scalars(select(Person))}


def test_mattermost_invitations_are_paced_at_20_an_hour_and_reissued_after_expiry(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=30, existing_every=None, managers=0)
    settings = runtime(InvitationStrategy="mattermost_email", ReminderDelaysDays="3")

    def cycle() -> None:
        run_once(environment(sandbox, envol_context.sessions, settings=settings), digests=False)

    cycle()
    assert len(sandbox.state.sent_invites) == 20  # the hour's allowance, then it waits
    cycle()
    assert len(sandbox.state.sent_invites) == 20
    with envol_context.sessions() as session:
        assert "hours" in funnel(session, settings).estimate.describe()  # type: ignore[union-attr]
    frozen_clock.advance(dt.timedelta(hours=1, minutes=1))
    cycle()
    assert len(sandbox.state.sent_invites) == 30
    assert len({i["email"] for i in sandbox.state.sent_invites}) == 30
    assert _states(envol_context) == {"sent": 30}
    # One person accepts through Mattermost's e-mail; detection, welcome.
    first = _emails(envol_context)[scene.person_ids[0]]
    accept_invite(sandbox, email=first)
    cycle()
    assert len(markers(sandbox, "welcome:")) == 1
    # Day 3: the 48-hour tokens expired: the 29 others get a fresh invitation (paced again).
    frozen_clock.advance(dt.timedelta(days=3))
    cycle()
    frozen_clock.advance(dt.timedelta(hours=1, minutes=1))
    cycle()
    reissued = [i for i in sandbox.state.sent_invites[30:]]
    assert len(reissued) == 29 and first not in {i["email"] for i in reissued}
    # 48 hours after the last re-issue, with no reminder left: expired.
    frozen_clock.advance(dt.timedelta(days=2, hours=1))
    cycle()
    assert _states(envol_context) == {"activated": 1, "expired": 29}


def test_mattermost_refusing_for_its_rate_limit_defers_the_wave_and_sends_each_once_later(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    """Envol's budget says 20 are left, but someone else spent the bot's hour on the server:
    413 rate_limit. Nothing fails and no attempt is counted; the hour after, each goes once."""
    build_scene(sandbox, envol_context.sessions, people=5, existing_every=None, managers=0)
    settings = runtime(InvitationStrategy="mattermost_email")
    spent = MattermostClient(sandbox.url, sandbox.admin_token)
    spent.invite_by_email(
        spent.get_team_by_name(TEAM)["id"], [f"other{n}@acme.test" for n in range(20)]
    )
    spent.close()

    def cycle() -> None:
        run_once(environment(sandbox, envol_context.sessions, settings=settings), digests=False)

    cycle()
    assert len(sandbox.state.sent_invites) == 20
    assert _states(envol_context) == {"planned": 5}
    with envol_context.sessions() as session:
        assert set(session.scalars(select(Invitation.attempts))) == {0}
        assert set(session.scalars(select(OutboundMessage.state))) == {OutboundState.RETRY}
    frozen_clock.advance(dt.timedelta(hours=1, minutes=1))
    cycle()
    ours = [i["email"] for i in sandbox.state.sent_invites[20:]]
    assert sorted(ours) == sorted(_emails(envol_context).values())
    assert _states(envol_context) == {"sent": 5}


def test_an_address_mattermost_refuses_fails_alone_with_its_reason(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=4, existing_every=None, managers=0)
    with sandbox.state.lock:
        sandbox.state.team(scene.team["id"])["allowed_domains"] = "acme.test"
    outsider = scene.person_ids[1]
    with transaction(envol_context.sessions) as session:
        session.get_one(Person, outsider).email = "someone@elsewhere.test"
    settings = runtime(InvitationStrategy="mattermost_email")
    run_once(environment(sandbox, envol_context.sessions, settings=settings), digests=False)
    assert len(sandbox.state.sent_invites) == 3
    assert _states(envol_context) == {"sent": 3, "failed": 1}
    with envol_context.sessions() as session:
        failed = session.scalars(select(Invitation).where(Invitation.person_id == outsider)).one()
    assert failed.state == InvitationState.FAILED and "accepted domain" in failed.failure_reason


def test_an_invitation_request_whose_answer_was_lost_is_never_sent_again(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mattermost may have mailed them: counted uncertain (at most once), never re-sent."""
    build_scene(sandbox, envol_context.sessions, people=3, existing_every=None, managers=0)
    settings = runtime(InvitationStrategy="mattermost_email", ReminderDelaysDays="3")
    applied = MattermostClient.invite_by_email

    def answer_lost(self: MattermostClient, *args: Any, **kwargs: Any) -> Any:
        applied(self, *args, **kwargs)
        raise Retryable("the connection dropped after the request was sent")

    with monkeypatch.context() as patch:
        patch.setattr(MattermostClient, "invite_by_email", answer_lost)
        report = dispatch_invitations(
            environment(sandbox, envol_context.sessions, settings=settings)
        )
    assert report.uncertain == 3 and len(sandbox.state.sent_invites) == 3
    assert _states(envol_context) == {"sent": 3}
    frozen_clock.advance(dt.timedelta(hours=2))
    dispatch_invitations(environment(sandbox, envol_context.sessions, settings=settings))
    assert len(sandbox.state.sent_invites) == 3
    with envol_context.sessions() as session:
        assert set(session.scalars(select(OutboundMessage.state))) == {OutboundState.UNCERTAIN}


def test_single_sign_on_sends_nothing_and_detects_people_who_signed_in(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=6, existing_every=None, managers=0)
    settings = runtime(InvitationStrategy="sso")

    def cycle() -> None:
        env = environment(
            sandbox, envol_context.sessions, smtp_url=smtp_server.url, settings=settings
        )
        run_once(env, digests=False)

    cycle()
    assert _states(envol_context) == {"sent": 6}
    assert smtp_server.messages == [] and sandbox.state.sent_invites == []
    # One signs in with SSO (an account, not in the team yet); another lands in the team.
    emails = _emails(envol_context)
    sandbox.create_user("sso1", email=emails[scene.person_ids[0]])
    second = sandbox.create_user("sso2", email=emails[scene.person_ids[1]])
    sandbox.add_team_member(scene.team["id"], second["id"])
    cycle()
    assert _states(envol_context) == {"sent": 5, "activated": 1}
    frozen_clock.advance(dt.timedelta(days=1, minutes=1))  # the daily probe by e-mail
    cycle()
    assert _states(envol_context) == {"sent": 4, "activated": 2}
    assert len(markers(sandbox, "welcome:")) == 2
    with envol_context.sessions() as session:
        strategies = set(session.scalars(select(Invitation.strategy)))
    assert strategies == {InvitationStrategy.SSO}


def test_a_refused_address_fails_with_its_reason_and_retry_failed_sends_it_once_fixed(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=5, existing_every=None, managers=0)
    emails = _emails(envol_context)
    bad = emails[scene.person_ids[2]]
    smtp_server.handler.reject_permanently.add(bad)

    def cycle() -> None:
        env = environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url)
        run_once(env, digests=False)

    cycle()
    assert _states(envol_context) == {"sent": 4, "failed": 1}
    with envol_context.sessions() as session:
        result = funnel(session, runtime())
        reason = session.scalar(
            select(Invitation.failure_reason).where(Invitation.state == InvitationState.FAILED)
        )
    assert result.failures and "550" in result.failures[0][0]
    assert bad not in (reason or "")  # addresses never reach the audit trail
    smtp_server.handler.reject_permanently.clear()
    with transaction(envol_context.sessions) as session:
        assert retry_failed(session, actor="test", dry_run=True).invitation_ids
        plan = retry_failed(session, actor="test")
    assert len(plan.invitation_ids) == 1
    cycle()
    cycle()
    assert _states(envol_context) == {"sent": 5}
    assert sorted(recipients(smtp_server.messages)) == sorted(emails.values())


def test_a_relay_that_refuses_for_a_while_delays_the_mail_without_losing_it(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    build_scene(sandbox, envol_context.sessions, people=4, existing_every=None, managers=0)
    smtp_server.handler.refuse = True  # 451 to every message

    def cycle() -> None:
        env = environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url)
        run_once(env, digests=False)

    cycle()
    assert _states(envol_context) == {"planned": 4} and smtp_server.messages == []
    smtp_server.handler.refuse = False
    frozen_clock.advance(dt.timedelta(minutes=5))
    cycle()
    assert _states(envol_context) == {"sent": 4}
    assert all(len(s) == 1 for s in recipients(smtp_server.messages).values())


def test_an_opted_out_person_gets_no_reminder(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=3, existing_every=None, managers=0)
    emails = _emails(envol_context)

    def cycle() -> None:
        env = environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url)
        run_once(env, digests=False)

    cycle()
    with transaction(envol_context.sessions) as session:
        assert opt_out(session, emails[scene.person_ids[0]].upper(), actor="test") == 1
    frozen_clock.advance(dt.timedelta(days=3, minutes=1))
    cycle()
    received = recipients(smtp_server.messages)
    assert len(received[emails[scene.person_ids[0]]]) == 1
    assert len(received[emails[scene.person_ids[1]]]) == 2
    assert _states(envol_context) == {"opted_out": 1, "reminded": 2}


def test_concurrent_dispatchers_send_each_invitation_once(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    sandbox.disable_contract()
    build_scene(sandbox, envol_context.sessions, people=60, existing_every=None, managers=0)
    envs = [
        environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url) for _ in range(3)
    ]
    for env in envs:
        env.batch_size = 15  # small claims, so the three interleave
    errors: list[BaseException] = []

    def work(env: object) -> None:
        try:
            while dispatch_invitations(env).claimed:  # type: ignore[arg-type]
                pass
        except BaseException as error:
            errors.append(error)
        finally:
            env.close()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=work, args=(env,)) for env in envs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    received = recipients(smtp_server.messages)
    assert len(received) == 60 and all(len(s) == 1 for s in received.values())
    assert _states(envol_context) == {"sent": 60}


def _sending(key: str, kind: str, channel: str, person_id: int, **extra: object) -> OutboundMessage:
    return OutboundMessage(
        key=key,
        kind=kind,
        channel=channel,
        person_id=person_id,
        state=OutboundState.SENDING,
        attempts=1,
        **extra,
    )


def test_a_crash_mid_send_loses_nothing_and_sends_nothing_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    """Recreate what a SIGKILL leaves behind: e-mails and a welcome DM in ``sending``."""
    scene = build_scene(sandbox, envol_context.sessions, people=4, existing_every=2, managers=0)
    existing_pid, existing_uid = next(iter(scene.existing_user_ids.items()))
    accepted_pid, lost_pid = [pid for pid in scene.person_ids if pid not in scene.existing_user_ids]
    env = environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url)
    welcome = f"welcome:{existing_pid}"
    # The welcome DM was posted but its outcome not recorded (killed right after the post).
    env.mm.send_direct_message(existing_uid, "Bienvenue", marker=welcome)
    dead_since = frozen_clock() - env.lease - dt.timedelta(seconds=1)
    with transaction(envol_context.sessions) as session:
        ids = dict(session.execute(select(Invitation.person_id, Invitation.id)).all())
        for pid in (accepted_pid, lost_pid):
            session.add(
                _sending(
                    f"invite:{ids[pid]}:0",
                    "invitation",
                    "smtp",
                    pid,
                    invitation_id=ids[pid],
                    owner="dead-worker",
                    started_at=dead_since,
                )
            )
        session.add(
            _sending(
                welcome, "welcome", "direct_message", existing_pid,
                owner="dead-worker", started_at=dead_since,
            )
        )  # fmt: skip
        # The relay had accepted one of the two e-mails before the kill: the journal says so.
        session.add(
            AcceptedMessage(
                message_id=deterministic_message_id(f"invite:{ids[accepted_pid]}:0", "acme.test"),
                purpose="invitation",
                accepted_at=dead_since,
            )
        )
        # The dead worker's lease has expired.
        session.execute(
            update(Invitation).values(
                lease_owner="dead-worker", lease_expires_at=frozen_clock() - dt.timedelta(1)
            )
        )
    run_once(env, digests=False)
    emails = _emails(envol_context)
    # At least once: the e-mail the relay never accepted goes again, with the same Message-ID;
    # the accepted one is not re-sent.
    assert list(recipients(smtp_server.messages)) == [emails[lost_pid]]
    assert smtp_server.messages[0]["Message-ID"] == deterministic_message_id(
        f"invite:{ids[lost_pid]}:0", "acme.test"
    )
    assert markers(sandbox, "welcome:") == {
        welcome: 1,
        **{k: 1 for k in markers(sandbox, "welcome:") if k != welcome},
    }
    with envol_context.sessions() as session:
        result = funnel(session, runtime())
        states = dict(session.execute(select(OutboundMessage.key, OutboundMessage.state)).all())
    assert result.uncertain == 0
    assert set(states.values()) == {OutboundState.SENT}
    assert _states(envol_context) == {"sent": 2, "activated": 2}


def test_a_send_another_live_worker_began_is_left_to_it(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    """A worker whose lease ran out mid-send may still be sending: within one lease of its
    start, the new holder of the row does not send again (neither the e-mail nor the DM)."""
    scene = build_scene(sandbox, envol_context.sessions, people=2, existing_every=2, managers=0)
    existing_pid = next(iter(scene.existing_user_ids))
    (newcomer,) = [pid for pid in scene.person_ids if pid not in scene.existing_user_ids]
    env = environment(sandbox, envol_context.sessions, smtp_url=smtp_server.url)
    moments_ago = frozen_clock() - dt.timedelta(seconds=5)
    with transaction(envol_context.sessions) as session:
        ids = dict(session.execute(select(Invitation.person_id, Invitation.id)).all())
        session.add(
            _sending(
                f"invite:{ids[newcomer]}:0", "invitation", "smtp", newcomer,
                invitation_id=ids[newcomer], owner="slow-worker", started_at=moments_ago,
            )
        )  # fmt: skip
        session.add(
            _sending(
                f"welcome:{existing_pid}", "welcome", "direct_message", existing_pid,
                owner="slow-worker", started_at=moments_ago,
            )
        )  # fmt: skip
    run_once(env, digests=False)
    assert smtp_server.messages == []
    assert markers(sandbox, "welcome:") == {}
    # Once a lease has passed since it began, the send is over one way or the other: the
    # journal has no trace of the e-mail and no DM carries the marker, so both go out, once.
    frozen_clock.advance(env.lease + dt.timedelta(minutes=1))
    run_once(env, digests=False)
    run_once(env, digests=False)
    assert list(recipients(smtp_server.messages)) == [_emails(envol_context)[newcomer]]
    assert markers(sandbox, "welcome:") == {f"welcome:{existing_pid}": 1}
