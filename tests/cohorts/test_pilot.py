from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.cohorts.pilot import Candidate, largest_remainder, select_pilot
from plugin.cohorts.service import _candidates
from plugin.demo.fake_roster import DEPARTMENTS, SITES
from plugin.people.models import Person, PersonRole


def test_pilot_of_1500_is_about_150_and_covers_everyone_it_must(roster_1500: Session) -> None:
    candidates = _candidates(roster_1500)

    pilot = select_pilot(candidates, 10, seed=42)

    chosen = set(pilot.selected_ids)
    assert len(chosen) == len(pilot.selected_ids) == 150
    people = roster_1500.scalars(select(Person).where(Person.id.in_(chosen))).all()
    assert {p.department for p in people} == set(DEPARTMENTS)
    assert {p.site for p in people} == {name for name, _ in SITES}
    must = roster_1500.scalars(
        select(Person.id).where(
            Person.volunteer.is_(True) | Person.role.in_([PersonRole.MANAGER, PersonRole.CHAMPION])
        )
    ).all()
    assert must and set(must) <= chosen
    assert not pilot.warnings


def test_pilot_is_identical_for_the_same_seed_and_differs_for_another(
    roster_1500: Session,
) -> None:
    candidates = _candidates(roster_1500)

    first = select_pilot(candidates, 10, seed=42).selected_ids
    again = select_pilot(list(reversed(candidates)), 10, seed=42).selected_ids
    other = select_pilot(candidates, 10, seed=43).selected_ids

    assert first == again
    assert first != other


def test_every_stratum_explains_its_selection(roster_1500: Session) -> None:
    pilot = select_pilot(_candidates(roster_1500), 10, seed=1)

    for stratum in pilot.strata:
        assert stratum.selected == sum(stratum.included.values()) + stratum.drawn
        assert f"fair share {stratum.fair_share:.1f}" in stratum.why
    assert sum(s.population for s in pilot.strata) == 1500


def _candidate(i: int, department: str, site: str, role: PersonRole = PersonRole.EMPLOYEE,
               volunteer: bool = False) -> Candidate:  # fmt: skip
    return Candidate(i, f"p{i}@x.example", department, site, role, volunteer)


def test_small_strata_are_represented_and_shares_follow_population() -> None:
    people = [_candidate(i, "Big", "Paris") for i in range(90)]
    people += [_candidate(100 + i, "Small", "Lyon") for i in range(10)]

    pilot = select_pilot(people, 10, seed=3)

    by_stratum = {(s.department, s.site): s.selected for s in pilot.strata}
    assert by_stratum == {("Big", "Paris"): 9, ("Small", "Lyon"): 1}


def test_must_includes_beyond_the_target_are_kept_with_a_warning() -> None:
    people = [_candidate(i, "D", "S", role=PersonRole.MANAGER) for i in range(5)]
    people += [_candidate(10 + i, "D", "S") for i in range(15)]

    pilot = select_pilot(people, 10, seed=3)

    assert pilot.selected_ids == [0, 1, 2, 3, 4]
    assert "exceed the target" in str(pilot.warnings[0])


def test_largest_remainder_gives_leftover_seats_to_the_largest_remainders() -> None:
    weights = {("a", ""): 4.6, ("b", ""): 3.3, ("c", ""): 2.1}
    caps = {key: 100 for key in weights}

    assert largest_remainder(10, weights, caps) == {("a", ""): 5, ("b", ""): 3, ("c", ""): 2}


def test_largest_remainder_respects_caps_and_shares_the_overflow() -> None:
    weights = {("a", ""): 8.0, ("b", ""): 1.0, ("c", ""): 1.0}
    caps = {("a", ""): 2, ("b", ""): 10, ("c", ""): 10}

    assert largest_remainder(10, weights, caps) == {("a", ""): 2, ("b", ""): 4, ("c", ""): 4}
