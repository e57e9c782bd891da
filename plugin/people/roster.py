"""Reading a roster file as HR exports it: CSV (encoding, separator) or an Excel workbook
(.xlsx, its first sheet or the one named), headers, typed rows, problems.

One reader for every door: ``envol roster import/validate/diff`` and the console's upload all
call ``open_roster``. CSV encodings accepted: UTF-8 (with or without a BOM), UTF-16 with its BOM
(Excel's "Unicode text") and Windows-1252; anything else is refused with one sentence naming
them. A file whose headers are French gets its expected values in French ("oui ou non").

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from plugin.errors import ValidationFailed, localize
from plugin.i18n import Message, messages_of
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
# How the expected values are named in a problem, by the language of the file's headers.
ROLE_CHOICES = {
    "en": "employee, manager, champion or committee",
    "fr": "employé, manager (ou responsable), champion (ou ambassadeur) ou comité",
}
YES_NO_CHOICES = {"en": "yes or no", "fr": "oui ou non"}
TRUE_VALUES = {"1", "yes", "y", "true", "oui", "o", "vrai", "x"}
FALSE_VALUES = {"", "0", "no", "n", "false", "non", "faux"}
_YES_OR_NO = TRUE_VALUES | FALSE_VALUES

# A deliberately simple shape check: one @, a dotted domain, no spaces. HR exports fail it on
# typos ("jean.dupont@acme", "jean dupont@acme.fr", "@acme.fr"), which is what we must catch;
# full RFC 5322 parsing per row would cost more than the whole import.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SEPARATORS = (";", ",", "\t", "|")
# Problems are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))


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
# Titles only a French export uses (``role``, ``site``, ``manager``... are both languages).
_FRENCH_TITLES = {
    _compact(alias)
    for alias in (
        "courriel", "adresse email", "adresse e mail", "adresse mail", "adresse electronique",
        "email professionnel", "courriel professionnel", "prenom", "nom", "nom de famille",
        "departement", "direction", "equipe", "lieu", "etablissement", "bureau", "ville",
        "email du manager", "courriel du manager", "courriel manager", "responsable",
        "email responsable", "courriel responsable", "email du responsable",
        "courriel du responsable", "n 1", "email n 1", "courriel n 1", "role lancement",
        "langue", "volontaire", "pilote volontaire", "volontaire pilote",
    )
}  # fmt: skip
_ENGLISH_TITLES = {
    _compact(alias)
    for alias in (
        "email address", "e mail address", "work email", "first name", "firstname",
        "given name", "forename", "last name", "lastname", "surname", "family name",
        "department", "dept", "team", "location", "office", "city", "manager email",
        "manager e mail", "managers email", "manager s email", "email manager",
        "e mail manager", "launch role", "language", "volunteer", "volunteers",
        "early adopter",
    )
}  # fmt: skip


def headers_language(header: list[str], default: Language) -> str:
    """``"fr"`` when the column titles are French ("Prénom", "Courriel"), ``"en"`` when they are
    English, the default language when they say nothing either way."""
    keys = [_compact(header_key(title)) for title in header]
    french = sum(key in _FRENCH_TITLES for key in keys)
    english = sum(key in _ENGLISH_TITLES for key in keys)
    if french != english:
        return "fr" if french > english else "en"
    return "fr" if default is Language.FR else "en"


def normalise_email(text: str) -> str:
    return text.strip().lower()


def is_valid_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.match(address) is not None


RowValues = tuple[int, str, str, str, str, str, str, str, str, bool]
"""A valid line as plain values, in the staging table's column order: (line, email,
manager_email, first_name, last_name, department, site, role value, language value, volunteer).
"""
ROW_VALUE_NAMES = (
    "line", "email", "manager_email", "first_name", "last_name", "department", "site", "role",
    "language", "volunteer",
)  # fmt: skip
_UNSEEN = object()
_CACHED_VALUES = 4096  # distinct role/language/volunteer texts remembered per file


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

    def values(self) -> RowValues:
        return (
            self.line, self.email, self.manager_email, self.first_name, self.last_name,
            self.department, self.site, self.role.value, self.language.value, self.volunteer,
        )  # fmt: skip


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str | Message

    def localized(self, language: str) -> str:
        problem = localize(self.message, language)
        return said("row_problem", line=self.line, problem=problem).localized(language)

    def __str__(self) -> str:
        return self.localized("en")


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
    sheet: str | None = None  # the workbook's sheet (None: the first)
    titles: dict[str, str] = field(default_factory=dict)  # field → the column's own title
    terms: str = "en"  # the language of the headers: how expected values are named

    def _column(self, name: str) -> str:
        title = self.titles.get(name)
        return repr(title) if title else ""

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(start line, raw cells) for every non-empty record after the header."""
        if self.kind == "xlsx":
            for line, cells in workbook_rows(self.path, self.sheet):
                if line > 1 and "".join(cells).strip():
                    yield line, cells
            return
        with self.path.open(encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            next(reader, None)
            previous_end = reader.line_num
            for cells in reader:
                start, previous_end = previous_end + 1, reader.line_num
                # Blank cells only: joined, then stripped in one call (a generator per row cost
                # as much as reading the row).
                if not "".join(cells).strip():
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
            problems.append(RowProblem(line, said("email_empty")))
        elif not is_valid_email(email):
            problems.append(RowProblem(line, said("email_invalid", value=repr(raw_email))))
        first_name, last_name = cell("first_name"), cell("last_name")
        if not first_name:
            problems.append(RowProblem(line, said("first_name_empty")))
        if not last_name:
            problems.append(RowProblem(line, said("last_name_empty")))
        raw_manager = cell("manager_email")
        manager_email = normalise_email(raw_manager)
        if manager_email and not is_valid_email(manager_email):
            problems.append(
                RowProblem(line, said("manager_email_invalid", value=repr(raw_manager)))
            )
        raw_role = cell("role")
        role = ROLE_VALUES.get(value_key(raw_role))
        if role is None:
            problems.append(
                RowProblem(
                    line,
                    said(
                        "role_unknown",
                        value=repr(raw_role),
                        column=self._column("role"),
                        choices=ROLE_CHOICES[self.terms],
                    ),
                )
            )
        raw_language = cell("language")
        language = (
            LANGUAGE_VALUES.get(value_key(raw_language)) if raw_language else self.default_language
        )
        if language is None:
            problems.append(RowProblem(line, said("language_unknown", value=repr(raw_language))))
        raw_volunteer = value_key(cell("volunteer"))
        if raw_volunteer not in _YES_OR_NO:
            problems.append(
                RowProblem(
                    line,
                    said(
                        "volunteer_unknown",
                        value=repr(cell("volunteer")),
                        column=self._column("volunteer"),
                        choices=YES_NO_CHOICES[self.terms],
                    ),
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

    def value_reader(self) -> Callable[[int, list[str]], RowValues | None]:
        """A fast check of one line: its values when ``parse`` would accept it, else None (then
        ``parse`` says why, with the same messages as ever).

        Profiled on 20,000 rows, ``parse`` cost eight times the reading of the file: a closure
        and a dict look-up per cell, a frozen dataclass per row. This reads the nine cells with
        one ``itemgetter``, checks them with the same regex and tables, and remembers the few
        distinct role, language and volunteer texts of the file; it returns a plain tuple.
        """
        width = max(self.columns.values()) + 1
        # A column the file lacks reads the cell after the last one used, always padded empty.
        pad = [""] * (width + 1)
        pick = itemgetter(*(self.columns.get(name, width) for name in FIELDS))
        match = _EMAIL.match
        default_language = self.default_language
        roles: dict[str, str | None] = {}
        languages: dict[str, str | None] = {}
        volunteers: dict[str, bool | None] = {}
        good_managers: set[str] = set()

        def remember(known: dict[str, Any], raw: str, value: Any) -> Any:
            if len(known) < _CACHED_VALUES:
                known[raw] = value
            return value

        def role_of(raw: str) -> str | None:
            role = ROLE_VALUES.get(value_key(raw))
            return remember(roles, raw, role and role.value)

        def language_of(raw: str) -> str | None:
            language = LANGUAGE_VALUES.get(value_key(raw)) if raw.strip() else default_language
            return remember(languages, raw, language and language.value)

        def volunteer_of(raw: str) -> bool | None:
            key = value_key(raw.strip())
            return remember(volunteers, raw, key in TRUE_VALUES if key in _YES_OR_NO else None)

        def read(line: int, cells: list[str]) -> RowValues | None:
            row = cells[:width]
            row += pad[len(row) :]
            email, first, last, department, site, manager, role, language, volunteer = pick(row)
            email = email.strip().lower()
            if not email or len(email) > 254 or match(email) is None:
                return None
            first, last = first.strip(), last.strip()
            if not first or not last:
                return None
            manager = manager.strip().lower()
            if manager and manager not in good_managers:
                # A dozen people share a manager: their address is checked once.
                if len(manager) > 254 or match(manager) is None:
                    return None
                good_managers.add(manager)
            role_value = roles.get(role, _UNSEEN)
            if role_value is _UNSEEN:
                role_value = role_of(role)
            language_value = languages.get(language, _UNSEEN)
            if language_value is _UNSEEN:
                language_value = language_of(language)
            volunteered = volunteers.get(volunteer, _UNSEEN)
            if volunteered is _UNSEEN:
                volunteered = volunteer_of(volunteer)
            if role_value is None or language_value is None or volunteered is None:
                return None
            return (
                line, email, manager, first[:120], last[:120], department.strip()[:120],
                site.strip()[:120], role_value, language_value, volunteered,
            )  # type: ignore[return-value]  # fmt: skip

        return read


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


def workbook_rows(path: Path, sheet_name: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for every row of the named sheet, or of the first one."""
    # Imported here: openpyxl costs a third of a second to import, and most rosters are CSV.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise ValidationFailed(
            said("workbook_unreadable", name=path.name, error=str(error))
        ) from error
    try:
        if sheet_name is None:
            sheet = workbook.worksheets[0]
        elif sheet_name in workbook.sheetnames:
            sheet = workbook[sheet_name]
        else:
            names = ", ".join(repr(name) for name in workbook.sheetnames)
            raise ValidationFailed(
                said("no_sheet", name=path.name, sheet=repr(sheet_name), names=names)
            )
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decodes(path: Path, encoding: str) -> UnicodeDecodeError | None:
    """Decoded incrementally in chunks: one read of the file, not its size in memory."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return error
    return None


def detect_encoding(path: Path) -> str:
    """The file's encoding: its BOM's (UTF-8, UTF-16, UTF-32), else ``utf-8-sig`` when the whole
    file decodes as UTF-8, else Windows-1252 when it decodes as such.

    Anything else (a UTF-16 file without its BOM, a spreadsheet saved in another format, bytes
    Windows-1252 leaves undefined) raises ``ValidationFailed`` naming the encodings accepted.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            failure = _decodes(path, encoding)
            if failure is None:
                return encoding
            break
    else:
        failure = None
        if b"\x00" not in _first_bytes(path):  # NUL: UTF-16 without its BOM, or not text
            failure = _decodes(path, "utf-8")
            if failure is None:
                return "utf-8-sig"
            failure = _decodes(path, "cp1252")
            if failure is None:
                return "cp1252"
    byte = f"{failure.object[failure.start]:#04x}" if failure is not None else ""
    raise ValidationFailed(said("encoding_unreadable", name=path.name, byte=byte))


def _first_bytes(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(64 * 1024)


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


def open_roster(
    path: Path, default_language: Language = Language.FR, *, sheet: str | None = None
) -> RosterFile:
    """Recognise the file's encoding, separator and columns, or explain what is wrong with it.

    ``sheet`` names the workbook's sheet to read (the first one when None); a CSV has none.
    """
    if not path.is_file():
        raise ValidationFailed(said("no_file", path=str(path)))
    kind = "xlsx" if is_workbook(path) else "csv"
    if kind == "csv" and sheet is not None:
        raise ValidationFailed(said("csv_has_no_sheets", name=path.name))
    if kind == "xlsx":
        encoding, delimiter = "xlsx", ""
        header = next((cells for _, cells in workbook_rows(path, sheet)), [])
        if not any(cell.strip() for cell in header):
            raise ValidationFailed(
                said("first_row_empty", path=str(path), sheet=repr(sheet) if sheet else "")
            )
    else:
        encoding = detect_encoding(path)
        with path.open(encoding=encoding, newline="") as handle:
            sample = handle.read(64 * 1024)
        if not sample.strip():
            raise ValidationFailed(said("file_empty", path=str(path)))
        header_line = sample.splitlines()[0]
        delimiter = detect_delimiter(header_line, sample)
        header = next(csv.reader([header_line], delimiter=delimiter))
    columns: dict[str, int] = {}
    titles: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[Message] = []
    for index, title in enumerate(header):
        name = _ALIAS_TO_FIELD.get(_compact(header_key(title)))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in columns:
            problems.append(
                said(
                    "columns_same_meaning",
                    first=repr(header[columns[name]]),
                    second=repr(title),
                    field=name,
                )
            )
            continue
        columns[name] = index
        titles[name] = title.strip()
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        problems.append(
            said(
                "columns_missing",
                missing=", ".join(missing),
                found=", ".join(h.strip() for h in header),
            )
        )
    if problems:
        raise ValidationFailed(said("header_unreadable", path=str(path)), problems)
    return RosterFile(
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        columns=columns,
        ignored_columns=ignored,
        default_language=default_language,
        kind=kind,
        sheet=sheet,
        titles=titles,
        terms=headers_language(header, default_language),
    )


def manager_cycles(manager_of: dict[str, str]) -> list[list[str]]:
    """Every loop in "is managed by" (A → B → A, or longer), each as its e-mails in order.

    One walk per person, each person visited once: linear in the size of the roster. A person
    who is their own manager is left to the line check that reports it.

    Only managers can be in a loop, so a walk from someone who manages no one starts at their
    manager, and only managers are remembered as visited (a set of every person was a fifth
    of the validation's memory). The walks and their order are those from every person.
    """
    managers = set(manager_of.values())
    done: set[str] = set()
    cycles: list[list[str]] = []
    for start in manager_of:
        walk: list[str] = []
        position: dict[str, int] = {}
        person: str | None = start if start in managers else manager_of[start]
        while person is not None and person not in done and person not in position:
            position[person] = len(walk)
            walk.append(person)
            person = manager_of.get(person)
        if person is not None and person in position:
            cycle = walk[position[person] :]
            if len(cycle) > 1:
                cycles.append(cycle)
        done.update(walk)
    return cycles


def report_manager_cycles(
    manager_of: dict[str, str], line_of: dict[str, int], problems: list[RowProblem]
) -> set[int]:
    """A problem on every line of every loop of managers, naming the loop's lines; returns them."""
    lines: set[int] = set()
    for cycle in manager_cycles(manager_of):
        cycle_lines = [line_of[email] for email in cycle]
        chain = list(zip(cycle_lines, cycle, strict=True))
        for line in cycle_lines:
            problems.append(
                RowProblem(line, said("manager_loop", chain=chain, first=cycle_lines[0]))
            )
        lines.update(cycle_lines)
    return lines
