"""Reading the school's pupil export (CSV), previewing it, and writing it to the register.

The file is read the same way twice: for the preview, and again at confirmation, from the copy
kept in `PupilImport`, so what is written is exactly what the office saw. Nothing is written
while any row has an error: the office fixes the file and uploads it again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlmodel import Session

from portal.clock import school_today
from portal.consent.models import (
    ColumnMapping,
    Contact,
    ImportStatus,
    Pupil,
    PupilContact,
    PupilImport,
)
from portal.db import now_of
from portal.domains import pupil_consent_changed
from portal.history import Actor, record_event
from portal.text import clean_text

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000
MAX_CONTACTS = 3
MAX_CELL = 200
IMPORTED_TAG = "pupils:imported"

PUPIL_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("pupil_id", "Pupil id", True),
    ("legal_first_name", "Legal first name", True),
    ("legal_last_name", "Legal last name", True),
    ("preferred_name", "Preferred name", False),
    ("year_group", "Year group", True),
    ("class_name", "Class or registration group", True),
    ("date_of_birth", "Date of birth", True),
)
CONTACT_PARTS: tuple[tuple[str, str], ...] = (
    ("name", "name"),
    ("email", "email"),
    ("relationship", "relationship"),
    ("responsibility", "parental responsibility"),
)


def all_fields() -> list[tuple[str, str, bool]]:
    """Every field a column can hold: (key, label, required)."""
    fields = list(PUPIL_FIELDS)
    for number in range(1, MAX_CONTACTS + 1):
        for part, words in CONTACT_PARTS:
            fields.append((f"contact{number}_{part}", f"Contact {number} {words}", False))
    return fields


# The usual header names in school information systems' exports, for a first guess.
_GUESSES: dict[str, tuple[str, ...]] = {
    "pupil_id": ("pupil id", "upn", "admission number", "adno", "mis id", "id"),
    "legal_first_name": ("legal forename", "legal first name", "forename", "first name"),
    "legal_last_name": ("legal surname", "legal last name", "surname", "last name"),
    "preferred_name": ("preferred forename", "preferred name", "known as"),
    "year_group": ("year", "year group", "ncyear", "nc year"),
    "class_name": ("reg group", "registration group", "class", "form", "reg"),
    "date_of_birth": ("date of birth", "dob", "birth date"),
}


class ImportRefused(Exception):
    """The file cannot be read at all: one message for the whole file."""


@dataclass(frozen=True)
class ContactRow:
    name: str
    email: str | None
    relationship: str
    responsibility: bool
    priority: int


@dataclass(frozen=True)
class PupilRow:
    line: int
    mis_id: str
    legal_first_name: str
    legal_last_name: str
    preferred_name: str
    year_group: str
    class_name: str
    date_of_birth: date
    contacts: tuple[ContactRow, ...]


@dataclass(frozen=True)
class RowError:
    line: int
    mis_id: str
    problems: tuple[str, ...]


@dataclass
class Preview:
    rows: list[PupilRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    leaving: list[Pupil] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (with or without the byte order mark Excel adds), else Windows-1252
    (what Excel on Windows saves as "CSV"). Anything else is refused with what to do."""
    if len(content) > MAX_BYTES:
        raise ImportRefused(
            "The file is bigger than 10 MB. Export only the pupils on roll, or split the file"
        )
    if not content.strip():
        raise ImportRefused("The file is empty. Choose the pupil export from your school system")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused("Save the file as CSV UTF-8, then choose it again")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportRefused(
                "We could not read the letters in this file. Save it as CSV UTF-8 and try again"
            ) from None
    if "\x00" in text:
        raise ImportRefused("This is not a CSV file. Export the pupils as CSV and try again")
    return text


def _cell(value: str | None) -> str:
    return " ".join(clean_text(value or "").split())


def read_table(content: bytes) -> tuple[list[str], list[list[str]]]:
    """The header row and the data rows, cleaned, or ImportRefused."""
    text = decode(content)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [_cell(cell) for cell in next(reader, [])]
        rows: list[list[str]] = []
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportRefused(
                    f"The file has more than {MAX_ROWS:,} pupils. We can import up to "
                    f"{MAX_ROWS:,} at a time: export only the pupils on roll"
                )
            rows.append([_cell(cell) for cell in raw])
    except csv.Error:
        raise ImportRefused(
            "This file is not laid out as a CSV file. Export the pupils as CSV and try again"
        ) from None
    if not any(header):
        raise ImportRefused("The first row must hold the column names")
    if not rows:
        raise ImportRefused("The file has column names but no pupils")
    return header, rows


