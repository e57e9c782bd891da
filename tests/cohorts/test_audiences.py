from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.cohorts.audiences import audience_query, check_audience_exists, parse_audience
from plugin.cohorts.service import MANAGERS_CHAMPIONS
from plugin.errors import EnvolError
from plugin.people.models import Person, PersonRole
from tests.people.rosters import plan_forty_people


@pytest.fixture
def planned(db_session: Session, tmp_path: Path) -> Session:
    return plan_forty_people(db_session, tmp_path)


def emails(session: Session, spec: str) -> set[str]:
    return set(session.scalars(audience_query(spec).with_only_columns(Person.email)))


def test_audiences_resolve_to_active_people(planned: Session) -> None:
    champion = planned.scalar(select(Person).where(Person.role == PersonRole.CHAMPION))
    assert champion is not None
    champion.mattermost_user_id = "x" * 26
    gone = planned.scalar(select(Person).where(Person.email == "employe40@exemple.fr"))
    assert gone is not None
    gone.status = gone.status.LEFT
    planned.flush()

    everyone = emails(planned, "everyone")
    assert len(everyone) == 39 and gone.email not in everyone
    assert emails(planned, "managers") == {"employe1@exemple.fr"}
    assert emails(planned, "champions") == {champion.email}
    assert emails(planned, "not-joined") == everyone - {champion.email}
    assert emails(planned, "volunteers") == {f"employe{n}@exemple.fr" for n in (10, 20, 30)}
    assert emails(planned, "service:Ventes") == emails(planned, "department:Ventes")
    assert emails(planned, "site:Lyon") == {p for p in everyone if int(p[7:-11]) % 2}
    assert emails(planned, f"wave:{MANAGERS_CHAMPIONS}") == {"employe1@exemple.fr", champion.email}
    assert emails(planned, f"cohort:{MANAGERS_CHAMPIONS}") == emails(
        planned, f"vague:{MANAGERS_CHAMPIONS}"
    )


@pytest.mark.parametrize("spec", ["", "wave:", "nobody", "department"])
def test_unknown_audiences_are_refused(spec: str) -> None:
    with pytest.raises(EnvolError, match="unknown audience"):
        parse_audience(spec)


def test_a_misspelt_wave_is_not_an_empty_audience(planned: Session) -> None:
    with pytest.raises(EnvolError, match="no wave named"):
        check_audience_exists(planned, "wave:pilot-typo")
