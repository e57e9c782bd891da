"""Fictional employees for the demo, the tests and the benchmarks; deterministic for a seed.

The company has departments spread over sites, teams of about a dozen people led by a manager,
department heads, a few champions and a launch committee, volunteers for the pilot, and French
and English speakers. Rows are generated as a stream, so 100,000 of them cost no memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from plugin.text import csv_writer, strip_accents

DOMAIN = "exemple-sa.example"

DEPARTMENTS = (
    "Direction générale",
    "Finance",
    "Ressources humaines",
    "Ventes",
    "Marketing",
    "Production",
    "Logistique",
    "Recherche & développement",
    "Informatique",
)
# Weights: most people work at headquarters; the two English-speaking sites are small.
SITES = (
    ("Paris", 34),
    ("Lyon", 20),
    ("Nantes", 14),
    ("Toulouse", 14),
    ("London", 10),
    ("Montréal", 8),
)
ENGLISH_SITES = {"London"}

FRENCH_FIRST = (
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Sarah",
    "Juliette",
    "Zoé",
    "Élodie",
    "Anaïs",
    "Hélène",
    "Margaux",
    "Amélie",
    "Noémie",
    "Céline",
    "Louise",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Théo",
    "Raphaël",
    "Nathan",
    "Mathis",
    "Clément",
    "Antoine",
    "Jérôme",
    "François",
    "Benoît",
    "Grégoire",
    "Étienne",
    "Mathieu",
    "Sébastien",
    "Olivier",
)
FRENCH_LAST = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Gaillard",
)
ENGLISH_FIRST = (
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Charlie",
    "Thomas",
    "James",
    "William",
    "Emily",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Jessica",
    "Sophie",
    "Grace",
    "Ruby",
    "Evie",
    "Noah",
    "Liam",
    "Ethan",
    "Chloe",
    "Megan",
    "Hannah",
)
ENGLISH_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "Harris",
)  # fmt: skip

HEADER_FR = (
    "Courriel", "Prénom", "Nom", "Service", "Site", "E-mail du manager", "Rôle", "Langue",
    "Volontaire",
)  # fmt: skip
TEAM_SIZE = 25
CHAMPION_RATE = 0.012
VOLUNTEER_RATE = 0.02
COMMITTEE_SIZE = 8


@dataclass(frozen=True)
class FakeEmployee:
    email: str
    first_name: str
    last_name: str
    department: str
    site: str
    manager_email: str
    role: str
    language: str
    volunteer: bool

    def cells(self) -> list[str]:
        return [
            self.email,
            self.first_name,
            self.last_name,
            self.department,
            self.site,
            self.manager_email,
            self.role,
            self.language,
            "oui" if self.volunteer else "non",
        ]


def _ascii(text: str) -> str:
    return "".join(ch for ch in strip_accents(text).lower() if ch.isalnum() or ch in ".-")


def generate_roster(people: int = 1500, seed: int = 7) -> Iterator[FakeEmployee]:
    """``people`` fictional employees. Each team's manager comes before the team; department
    heads (the first manager seen in each department) report to the CEO, who is person 1."""
    rng = random.Random(f"envol-roster:{seed}")
    site_names = [name for name, _ in SITES]
    site_weights = [weight for _, weight in SITES]
    used: set[str] = set()
    heads: dict[str, str] = {}
    ceo_email = ""
    team_department, team_site, team_manager = "", "", ""
    for index in range(people):
        if index % TEAM_SIZE == 0:
            team_department = rng.choice(DEPARTMENTS[1:]) if index else DEPARTMENTS[0]
            team_site = rng.choices(site_names, site_weights)[0] if index else "Paris"
        english = team_site in ENGLISH_SITES or (team_site == "Montréal" and rng.random() < 0.3)
        if english or rng.random() < 0.05:
            first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
        else:
            first, last = rng.choice(FRENCH_FIRST), rng.choice(FRENCH_LAST)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email, suffix = f"{local}@{DOMAIN}", 1
        while email in used:
            suffix += 1
            email = f"{local}{suffix}@{DOMAIN}"
        used.add(email)
        is_team_lead = index % TEAM_SIZE == 0
        if index == 0:
            role, manager = "committee", ""
            ceo_email = email
        elif is_team_lead:
            role = "manager"
            manager = heads.setdefault(team_department, email)
            manager = ceo_email if manager == email else manager
            team_manager = email
        elif index <= COMMITTEE_SIZE:
            role, manager = "committee", ceo_email
        else:
            role = "champion" if rng.random() < CHAMPION_RATE else "employee"
            manager = team_manager or ceo_email
        if index == 0:
            team_manager = email
        yield FakeEmployee(
            email=email,
            first_name=first,
            last_name=last,
            department=team_department,
            site=team_site,
            manager_email=manager,
            role=role,
            language="en" if english else "fr",
            volunteer=role in {"employee", "champion"} and rng.random() < VOLUNTEER_RATE,
        )


def write_roster_csv(
    path: Path,
    people: int = 1500,
    seed: int = 7,
    *,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
) -> Path:
    """Write the roster as French Excel exports it by default: ``;`` and a UTF-8 BOM."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv_writer(handle, delimiter=delimiter)
        writer.writerow(HEADER_FR)
        for employee in generate_roster(people, seed):
            writer.writerow(employee.cells())
    return path
