"""``envol campaign ics``: the plan as an iCalendar file for the communication team's calendar.

One event per step (when it goes out, to whom, by which channel, from whom) and one per launch
event it invites to (the photo session, the stand, the party), with stable UIDs so that
importing the file again after a change updates the events instead of duplicating them.

The calendar is read by people — the communication team, the committee, an assistant — so
titles and descriptions say what happens in their words ("Annonce officielle d'Isabelle
Moreau — tous les salariés"), in one language, never the plan's step keys.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from plugin import clock
from plugin.campaigns.plan import MANAGER_SENDER, CampaignPlan, Channel, Step, StepKind
from plugin.campaigns.service import CalendarEntry
from plugin.i18n import long_date
from plugin.typography import VALUE_MARK, finish

# Per kind: the title, in French and English. ``{sender}``, ``{event}``, ``{platform}``,
# ``{number}`` and ``{days}`` are filled in; a value follows VALUE_MARK so French elides
# before it ("de" + "Isabelle" -> "d'Isabelle").
_TITLES: dict[StepKind, tuple[str, str]] = {
    StepKind.TEASER: ("Message d'intrigue n°{number}", "Teaser no. {number}"),
    StepKind.ANNOUNCEMENT: ("Annonce officielle de {sender}", "Official announcement by {sender}"),
    StepKind.MANAGER: (
        "Message de chaque manager à son équipe",
        "Each manager's message to their team",
    ),
    StepKind.EVENT: ("Invitation : {event}", "Invitation: {event}"),
    StepKind.REMINDER: (
        "Rappel : {platform} ouvre dans {days} jours",
        "Reminder: {platform} opens in {days} days",
    ),
    StepKind.LAUNCH: (
        "Jour du lancement : ouverture de {platform}",
        "Launch day: {platform} opens",
    ),
    StepKind.FOLLOW_UP: (
        "Suivi, {days} jours après l'ouverture de {platform}",
        "Follow-up, {days} days after {platform} opened",
    ),
    StepKind.OTHER: ("Message du lancement", "Launch message"),
}

_AUDIENCES: dict[str, tuple[str, str]] = {
    "everyone": ("tous les salariés", "all employees"),
    "managers": ("les managers", "managers"),
    "champions": ("les ambassadeurs", "the champions"),
    "committee": ("le comité de lancement", "the launch committee"),
    "volunteers": ("les volontaires", "the volunteers"),
    "not-joined": ("les personnes pas encore inscrites", "people not on the platform yet"),
}
_NAMED_AUDIENCES: dict[str, tuple[str, str]] = {
    "wave": ("la vague {}", "wave {}"),
    "cohort": ("le groupe {}", "the {} group"),
    "department": ("le service {}", "the {} department"),
    "site": ("le site {}", "the {} site"),
}

_TEXT = {
    "fr": {
        "calendar": "Plan de communication du lancement de {platform} ({day})",
        "email": "Par e-mail à {audience}{size}.",
        "dm": "Message direct sur {platform} à {audience}{size} ; par e-mail pour qui n'y est "
        "pas encore.",
        "post": "Publication dans le canal ~{channel}.",
        "size": " ({count} personnes)",
        "from": "De la part de {sender}.",
        "manager": "De la part de chaque manager, à sa propre équipe (les réponses lui "
        "reviennent).",
        "mandatory": "Message obligatoire : tout le monde le reçoit.",
        "optional": "Message facultatif : les personnes désabonnées ne le reçoivent pas.",
        "event": "Invitation à : {event}, le {day}, de {start} à {end}, {place}.",
        "happening": "{event}, ouvert à {audience}. Invitation envoyée le {sent}.",
        "event_default": "l'événement du lancement",
    },
    "en": {
        "calendar": "{platform} launch communication plan ({day})",
        "email": "By e-mail to {audience}{size}.",
        "dm": "Direct message on {platform} to {audience}{size}; by e-mail for those not on it "
        "yet.",
        "post": "A post in the ~{channel} channel.",
        "size": " ({count} people)",
        "from": "From {sender}.",
        "manager": "From each manager, to their own team (answers go to the manager).",
        "mandatory": "Mandatory message: everyone receives it.",
        "optional": "Optional message: people who unsubscribed do not receive it.",
        "event": "Invitation to: {event}, on {day}, {start} to {end}, {place}.",
        "happening": "{event}, open to {audience}. Invitation sent on {sent}.",
        "event_default": "the launch event",
    },
}


def audience_words(audience: str, language: str) -> str:
    """``everyone`` -> "tous les salariés"; ``site:Lyon`` -> "le site Lyon"."""
    index = 1 if language == "en" else 0
    if audience in _AUDIENCES:
        return _AUDIENCES[audience][index]
    kind, _, name = audience.partition(":")
    if kind in _NAMED_AUDIENCES and name:
        return _NAMED_AUDIENCES[kind][index].format(name)
    return audience


def _sender_words(plan: CampaignPlan, step: Step, language: str) -> str:
    sender = plan.senders.get(step.sender)
    if sender is None:
        return step.sender
    title = sender.title.get(language) if sender.title is not None else ""
    name = sender.name.get(language)
    return f"{name}, {title}" if title else name


def _platform(plan: CampaignPlan, language: str) -> str:
    if plan.facts is not None:
        return plan.facts.platform.pick(language)
    return plan.name


def _event_name(step: Step, language: str) -> str:
    if step.event is not None and step.event.name is not None:
        return step.event.name.get(language)
    return _TEXT[language]["event_default"]


def step_title(plan: CampaignPlan, step: Step, launch: dt.date, language: str) -> str:
    """What a person calls this step, and who it reaches."""
    template = _TITLES[step.kind][1 if language == "en" else 0]
    teasers = [s.key for s in plan.steps if s.kind == StepKind.TEASER]
    days = abs((launch - step.when.resolve(launch)).days)
    values = {
        "sender": _sender_words(plan, step, language),
        "event": _event_name(step, language),
        "platform": _platform(plan, language),
        "number": str(teasers.index(step.key) + 1) if step.key in teasers else "",
        "days": str(days),
    }
    title = template.format(**{key: VALUE_MARK + value for key, value in values.items()})
    if step.channel != Channel.POST:
        title += " — " + VALUE_MARK + audience_words(step.audience, language)
    return finish(title, language)


def step_description(
    plan: CampaignPlan, entry: CalendarEntry, launch: dt.date, language: str
) -> str:
    step = entry.step
    text = _TEXT[language]
    size = "" if entry.audience_size is None else text["size"].format(count=entry.audience_size)
    audience = audience_words(step.audience, language)
    platform = _platform(plan, language)
    if step.channel == Channel.POST:
        lines = [text["post"].format(channel=step.post_channel or "")]
    else:
        lines = [text[step.channel.value].format(audience=audience, size=size, platform=platform)]
    if step.sender == MANAGER_SENDER:
        lines.append(text["manager"])
    else:
        lines.append(text["from"].format(sender=_sender_words(plan, step, language)))
    lines.append(text["mandatory" if step.mandatory else "optional"])
    if step.event is not None:
        lines.append(
            text["event"].format(
                event=_event_name(step, language),
                day=long_date(step.event.date.resolve(launch), language, weekday=True),
                start=step.event.start,
                end=step.event.end,
                place=step.event.place.get(language),
            )
        )
    return finish("\n".join(lines), language)


def calendar_ics(
    plan: CampaignPlan, entries: list[CalendarEntry], launch: dt.date, language: str = ""
) -> bytes:
    """The calendar in ``language`` (the plan's first language by default)."""
    language = language if language in plan.languages else plan.languages[0]
    calendar = Calendar()
    calendar.add("prodid", "-//Envol//Launch communication plan//FR")
    calendar.add("version", "2.0")
    name = _TEXT[language]["calendar"].format(
        platform=_platform(plan, language), day=long_date(launch, language)
    )
    calendar.add("x-wr-calname", name)
    stamp = clock.now()
    for entry in entries:
        step = entry.step
        event = Event()
        event.add("uid", f"{plan.name}-{step.key}@envol")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.local_due)
        event.add("dtend", entry.local_due + dt.timedelta(minutes=15))
        event.add("summary", step_title(plan, step, launch, language))
        event.add("description", step_description(plan, entry, launch, language))
        event.add("categories", ["envol", step.kind.value])
        calendar.add_component(event)
        if step.event is not None:
            calendar.add_component(_happening(plan, entry, launch, language, stamp))
    # TZID references need their VTIMEZONE definitions for calendars that do not know them.
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _happening(
    plan: CampaignPlan, entry: CalendarEntry, launch: dt.date, language: str, stamp: dt.datetime
) -> Event:
    """The launch event itself (the photo session, the party), on its own day and hours."""
    step = entry.step
    assert step.event is not None
    day = step.event.date.resolve(launch)
    start = dt.datetime.combine(day, dt.time.fromisoformat(step.event.start), tzinfo=plan.timezone)
    end = dt.datetime.combine(day, dt.time.fromisoformat(step.event.end), tzinfo=plan.timezone)
    name = _event_name(step, language)
    happening = Event()
    happening.add("uid", f"{plan.name}-{step.key}-event@envol")
    happening.add("dtstamp", stamp)
    happening.add("dtstart", start)
    happening.add("dtend", end)
    happening.add("summary", finish(name[:1].upper() + name[1:], language))
    description = _TEXT[language]["happening"].format(
        event=name[:1].upper() + name[1:],
        audience=audience_words(step.audience, language),
        sent=long_date(entry.local_due.date(), language),
    )
    happening.add("description", finish(description, language))
    happening.add("location", step.event.place.get(language))
    happening.add("categories", ["envol", "event"])
    return happening
