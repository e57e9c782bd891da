"""Reading a roster file as HR exports it: CSV (encoding, separator) or an Excel workbook
(.xlsx, its first sheet), headers, typed rows, problems.

The file is streamed (never loaded whole) so that a 100,000-row roster runs in flat memory:
``RosterFile.records()`` can be iterated several times (validate, then upsert, then link
managers). Workbooks are read with openpyxl in read-only mode, which streams rows too; a
workbook's line numbers are its row numbers, as Excel shows them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from plugin.errors import ValidationFailed
from plugin.people.models import Language, PersonRole
from plugin.text import strip_accents

FIELDS = (
    "email",
    "first_name",
    "last_name",
    "department",
    "site",
    "manager_email",
    "role",
    "language",
    "volunteer",
)
REQUIRED = ("email", "first_name", "last_name")

# Header aliases, compared after ``header_key`` (lowercase, no accents, words split by spaces).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e mail", "mail", "courriel", "adresse email", "adresse e mail", "adresse mail",
        "adresse electronique", "email address", "e mail address", "work email",
        "email professionnel", "courriel professionnel",
    ),
    "first_name": ("first name", "firstname", "given name", "prenom", "forename"),
    "last_name": ("last name", "lastname", "surname", "family name", "nom", "nom de famille"),
    "department": (
        "department", "departement", "dept", "service", "direction", "division", "team", "equipe",
    ),
    "site": ("site", "location", "office", "lieu", "etablissement", "bureau", "ville", "city"),
    "manager_email": (
        "manager email", "manager e mail", "manager", "managers email", "manager s email",
        "email manager", "e mail manager", "email du manager", "courriel du manager",
        "courriel manager", "responsable", "email responsable", "courriel responsable",
        "email du responsable", "courriel du responsable", "n 1", "email n 1", "courriel n 1",
    ),
    "role": ("role", "role envol", "launch role", "role lancement"),
    "language": ("language", "langue", "lang", "locale"),
    "volunteer": (
        "volunteer", "volontaire", "volunteers", "early adopter", "pilote volontaire",
        "volontaire pilote",
    ),
}  # fmt: skip

ROLE_VALUES: dict[str, PersonRole] = {
    "": PersonRole.EMPLOYEE,
    "employee": PersonRole.EMPLOYEE,
    "employe": PersonRole.EMPLOYEE,
    "salarie": PersonRole.EMPLOYEE,
    "collaborateur": PersonRole.EMPLOYEE,
    "collaboratrice": PersonRole.EMPLOYEE,
    "manager": PersonRole.MANAGER,
    "responsable": PersonRole.MANAGER,
    "champion": PersonRole.CHAMPION,
    "championne": PersonRole.CHAMPION,
    "ambassadeur": PersonRole.CHAMPION,
    "ambassadrice": PersonRole.CHAMPION,
    "committee": PersonRole.COMMITTEE,
    "comite": PersonRole.COMMITTEE,
    "comite de lancement": PersonRole.COMMITTEE,
    "launch committee": PersonRole.COMMITTEE,
}
LANGUAGE_VALUES: dict[str, Language] = {
    "fr": Language.FR,
    "fra": Language.FR,
    "francais": Language.FR,
    "french": Language.FR,
    "fr fr": Language.FR,
    "en": Language.EN,
    "eng": Language.EN,
    "anglais": Language.EN,
    "english": Language.EN,
    "en gb": Language.EN,
    "en us": Language.EN,
}
TRUE_VALUES = {"1", "yes", "y", "true", "oui", "o", "vrai", "x"}
FALSE_VALUES = {"", "0", "no", "n", "false", "non", "faux"}
_YES_OR_NO = TRUE_VALUES | FALSE_VALUES

# A deliberately simple shape check: one @, a dotted domain, no spaces. HR exports fail it on
# typos ("jean.dupont@acme", "jean dupont@acme.fr", "@acme.fr"), which is what we must catch;
# full RFC 5322 parsing per row would cost more than the whole import.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SEPARATORS = (";", ",", "\t", "|")


@lru_cache(maxsize=4096)
def value_key(text: str) -> str:
    """``header_key`` for cell values (roles, languages, yes/no): few distinct, so cached."""
    return header_key(text)


def header_key(text: str) -> str:
    """``"  Prénom "`` → ``"prenom"``; ``"E-mail du Manager"`` → ``"e mail du manager"``."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", strip_accents(text).lower()).split())


def _compact(key: str) -> str:
    # "E-mail du manager", "Email du manager" and "e mail du manager" must all match.
    return key.replace(" ", "")