def saved_mapping(session: Session) -> dict[str, str]:
    return {row.field_key: row.header for row in session.scalars(select(ColumnMapping))}


def guess_mapping(session: Session, header: Iterable[str]) -> dict[str, str]:
    """The mapping to offer: the remembered one where its column is in the file, else a guess."""
    present = {name.casefold(): name for name in header if name}
    mapping: dict[str, str] = {}
    for key, column in saved_mapping(session).items():
        if column.casefold() in present:
            mapping[key] = present[column.casefold()]
    for key, names in _GUESSES.items():
        if key not in mapping:
            mapping[key] = next((present[n] for n in names if n in present), "")
    for number in range(1, MAX_CONTACTS + 1):
        for part, words in CONTACT_PARTS:
            key = f"contact{number}_{part}"
            if key in mapping:
                continue
            candidates = (
                f"contact {number} {words}",
                f"contact{number} {words}",
                f"contact {number} {part}",
                f"contact{number}_{part}",
            )
            mapping[key] = next((present[n] for n in candidates if n in present), "")
    return mapping


def mapping_problems(mapping: Mapping[str, str], header: Iterable[str]) -> dict[str, str]:
    """Field key -> what to do, for a mapping that misses a required field or names a column
    the file does not have, or uses one column twice."""
    present = set(header)
    problems: dict[str, str] = {}
    used: dict[str, str] = {}
    for key, label, required in all_fields():
        column = mapping.get(key, "")
        if not column:
            if required:
                problems[key] = f"Choose the column that holds the {label.lower()}"
            continue
        if column not in present:
            problems[key] = f"Choose a column from the file for the {label.lower()}"
        elif column in used:
            problems[key] = f"The column {column} is already used for another field"
        used[column] = key
    return problems


def is_complete(mapping: Mapping[str, str], header: Iterable[str]) -> bool:
    return not mapping_problems(mapping, header)


def remember_mapping(session: Session, mapping: Mapping[str, str]) -> None:
    """Keep the mapping for next time (fields not in the file are forgotten)."""
    for key, _label, _required in all_fields():
        row = session.get(ColumnMapping, key)
        column = mapping.get(key, "")
        if column and row is None:
            session.add(ColumnMapping(field_key=key, header=column))
        elif column and row is not None:
            row.header = column
            session.add(row)
        elif row is not None:
            session.delete(row)


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def read_date(value: str) -> date | None:
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    return None


def normalise_email(value: str) -> str | None:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


_ID = re.compile(r"^[A-Za-z0-9._/-]{1,40}$")


def check_rows(
    header: list[str], rows: list[list[str]], mapping: Mapping[str, str], today: date
) -> tuple[list[PupilRow], list[RowError]]:
    """Each data row as a pupil, or its problems in plain words (line numbers as a spreadsheet
    shows them: the header is line 1)."""
    index = {name: number for number, name in enumerate(header)}
    good: list[PupilRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}

    def get(raw: list[str], key: str) -> str:
        column = mapping.get(key, "")
        where = index.get(column) if column else None
        return raw[where] if where is not None and where < len(raw) else ""

    for offset, raw in enumerate(rows):
        line = offset + 2
        problems: list[str] = []
        mis_id = get(raw, "pupil_id")
        if not mis_id:
            problems.append("The pupil id is missing")
        elif not _ID.match(mis_id):
            problems.append("The pupil id must be up to 40 letters and numbers")
        elif mis_id in seen:
            problems.append(f"The pupil id {mis_id} is also on line {seen[mis_id]}")
        else:
            seen[mis_id] = line
        names = {key: get(raw, key) for key in ("legal_first_name", "legal_last_name")}
        if not names["legal_first_name"]:
            problems.append("The legal first name is missing")
        if not names["legal_last_name"]:
            problems.append("The legal last name is missing")
        preferred = get(raw, "preferred_name")
        year_group = get(raw, "year_group")
        class_name = get(raw, "class_name")
        if not year_group:
            problems.append("The year group is missing")
        if not class_name:
            problems.append("The class is missing")
        for key, words, limit in (
            ("legal_first_name", "legal first name", 100),
            ("legal_last_name", "legal last name", 100),
            ("preferred_name", "preferred name", 100),
            ("year_group", "year group", 20),
            ("class_name", "class", 40),
        ):
            if len(get(raw, key)) > limit:
                problems.append(f"The {words} is longer than {limit} characters")
        born_text = get(raw, "date_of_birth")
        born = read_date(born_text)
        if not born_text:
            problems.append("The date of birth is missing")
        elif born is None:
            problems.append(f"The date of birth {born_text[:20]} is not a date like 21/03/2017")
        elif not (date(today.year - 25, 1, 1) <= born <= today):
            problems.append(f"The date of birth {born_text} is not a real pupil's birthday")
        contacts: list[ContactRow] = []
        for number in range(1, MAX_CONTACTS + 1):
            parts = {part: get(raw, f"contact{number}_{part}") for part, _w in CONTACT_PARTS}
            if not any(parts.values()):
                continue
            if not parts["name"]:
                problems.append(f"Contact {number} has no name")
                continue
            email: str | None = None
            if parts["email"]:
                email = normalise_email(parts["email"]) if len(parts["email"]) <= 254 else None
                if email is None:
                    problems.append(
                        f"Contact {number}'s email {parts['email'][:60]} is not an email address"
                    )
            answer = parts["responsibility"].casefold()
            if answer not in _YES | _NO:
                problems.append(f"Contact {number}'s parental responsibility must be yes or no")
            if len(parts["name"]) > MAX_CELL or len(parts["relationship"]) > 60:
                problems.append(f"Contact {number}'s name or relationship is too long")
            contacts.append(
                ContactRow(
                    name=parts["name"][:MAX_CELL],
                    email=email,
                    relationship=parts["relationship"][:60],
                    responsibility=answer in _YES,
                    priority=number,
                )
            )
        if problems:
            errors.append(RowError(line, mis_id[:40], tuple(problems)))
            continue
        assert born is not None
        good.append(
            PupilRow(
                line=line,
                mis_id=mis_id,
                legal_first_name=names["legal_first_name"],
                legal_last_name=names["legal_last_name"],
                preferred_name=preferred,
                year_group=year_group,
                class_name=class_name,
                date_of_birth=born,
                contacts=tuple(contacts),
            )
        )
    return good, errors


