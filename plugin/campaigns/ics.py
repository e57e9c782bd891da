"""``envol campaign ics``: the plan as an iCalendar file for the communication team's calendar.

One event per step (when it goes out, to whom, by which channel, from whom) and one per launch
event it invites to (the photo session, the stand, the party), with stable UIDs so that
importing the file again after a change updates the events instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from plugin import clock
from plugin.campaigns.plan import CampaignPlan
from plugin.campaigns.service import CalendarEntry


def calendar_ics(plan: CampaignPlan, entries: list[CalendarEntry], launch: dt.date) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Envol//Launch communication plan//FR")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Envol — {plan.name} ({launch.isoformat()})")
    stamp = clock.now()
    for entry in entries:
        step = entry.step
        event = Event()
        event.add("uid", f"{plan.name}-{step.key}@envol")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.local_due)
        event.add("dtend", entry.local_due + dt.timedelta(minutes=15))
        size = "?" if entry.audience_size is None else f"{entry.audience_size}"
        target = f"#{step.post_channel}" if step.post_channel else f"{step.audience} ({size})"
        event.add("summary", f"[{step.channel.value}] {step.key} → {target}")
        template = step.templates.get(plan.languages[0])
        lines = [
            f"Step: {step.key} ({step.kind.value}, {step.when.label()})",
            f"Channel: {step.channel.value}; audience: {target}",
            f"Sender: {entry.sender_label}",
            f"Mandatory: {'yes' if step.mandatory else 'no (List-Unsubscribe)'}",
        ]
        if template is not None:
            lines.append(f"Template: {template.path.name}")
        event.add("description", "\n".join(lines))
        event.add("categories", ["envol", step.kind.value])
        calendar.add_component(event)
        if step.event is not None:
            day = step.event.date.resolve(launch)
            start = dt.datetime.combine(
                day, dt.time.fromisoformat(step.event.start), tzinfo=plan.timezone
            )
            end = dt.datetime.combine(
                day, dt.time.fromisoformat(step.event.end), tzinfo=plan.timezone
            )
            happening = Event()
            happening.add("uid", f"{plan.name}-{step.key}-event@envol")
            happening.add("dtstamp", stamp)
            happening.add("dtstart", start)
            happening.add("dtend", end)
            happening.add("summary", f"Event: {step.key.removeprefix('invite-')}")
            happening.add("location", step.event.place.get(plan.languages[0]))
            happening.add("categories", ["envol", "event"])
            calendar.add_component(happening)
    # TZID references need their VTIMEZONE definitions for calendars that do not know them.
    calendar.add_missing_timezones()
    return calendar.to_ical()