_ALIAS_TO_FIELD = {
    _compact(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases
}


def normalise_email(text: str) -> str:
    return text.strip().lower()


def is_valid_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.match(address) is not None


@dataclass(frozen=True)
class RosterRow:
    """One valid roster line, typed. ``line`` is the file line where the record starts."""

    line: int
    email: str
    first_name: str
    last_name: str
    department: str
    site: str
    manager_email: str
    role: PersonRole
    language: Language
    volunteer: bool


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class RosterFile:
    """A roster file whose encoding, separator and columns have been recognised."""

    path: Path
    encoding: str
    delimiter: str
    columns: dict[str, int]
    ignored_columns: list[str] = field(default_factory=list)
    default_language: Language = Language.FR
    kind: str = "csv"  # "csv" or "xlsx"

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(start line, raw cells) for every non-empty record after the header."""
        if self.kind == "xlsx":
            for line, cells in workbook_rows(self.path):
                if line > 1 and any(cell.strip() for cell in cells):
                    yield line, cells
            return
        with self.path.open(encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            next(reader, None)
            previous_end = reader.line_num
            for cells in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                yield start, cells

    def cell(self, cells: list[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    def parse(self, line: int, cells: list[str]) -> RosterRow | list[RowProblem]:
        """The typed row, or the problems of this line (without cross-row checks)."""

        def cell(name: str) -> str:
            index = self.columns.get(name)
            if index is None or index >= len(cells):
                return ""
            return cells[index].strip()

        problems: list[RowProblem] = []
        raw_email = cell("email")
        email = normalise_email(raw_email)
        if not email:
            problems.append(RowProblem(line, "the e-mail is empty"))
        elif not is_valid_email(email):
            problems.append(RowProblem(line, f"invalid e-mail {raw_email!r}"))
        first_name, last_name = cell("first_name"), cell("last_name")
        if not first_name:
            problems.append(RowProblem(line, "the first name is empty"))
        if not last_name:
            problems.append(RowProblem(line, "the last name is empty"))
        raw_manager = cell("manager_email")
        manager_email = normalise_email(raw_manager)
        if manager_email and not is_valid_email(manager_email):
            problems.append(RowProblem(line, f"invalid manager e-mail {raw_manager!r}"))
        raw_role = cell("role")
        role = ROLE_VALUES.get(value_key(raw_role))
        if role is None:
            problems.append(
                RowProblem(
                    line,
                    f"unknown role {raw_role!r} "
                    "(expected employee, manager, champion or committee)",
                )
            )
        raw_language = cell("language")
        language = (
            LANGUAGE_VALUES.get(value_key(raw_language)) if raw_language else self.default_language
        )
        if language is None:
            problems.append(
                RowProblem(line, f"unknown language {raw_language!r} (expected fr or en)")
            )
        raw_volunteer = value_key(cell("volunteer"))
        if raw_volunteer not in _YES_OR_NO:
            problems.append(
                RowProblem(
                    line, f"unknown volunteer value {cell('volunteer')!r} (expected yes or no)"
                )
            )
        if problems or role is None or language is None:
            return problems
        return RosterRow(
            line=line,
            email=email,
            first_name=first_name[:120],
            last_name=last_name[:120],
            department=cell("department")[:120],
            site=cell("site")[:120],
            manager_email=manager_email,
            role=role,
            language=language,
            volunteer=raw_volunteer in TRUE_VALUES,
        )


XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"


def is_workbook(path: Path) -> bool:
    """An Excel workbook (a zip archive), whatever the name says; CSV otherwise."""
    with path.open("rb") as handle:
        return handle.read(4) == _ZIP_MAGIC


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # Excel keeps every date as a date and time
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def workbook_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for every row of the workbook's first sheet."""
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise ValidationFailed(
            f"{path.name}: not a readable Excel workbook ({error}); save it again as .xlsx "
            "or export it as CSV."
        ) from error
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (with or without a BOM) when the whole file decodes, else Windows-1252.

    Decoded incrementally in chunks: the check costs one read of the file, not its size in memory.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def detect_delimiter(header_line: str, sample: str) -> str:
    """The separator of the file: ``csv.Sniffer`` on a sample, checked against the header.

    French Excel writes ``;``, most tools ``,``. A header has no quoted separators, so the most
    frequent candidate in it decides when the sniffer is unsure or disagrees.
    """
    counts = {sep: header_line.count(sep) for sep in _SEPARATORS}
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_SEPARATORS)).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and counts.get(sniffed, 0) >= max(counts.values()):
        return sniffed
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def open_roster(path: Path, default_language: Language = Language.FR) -> RosterFile:
    """Recognise the file's encoding, separator and columns, or explain what is wrong with it."""
    if not path.is_file():
        raise ValidationFailed(f"{path}: no such file; give the path of the roster CSV export.")
    kind = "xlsx" if is_workbook(path) else "csv"
    if kind == "xlsx":
        encoding, delimiter = "xlsx", ""
        header = next((cells for _, cells in workbook_rows(path)), [])
        if not any(cell.strip() for cell in header):
            raise ValidationFailed(
                f"{path}: the first sheet's first row is empty; it must hold the column titles."
            )
    else:
        encoding = detect_encoding(path)
        with path.open(encoding=encoding, newline="") as handle:
            sample = handle.read(64 * 1024)
        if not sample.strip():
            raise ValidationFailed(
                f"{path}: the file is empty; export the roster again with a header."
            )
        header_line = sample.splitlines()[0]
        delimiter = detect_delimiter(header_line, sample)
        header = next(csv.reader([header_line], delimiter=delimiter))
    columns: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[str] = []
    for index, title in enumerate(header):
        name = _ALIAS_TO_FIELD.get(_compact(header_key(title)))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in columns:
            problems.append(
                f"line 1: columns {header[columns[name]]!r} and {title!r} both mean {name}; "
                "keep one"
            )
            continue
        columns[name] = index
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        problems.append(
            "line 1: missing column(s) "
            + ", ".join(missing)
            + f" (found: {', '.join(h.strip() for h in header)}); "
            "expected e.g. e-mail/courriel, prénom/first name, nom/last name"
        )
    if problems:
        raise ValidationFailed(f"{path}: the header cannot be read.", problems)
    return RosterFile(
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        columns=columns,
        ignored_columns=ignored,
        default_language=default_language,
        kind=kind,
    )