def _same(pupil: Pupil, row: PupilRow) -> bool:
    return (
        pupil.legal_first_name == row.legal_first_name
        and pupil.legal_last_name == row.legal_last_name
        and pupil.preferred_name == row.preferred_name
        and pupil.year_group == row.year_group
        and pupil.class_name == row.class_name
        and pupil.date_of_birth == row.date_of_birth
        and pupil.on_roll
    )


def preview(session: Session, pupil_import: PupilImport, mapping: Mapping[str, str]) -> Preview:
    """What confirming this import would do, without writing anything."""
    header, rows = read_table(pupil_import.content or b"")
    good, errors = check_rows(header, rows, mapping, school_today(now_of(session)))
    result = Preview(rows=good, errors=errors)
    existing = {pupil.mis_id: pupil for pupil in session.scalars(select(Pupil))}
    for row in good:
        pupil = existing.get(row.mis_id)
        if pupil is None:
            result.new += 1
        elif _same(pupil, row):
            result.unchanged += 1
        else:
            result.updated += 1
    if pupil_import.full:
        in_file = {row.mis_id for row in good} | {error.mis_id for error in errors}
        result.leaving = sorted(
            (p for p in existing.values() if p.on_roll and p.mis_id not in in_file),
            key=lambda p: (p.class_name, p.legal_last_name, p.legal_first_name),
        )
    return result


def start_import(
    session: Session, user: object, filename: str, content: bytes, *, full: bool
) -> tuple[PupilImport, list[str]]:
    """Keep the upload for its preview; returns it and the file's column names (or raises
    ImportRefused with what to do)."""
    header, _rows = read_table(content)
    pupil_import = PupilImport(
        uploaded_by_user_id=user.id,  # type: ignore[attr-defined]
        uploaded_at=now_of(session),
        filename=(filename or "pupils.csv")[:200],
        content=content,
        full=full,
        status=ImportStatus.checked,
    )
    session.add(pupil_import)
    session.flush()
    return pupil_import, header


class ImportGone(Exception):
    """The import was confirmed already (by this person in another tab, or someone else)."""


@dataclass(frozen=True)
class ImportResult:
    new: int
    updated: int
    unchanged: int
    left: int


