"""Photo consent at the size of a big primary school: the photo check for a class of 30 against
a register of 2,000 pupils with five years of answers, and a 2,000-pupil import.

Run by `python -m tests.bench` (rows whose names start "photo check", "consent report" and
"pupil import"); `--cases 0 --no-load --only "photo check" --only "pupil import"` times only
these. The register: 2,000 pupils in 70 classes of about 30 (Reception to Year 6), two contacts
each (one in ten without parental responsibility), six purposes, an answer from each contact for
each purpose in each of the last five school years (one in five a no, one yes in twenty withdrawn
later that year, one contact in seven not answering this year), 1 in 100 pupils restricted, 1 in
20 left.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select
from sqlalchemy import text as sql_text
from sqlmodel import Session

from portal.accounts.models import StaffUser
from portal.clock import SystemClock, school_today
from portal.config import Settings
from portal.consent.models import (
    ConsentRecord,
    Contact,
    Pupil,
    PupilContact,
    SafeguardingFlag,
)
from portal.consent.services.photo_check import photo_check
from portal.consent.services.purposes import purposes
from portal.consent.services.register import remember_mapping
from portal.demo import load_demo
from tests.bench import journey
from tests.bench.report import Timing

PUPILS = 2_000
YEARS = 5
CLASS_SIZE = 30
YEAR_GROUPS = ("Reception", *(f"Year {n}" for n in range(1, 7)))
CLASS_LETTERS = "NPQRSTUVWX"
SERVICE = "photo check service, 30 pupils of 2,000 (services.photo_check)"
POST = "photo check POST /staff/photo-check, a class of 30 (kept + commit)"
RESULT = "photo check result /staff/photo-check/<id>, 30 pupils"
REPORT = "consent report /staff/consent-reports, a class of 30"
IMPORT = "pupil import of 2,000 new pupils: upload + preview"
CONFIRM = "pupil import of 2,000 new pupils: confirm"
REIMPORT = "pupil import again, the same file: upload + preview"
RECONFIRM = "pupil import again, the same file: confirm"
NAMES = (SERVICE, POST, RESULT, REPORT, IMPORT, CONFIRM, REIMPORT, RECONFIRM)
HEADER = (
    "UPN,Legal Forename,Legal Surname,Preferred Forename,Year,Reg Group,DOB,"
    "Contact 1 Name,Contact 1 Email,Contact 1 Relationship,Contact 1 Parental Responsibility,"
    "Contact 2 Name,Contact 2 Email,Contact 2 Relationship,Contact 2 Parental Responsibility"
)
MAPPING = {
    "pupil_id": "UPN",
    "legal_first_name": "Legal Forename",
    "legal_last_name": "Legal Surname",
    "preferred_name": "Preferred Forename",
    "year_group": "Year",
    "class_name": "Reg Group",
    "date_of_birth": "DOB",
    "contact1_name": "Contact 1 Name",
    "contact1_email": "Contact 1 Email",
    "contact1_relationship": "Contact 1 Relationship",
    "contact1_responsibility": "Contact 1 Parental Responsibility",
    "contact2_name": "Contact 2 Name",
    "contact2_email": "Contact 2 Email",
    "contact2_relationship": "Contact 2 Relationship",
    "contact2_responsibility": "Contact 2 Parental Responsibility",
}
FIRST = ("Amelia", "Zoë", "Kwame", "Olivia", "Noah", "Aisha", "Łucja", "Oliver", "Maya", "Ibrahim")
LAST = ("Jones", "O'Neill", "Mensah", "Patel", "Nowak", "Hassan", "Brown", "Evans", "Singh", "Khan")


def wanted(only: Iterable[str]) -> list[str]:
    texts = [text.lower() for text in only]
    return [name for name in NAMES if not texts or any(text in name.lower() for text in texts)]


def _class_of(index: int) -> tuple[str, str]:
    """Pupil `index`'s year group and class: 70 classes of about 30, ten per year group."""
    class_index = index // CLASS_SIZE
    year = class_index % len(YEAR_GROUPS)
    letter = CLASS_LETTERS[(class_index // len(YEAR_GROUPS)) % len(CLASS_LETTERS)]
    return YEAR_GROUPS[year], f"{'R' if year == 0 else year}{letter}"


def _born(year_group: str, today: date, rng: random.Random) -> date:
    start = today.year if today.month >= 9 else today.year - 1
    age_year = YEAR_GROUPS.index(year_group)
    return date(start - 5 - age_year, 9, 1) + timedelta(days=rng.randrange(365))


def seed_register(session: Session, rng: random.Random, now: datetime) -> dict[str, int]:
    """The 2,000-pupil register with five years of answers, written in bulk."""
    today = school_today(now)
    office = session.scalar(select(StaffUser.id).order_by(StaffUser.id))
    shown = purposes(session)
    pupil_rows, contact_rows = [], []
    for i in range(PUPILS):
        year_group, class_name = _class_of(i)
        left = rng.random() < 0.05
        pupil_rows.append(
            {
                "mis_id": f"P{i:05d}",
                "legal_first_name": rng.choice(FIRST),
                "legal_last_name": rng.choice(LAST),
                "preferred_name": "",
                "year_group": year_group,
                "class_name": class_name,
                "date_of_birth": _born(year_group, today, rng),
                "on_roll": not left,
                "left_on": today - timedelta(days=rng.randrange(30, 300)) if left else None,
            }
        )
        for n in (1, 2):
            contact_rows.append(
                {"name": f"Parent {n} of P{i:05d}", "email": f"p{i:05d}.{n}@e.example"}
            )
    session.execute(insert(Pupil), pupil_rows)
    session.execute(insert(Contact), contact_rows)
    pupils = dict(session.execute(select(Pupil.mis_id, Pupil.id)).all())
    contacts = dict(session.execute(select(Contact.email, Contact.id)).all())
    links, records, flags = [], [], []
    start_year = today.year if today.month >= 9 else today.year - 1
    for i in range(PUPILS):
        pupil_id = pupils[f"P{i:05d}"]
        for n in (1, 2):
            contact_id = contacts[f"p{i:05d}.{n}@e.example"]
            responsible = n == 1 or rng.random() > 0.1
            links.append(
                {
                    "pupil_id": pupil_id,
                    "contact_id": contact_id,
                    "relationship": "Mother" if n == 1 else "Father",
                    "parental_responsibility": responsible,
                    "priority": n,
                    "current": True,
                }
            )
            for back in range(YEARS):
                if back == 0 and rng.random() < 1 / 7:
                    continue  # not answered this year yet
                year_start = datetime(start_year - back, 9, 3, 9, 0)
                for purpose in shown:
                    given = year_start + timedelta(days=rng.randrange(0, 200), minutes=i % 600)
                    if given > now:
                        given = now - timedelta(hours=1 + rng.randrange(100))
                    yes = rng.random() > 0.2
                    records.append(_record(pupil_id, purpose, contact_id, yes, given, office, rng))
                    if yes and rng.random() < 0.05:
                        later = min(given + timedelta(days=rng.randrange(1, 60)), now)
                        records.append(
                            _record(pupil_id, purpose, contact_id, False, later, office, rng)
                        )
        if rng.random() < 0.01:
            flags.append(
                {
                    "pupil_id": pupil_id,
                    "kind": "looked_after",
                    "reason": "Bench",
                    "set_by_user_id": office,
                    "set_at": now - timedelta(days=rng.randrange(1, 900)),
                    "active": True,
                }
            )
    session.execute(insert(PupilContact), links)
    for chunk in range(0, len(records), 20_000):
        session.execute(insert(ConsentRecord), records[chunk : chunk + 20_000])
    if flags:
        session.execute(insert(SafeguardingFlag), flags)
    remember_mapping(session, MAPPING)
    session.commit()
    # As `portal seed` does after its cases: the planners see the tables' real sizes.
    session.execute(sql_text("ANALYZE"))
    session.commit()
    return {
        "pupils": PUPILS,
        "contacts": len(contact_rows),
        "records": len(records),
        "flags": len(flags),
    }


def _record(pupil_id, purpose, contact_id, yes, given, office, rng) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "pupil_id": pupil_id,
        "purpose_id": purpose.id,
        "contact_id": contact_id,
        "answer": yes,
        "naming": (rng.random() > 0.3) if yes and purpose.asks_naming else None,
        "given_at": given,
        "how": "paper",
        "entered_by_user_id": office,
        "wording_version": purpose.version,
    }


def import_file(prefix: str, count: int, today: date) -> bytes:
    rng = random.Random(prefix)
    lines = [HEADER]
    for i in range(count):
        year_group, class_name = _class_of(i)
        born = _born(year_group, today, rng)
        lines.append(
            f"{prefix}{i:05d},{rng.choice(FIRST)},{rng.choice(LAST)},,{year_group},{class_name},"
            f"{born:%d/%m/%Y},Parent One,{prefix.lower()}{i:05d}.1@e.example,Mother,Yes,"
            f"Parent Two,{prefix.lower()}{i:05d}.2@e.example,Father,No"
        )
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _forget_import(engine, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """Take the imported pupils out again (untimed), so each import adds 2,000 new ones."""
    with Session(engine) as session:
        ids = list(session.scalars(select(Pupil.id).where(Pupil.mis_id.like(prefix + "%"))))  # type: ignore[attr-defined]
        contact_ids = list(
            session.scalars(select(Contact.id).where(Contact.email.like(prefix.lower() + "%")))  # type: ignore[union-attr]
        )
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            session.execute(delete(PupilContact).where(PupilContact.pupil_id.in_(part)))  # type: ignore[attr-defined]
            session.execute(delete(Pupil).where(Pupil.id.in_(part)))  # type: ignore[union-attr]
        for chunk in range(0, len(contact_ids), 500):
            part = contact_ids[chunk : chunk + 500]
            session.execute(delete(Contact).where(Contact.id.in_(part)))  # type: ignore[union-attr]
        session.commit()


def measure_consent(
    settings: Settings,
    app,  # type: ignore[no-untyped-def]
    staff: TestClient,
    measure,  # type: ignore[no-untyped-def]
    rng: random.Random,
    imports: int,
) -> list[Timing]:
    """Seed the register (once), then time each wanted row; `staff` is signed in as office."""
    names = [name for name in NAMES if measure.wanted(name)]
    if not names:
        return []
    engine = app.state.engine
    now = SystemClock().now()
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, settings, only_if_empty=True)
        session.commit()
        started = time.perf_counter()
        counts = seed_register(session, rng, now)
        print(
            f"consent register seeded in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
            flush=True,
        )
        by_class: dict[str, list[int]] = {}
        for pupil_id, class_name in session.execute(
            select(Pupil.id, Pupil.class_name).where(Pupil.mis_id.like("P%"))  # type: ignore[attr-defined]
        ):
            by_class.setdefault(class_name, []).append(pupil_id)
        classes = [ids for ids in by_class.values() if len(ids) >= CLASS_SIZE]
        shown = purposes(session)
    timings: list[Timing] = []
    total = measure.warmup + measure.requests
    picks = [(rng.choice(classes)[:CLASS_SIZE], rng.choice(shown)) for _ in range(total)]
    if measure.wanted(SERVICE):
        timing = Timing(SERVICE)
        with Session(engine, expire_on_commit=False) as session:
            for i, (ids, purpose) in enumerate(picks):
                began = time.perf_counter()
                lines = photo_check(session, ids, purpose, now)
                elapsed = time.perf_counter() - began
                session.rollback()
                assert len(lines) == CLASS_SIZE
                if i >= measure.warmup:
                    timing.samples.append(elapsed)
        timings.append(timing)
    token = journey.csrf_from(staff.get("/staff/photo-check").text) or ""
    results: list[str] = []

    def post(i: int) -> httpx.Response:
        ids, purpose = picks[i % len(picks)]
        response = staff.post(
            "/staff/photo-check",
            data={"csrf_token": token, "purpose": purpose.key, "pupil_ids": [str(x) for x in ids]},
            follow_redirects=False,
        )
        results.append(response.headers.get("location", ""))
        return response

    if measure.wanted(POST) or measure.wanted(RESULT):
        timings.append(measure.run(POST, post, expect=(303,)))
        if not results or not results[0]:
            for i in range(5):
                post(i)
    if measure.wanted(RESULT):
        kept = [url for url in results if url]
        timings.append(measure.run(RESULT, lambda i: staff.get(kept[i % len(kept)])))
    if measure.wanted(REPORT):
        class_names = list(by_class)
        timings.append(
            measure.run(
                REPORT,
                lambda i: staff.get(
                    "/staff/consent-reports",
                    params={
                        "group": f"class:{class_names[i % len(class_names)]}",
                        "purpose": picks[i][1].key,
                    },
                ),
            )
        )
    if any(measure.wanted(name) for name in (IMPORT, CONFIRM, REIMPORT, RECONFIRM)):
        timings.extend(_imports(engine, staff, imports, school_today(now)))
    return [t for t in timings if t.name in names]


def _imports(engine, staff: TestClient, runs: int, today: date) -> list[Timing]:  # type: ignore[no-untyped-def]
    """Upload + preview and confirm a 2,000-pupil file of new pupils (not a full import, so the
    seeded register stays on roll), then the same file again; the first run is a warm-up."""
    rows = {name: Timing(name) for name in (IMPORT, CONFIRM, REIMPORT, RECONFIRM)}
    for run in range(runs + 1):
        prefix = f"N{run:02d}"
        content = import_file(prefix, PUPILS, today)
        for upload_row, confirm_row in ((IMPORT, CONFIRM), (REIMPORT, RECONFIRM)):
            token = journey.csrf_from(staff.get("/staff/pupils/import").text) or ""
            began = time.perf_counter()
            uploaded = staff.post(
                "/staff/pupils/import",
                data={"csrf_token": token, "full": "no"},
                files={"file": ("pupils.csv", content, "text/csv")},
                follow_redirects=False,
            )
            location = uploaded.headers.get("location", "")
            preview = staff.get(location) if uploaded.status_code == 303 else uploaded
            upload_seconds = time.perf_counter() - began
            if preview.status_code != 200 or location.endswith("/columns"):
                rows[upload_row].note = f"preview answered {preview.status_code} at {location}"
                return list(rows.values())
            confirm_token = journey.csrf_from(preview.text) or token
            began = time.perf_counter()
            confirmed = staff.post(
                location + "/confirm", data={"csrf_token": confirm_token}, follow_redirects=False
            )
            confirm_seconds = time.perf_counter() - began
            if confirmed.status_code != 303:
                rows[confirm_row].note = f"confirm answered {confirmed.status_code}"
                return list(rows.values())
            if run > 0:
                rows[upload_row].samples.append(upload_seconds)
                rows[confirm_row].samples.append(confirm_seconds)
        _forget_import(engine, prefix)
    return list(rows.values())