def confirm_import(
    session: Session, user: object, pupil_import: PupilImport, mapping: Mapping[str, str]
) -> ImportResult:
    """Write the previewed file to the register: update by pupil id, add the new, and for a
    full import mark those missing as left. Raises ImportRefused when the file has errors and
    ImportGone when the import was confirmed already; the caller commits."""
    checked = preview(session, pupil_import, mapping)
    if checked.errors:
        raise ImportRefused("Fix the rows with problems in the file, then upload it again")
    if not checked.rows:
        raise ImportRefused("The file has no pupils")
    now = now_of(session)
    claimed = session.execute(
        update(PupilImport)
        .where(PupilImport.id == pupil_import.id, PupilImport.status == ImportStatus.checked)
        .values(status=ImportStatus.applied, applied_at=now, content=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ImportGone()
    today = school_today(now)
    existing = {pupil.mis_id: pupil for pupil in session.scalars(select(Pupil))}
    # Pupils whose photo check may now say something else: those who left, came back, whose
    # date of birth changed (key stage, age 12) or whose parents with parental responsibility
    # changed. A new class or name changes no answer.
    changed: set[int] = set()
    for row in checked.rows:
        pupil = existing.get(row.mis_id)
        if pupil is not None and (not pupil.on_roll or pupil.date_of_birth != row.date_of_birth):
            changed.add(pupil.id)  # type: ignore[arg-type]
        if pupil is None:
            pupil = Pupil(mis_id=row.mis_id, date_of_birth=row.date_of_birth)
        pupil.legal_first_name = row.legal_first_name
        pupil.legal_last_name = row.legal_last_name
        pupil.preferred_name = row.preferred_name
        pupil.year_group = row.year_group
        pupil.class_name = row.class_name
        pupil.date_of_birth = row.date_of_birth
        pupil.on_roll = True
        pupil.left_on = None
        session.add(pupil)
        session.flush()
        if _link_contacts(session, pupil, row.contacts) and row.mis_id in existing:
            changed.add(pupil.id)  # type: ignore[arg-type]
    for pupil in checked.leaving:
        pupil.on_roll = False
        pupil.left_on = today
        session.add(pupil)
        changed.add(pupil.id)  # type: ignore[arg-type]
    session.flush()
    # Tell the other domains (a news post showing a pupil who left is flagged), in this
    # transaction. A pupil new to the register is in no post yet.
    pupil_consent_changed(session, changed, now)
    result = ImportResult(
        new=checked.new,
        updated=checked.updated,
        unchanged=checked.unchanged,
        left=len(checked.leaving),
    )
    session.execute(
        update(PupilImport)
        .where(PupilImport.id == pupil_import.id)
        .values(summary=_summary(result, pupil_import.full))
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        subject_type="pupil_import",
        subject_id=pupil_import.id,
        tag=IMPORTED_TAG,
        actor=Actor.staff(user),
        to_value="full" if pupil_import.full else "partial",
        detail={
            "filename": pupil_import.filename,
            "new": result.new,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "left": result.left,
        },
    )
    return result


def _summary(result: ImportResult, full: bool) -> str:
    text = f"{result.new} new, {result.updated} changed, {result.unchanged} unchanged"
    return text + (f", {result.left} marked as left" if full else "")


def _link_contacts(session: Session, pupil: Pupil, rows: tuple[ContactRow, ...]) -> bool:
    """Make the pupil's contacts those of the file; True when who has parental responsibility
    for the pupil changed (whose answers count)."""
    links = {
        link.contact_id: link
        for link in session.scalars(select(PupilContact).where(PupilContact.pupil_id == pupil.id))
    }
    contacts = (
        {
            c.id: c
            for c in session.scalars(
                select(Contact).where(Contact.id.in_(list(links)))  # type: ignore[union-attr]
            )
        }
        if links
        else {}
    )
    responsible_before = {
        contact_id
        for contact_id, link in links.items()
        if link.current and link.parental_responsibility
    }
    responsibility_changed = False
    kept: set[int] = set()
    for row in rows:
        contact = None
        if row.email:
            contact = session.scalar(select(Contact).where(Contact.email == row.email))
        else:
            contact = next(
                (
                    c
                    for c in contacts.values()
                    if c.email is None and c.name.casefold() == row.name.casefold()
                ),
                None,
            )
        if contact is None:
            contact = Contact(name=row.name, email=row.email)
        contact.name = row.name
        session.add(contact)
        session.flush()
        assert contact.id is not None
        link = links.get(contact.id) or PupilContact(pupil_id=pupil.id, contact_id=contact.id)
        if contact.id not in responsible_before and row.responsibility:
            responsibility_changed = True
        if contact.id in responsible_before and not row.responsibility:
            responsibility_changed = True
        link.relationship = row.relationship
        link.parental_responsibility = row.responsibility
        link.priority = row.priority
        link.current = True
        session.add(link)
        kept.add(contact.id)
    for contact_id, link in links.items():
        if contact_id not in kept and link.current:
            link.current = False
            session.add(link)
            if contact_id in responsible_before:
                responsibility_changed = True
    return responsibility_changed


def imports_of(session: Session, status: ImportStatus, limit: int = 10) -> list[PupilImport]:
    """The latest imports confirmed, or uploaded and not confirmed yet, newest first."""
    statement = (
        select(PupilImport)
        .where(PupilImport.status == status)
        .order_by(PupilImport.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(session.scalars(statement))
