"""Changing the school profile: the rules each setting must meet, the crest's image checks, and
the one way a change is saved (under a lock on the profile row, one history event per setting).

Views read a form, call a reader here (which gives the clean value or field errors in the school's
words), then `save_changes`. Every edit form carries `seen`, a fingerprint of what the admin was
shown; a save whose fingerprint no longer matches (another admin saved first) is refused with the
value as it is now, so no change is ever overwritten silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlmodel import Session, select

from portal.clock import clock_of
from portal.history import Actor, HistoryEvent, record_event
from portal.mail import InvalidAddress, normalised_address
from portal.school.models import SchoolProfile
from portal.school.services import forget_calendar, forget_school

CHANGED_TAG = "school:profile:changed"
CREATED_TAG = "school:profile:created"
OPENED_TAG = "school:portal:opened"
TIMESCALES_CONFIRMED_TAG = "school:setup:timescales-confirmed"
SCHOOL_TAGS = (CHANGED_TAG, CREATED_TAG, OPENED_TAG, TIMESCALES_CONFIRMED_TAG)
SUBJECT = "school"
HISTORY_VALUE_CHARS = 200  # history_event.from_value / to_value

NAME_MAX = 120
EMAIL_MAX = 320
PHONE_MAX = 40
ADDRESS_MAX = 300
URL_MAX = 300
CHANNEL_MAX = 200
CHANNELS_MAX = 20
CATEGORY_MAX = 80
CATEGORIES_MAX = 40
PROCEDURE_NAME_MAX = 80
PROCEDURE_WHERE_MAX = 500
PROCEDURES_MAX = 30
PARAGRAPH_TITLE_MAX = 80
PARAGRAPH_TEXT_MAX = 2000
PARAGRAPHS_MAX = 30

CREST_MAX_BYTES = 2 * 1024 * 1024
CREST_BOX = (240, 240)
CREST_MAX_PIXELS = 40_000_000  # refused before decoding: a "decompression bomb" stays small on disk
MIN_CONTRAST = 4.5

# What each setting is called on the pages and in the history.
LABELS: dict[str, str] = {
    "name": "School name",
    "contact_email": "Contact email",
    "contact_phone": "Phone",
    "contact_address": "Address",
    "website_url": "Website",
    "official_channels": "Official channels",
    "brand_colour": "Brand colour",
    "crest": "Crest",
    "acknowledge_within_days": "Acknowledge a complaint within",
    "concern_response_days": "Answer a concern within",
    "stage1_response_days": "Stage 1 response within",
    "escalation_window_days": "Parent may escalate within",
    "stage2_outcome_days": "Stage 2 panel outcome within",
    "late_after_months": "A complaint is late after",
    "reminder_days_before": "Remind the handler this many school days before a deadline",
    "categories": "Categories",
    "out_of_scope": "Other procedures",
    "letter_paragraphs": "Suggested letter paragraphs",
}


@dataclass(frozen=True)
class Timescale:
    field: str
    label: str
    unit: str  # "days" (school days) or "months"
    suggested: int
    hint: str
    low: int = 1
    high: int = 60


TIMESCALES: tuple[Timescale, ...] = (
    Timescale(
        "acknowledge_within_days",
        "Acknowledge a complaint within",
        "days",
        5,
        "School days. The DfE guidance suggests 5.",
    ),
    Timescale(
        "concern_response_days",
        "Answer a concern within",
        "days",
        10,
        "School days. The DfE guidance suggests 10.",
    ),
    Timescale(
        "stage1_response_days",
        "Send the stage 1 response within",
        "days",
        10,
        "School days from the acknowledgement. The DfE guidance suggests 10.",
    ),
    Timescale(
        "escalation_window_days",
        "The parent may ask for stage 2 within",
        "days",
        10,
        "School days after the stage 1 response. The DfE guidance suggests 10.",
    ),
    Timescale(
        "stage2_outcome_days",
        "Send the stage 2 panel outcome within",
        "days",
        20,
        "School days from the request for stage 2. The DfE guidance suggests 20.",
    ),
    Timescale(
        "late_after_months",
        "A complaint is late when it comes more than this many months after the matter",
        "months",
        3,
        "Months. The DfE guidance suggests 3. Late complaints are flagged, not refused.",
        1,
        12,
    ),
    Timescale(
        "reminder_days_before",
        "Remind the person handling a case this many school days before a deadline",
        "days",
        2,
        "School days. We suggest 2.",
        1,
        60,
    ),
)


# ---------------------------------------------------------------- readers (form → value or errors)


class Problems(dict[str, str]):
    """Field id → what to do about it, in the order the fields are on the page."""


def one_line(value: str) -> str:
    return " ".join((value or "").split())


def read_name(value: str) -> tuple[str, Problems]:
    name = one_line(value)
    problems = Problems()
    if not name:
        problems["name"] = "Enter the school's name"
    elif len(name) > NAME_MAX:
        problems["name"] = f"The school's name must be {NAME_MAX} characters or fewer"
    return name, problems


def read_https_url(value: str, field: str, what: str, *, required: bool) -> tuple[str, str | None]:
    url = (value or "").strip()
    if not url:
        return "", (f"Enter {what}" if required else None)
    if len(url) > URL_MAX or any(char.isspace() for char in url):
        return url, f"Enter {what} as a web address without spaces, like https://example.org"
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or "." not in parts.hostname:
        return url, f"Enter {what} starting with https://, like https://example.org"
    return url, None


def read_contacts(
    email: str, phone: str, address: str, website: str
) -> tuple[dict[str, str], Problems]:
    problems = Problems()
    values = {
        "contact_email": (email or "").strip(),
        "contact_phone": one_line(phone),
        "contact_address": one_line(address),
        "website_url": (website or "").strip(),
    }
    if not values["contact_email"]:
        problems["contact_email"] = "Enter the school office's email address"
    else:
        try:
            values["contact_email"] = normalised_address(values["contact_email"])
        except InvalidAddress:
            problems["contact_email"] = (
                "Enter one email address in the right format, like office@school.example"
            )
    phone_value = values["contact_phone"]
    if not phone_value:
        problems["contact_phone"] = "Enter the school office's phone number"
    elif len(phone_value) > PHONE_MAX or not re.fullmatch(r"\+?[0-9 ()-]{6,}", phone_value):
        problems["contact_phone"] = (
            "Enter a phone number using digits and spaces, like 01234 567890"
        )
    if not values["contact_address"]:
        problems["contact_address"] = "Enter the school's postal address"
    elif len(values["contact_address"]) > ADDRESS_MAX:
        problems["contact_address"] = f"The address must be {ADDRESS_MAX} characters or fewer"
    values["website_url"], problem = read_https_url(
        website, "website_url", "the school's website", required=False
    )
    if problem:
        problems["website_url"] = problem
    return values, problems


def read_lines(text: str) -> list[str]:
    return [line for line in (one_line(raw) for raw in (text or "").split("\n")) if line]


def read_channels(text: str) -> tuple[list[str], Problems]:
    channels = read_lines(text)
    problems = Problems()
    if not channels:
        problems["official_channels"] = "Enter at least one official channel, one on each line"
    elif len(channels) > CHANNELS_MAX:
        problems["official_channels"] = f"Enter {CHANNELS_MAX} channels or fewer"
    elif any(len(line) > CHANNEL_MAX for line in channels):
        problems["official_channels"] = f"Each channel must be {CHANNEL_MAX} characters or fewer"
    return channels, problems


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.2's relative luminance of a `#rrggbb` colour."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_with_white(colour: str) -> float:
    return 1.05 / (relative_luminance(colour) + 0.05)


def ratio_words(ratio: float) -> str:
    """4.49 shows as 4.4, never rounded up past the limit it fails."""
    return f"{int(ratio * 10) / 10:.1f}:1"


def read_colour(value: str) -> tuple[str, Problems]:
    colour = (value or "").strip().lower()
    problems = Problems()
    if re.fullmatch(r"[0-9a-f]{6}", colour):
        colour = "#" + colour
    if not re.fullmatch(r"#[0-9a-f]{6}", colour):
        problems["brand_colour"] = "Enter the colour as # and 6 hex digits, like #5b2a86"
        return (value or "").strip(), problems
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        problems["brand_colour"] = (
            f"White text on {colour} has a contrast of {ratio_words(ratio)}; choose a darker "
            f"colour (at least {MIN_CONTRAST}:1)"
        )
    return colour, problems


def read_timescales(form: Mapping[str, str]) -> tuple[dict[str, int], Problems]:
    values: dict[str, int] = {}
    problems = Problems()
    for scale in TIMESCALES:
        raw = (form.get(scale.field) or "").strip()
        unit = "school days" if scale.unit == "days" else "months"
        if not raw:
            problems[scale.field] = f"Enter a number of {unit}"
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 3:
            problems[scale.field] = f"Enter a whole number of {unit}, like {scale.suggested}"
            continue
        number = int(raw)
        if not scale.low <= number <= scale.high:
            problems[scale.field] = f"Enter a number of {unit} from {scale.low} to {scale.high}"
            continue
        values[scale.field] = number
    return values, problems


def read_categories(text: str) -> tuple[list[str], Problems]:
    categories = read_lines(text)
    problems = Problems()
    seen: dict[str, str] = {}
    duplicates = []
    for category in categories:
        folded = category.casefold()
        if folded in seen:
            duplicates.append(category)
        seen[folded] = category
    if not categories:
        problems["categories"] = "Enter at least one category, one on each line"
    elif duplicates:
        problems["categories"] = f"“{duplicates[0]}” is in the list twice: remove one of them"
    elif len(categories) > CATEGORIES_MAX:
        problems["categories"] = f"Enter {CATEGORIES_MAX} categories or fewer"
    elif any(len(category) > CATEGORY_MAX for category in categories):
        problems["categories"] = f"Each category must be {CATEGORY_MAX} characters or fewer"
    return categories, problems


def read_procedure(
    name: str, where: str, url: str, others: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, str], Problems]:
    """An out-of-scope procedure (its key is kept by the caller). `others` are the rest."""
    problems = Problems()
    entry = {"name": one_line(name), "where": " ".join((where or "").split()), "url": ""}
    if not entry["name"]:
        problems["name"] = "Enter the name of the procedure, like School admissions"
    elif len(entry["name"]) > PROCEDURE_NAME_MAX:
        problems["name"] = f"The name must be {PROCEDURE_NAME_MAX} characters or fewer"
    elif any(str(o.get("name", "")).casefold() == entry["name"].casefold() for o in others):
        problems["name"] = f"There is already a procedure called “{entry['name']}”"
    if not entry["where"]:
        problems["where"] = "Say where parents should go instead"
    elif len(entry["where"]) > PROCEDURE_WHERE_MAX:
        problems["where"] = f"This must be {PROCEDURE_WHERE_MAX} characters or fewer"
    entry["url"], problem = read_https_url(url, "url", "the link", required=False)
    if problem:
        problems["url"] = problem
    return entry, problems


def new_key(name: str, taken: Iterable[str]) -> str:
    """A stable key for a new procedure, from its name: kept when the name changes later."""
    base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "procedure"
    taken = set(taken)
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def read_paragraph(title: str, text: str) -> tuple[dict[str, str], Problems]:
    problems = Problems()
    paragraph = {"title": one_line(title), "text": (text or "").strip()}
    if not paragraph["title"]:
        problems["title"] = "Enter a short title, so staff can pick the paragraph"
    elif len(paragraph["title"]) > PARAGRAPH_TITLE_MAX:
        problems["title"] = f"The title must be {PARAGRAPH_TITLE_MAX} characters or fewer"
    if not paragraph["text"]:
        problems["text"] = "Enter the paragraph"
    elif len(paragraph["text"]) > PARAGRAPH_TEXT_MAX:
        problems["text"] = f"The paragraph must be {PARAGRAPH_TEXT_MAX} characters or fewer"
    return paragraph, problems


# ---------------------------------------------------------------- the crest


class CrestRefused(ValueError):
    """The upload is not a crest we can use; the message says what to do."""


def crest_png(data: bytes) -> bytes:
    """The uploaded image as a small PNG, fitted inside 240 by 240 with its shape kept.

    The bytes decide what the file is, never its name: only PNG and JPEG are read (an SVG can
    carry scripts). The image is drawn again onto a fresh canvas and written as PNG, so no
    metadata (EXIF, GPS position, comments, colour profiles) survives.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise CrestRefused("Choose an image file of the crest")
    if len(data) > CREST_MAX_BYTES:
        raise CrestRefused("The file must be smaller than 2 MB")
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
            width, height = image.size
            if width * height > CREST_MAX_PIXELS:
                raise CrestRefused("The image is too large: use one under 6000 by 6000 pixels")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except CrestRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise CrestRefused("The file must be a PNG or JPEG image") from None
    mode = "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
    converted = upright.convert(mode)
    converted.thumbnail(CREST_BOX, Image.Resampling.LANCZOS)
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ---------------------------------------------------------------- saving


class EditedMeanwhile(Exception):
    """Another admin saved this setting after this form was shown: nothing was changed."""

    def __init__(self, current: SchoolProfile) -> None:
        super().__init__("changed meanwhile")
        self.current = current


def fingerprint(value: object) -> str:
    """What a form was shown of a setting, to tell on saving whether it changed meanwhile."""
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fields_value(row: SchoolProfile, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def locked_profile(session: Session) -> SchoolProfile | None:
    """The profile row, locked until the transaction ends. The first statement writes to the row
    (PostgreSQL: a row lock; SQLite: the database's write lock), so a second save waits here and
    then reads what the first one committed; SELECT ... FOR UPDATE says the same to PostgreSQL."""
    row_id = session.scalar(select(SchoolProfile.id).order_by(SchoolProfile.id).limit(1))
    if row_id is None:
        return None
    session.execute(
        update(SchoolProfile)
        .where(SchoolProfile.id == row_id)
        .values(updated_at=clock_of(session).now())
        .execution_options(synchronize_session=False)
    )
    statement = (
        select(SchoolProfile)
        .where(SchoolProfile.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(statement).one()


def _history_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "; ".join(
            str(item.get("name") or item.get("title")) if isinstance(item, dict) else str(item)
            for item in value
        )
    else:
        text = str(value)
    return text if len(text) <= HISTORY_VALUE_CHARS else text[: HISTORY_VALUE_CHARS - 1] + "…"


def record_change(
    session: Session, row: SchoolProfile, actor: Actor, field: str, before: Any, after: Any
) -> None:
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=row.id,
        tag=CHANGED_TAG,
        actor=actor,
        from_value=_history_text(before),
        to_value=_history_text(after),
        detail={"field": field, "from": before, "to": after},
    )


def save_changes(
    session: Session,
    actor: Actor,
    changes: Mapping[str, Any],
    *,
    seen: str | None,
    seen_fields: Sequence[str] | None = None,
) -> list[str]:
    """Save these settings, one history event for each that changed; returns their names.

    `seen` is the fingerprint of `seen_fields` (default: the changed fields) as the form showed
    them; when the stored values differ now, EditedMeanwhile is raised and nothing is saved.
    The caller commits."""
    row = locked_profile(session)
    if row is None:
        raise LookupError("there is no school profile yet")
    watched = list(seen_fields or changes)
    if seen is not None and fingerprint(fields_value(row, watched)) != seen:
        raise EditedMeanwhile(row)
    changed = []
    for field, after in changes.items():
        before = getattr(row, field)
        if before == after:
            continue
        setattr(row, field, after)
        record_change(session, row, actor, field, before, after)
        changed.append(field)
    session.add(row)
    session.flush()
    forget_school(session)
    return changed


def save_crest(session: Session, actor: Actor, png: bytes | None) -> int:
    """Put in this crest (or remove it with None); the version moves on, so the image's address
    changes and browsers fetch the new one despite its year-long cache. The caller commits."""
    row = locked_profile(session)
    if row is None:
        raise LookupError("there is no school profile yet")
    before = row.crest_version if row.crest_media_type else None
    if png is None and before is None:
        return row.crest_version
    row.crest_version += 1
    row.crest_image = png
    row.crest_media_type = "image/png" if png is not None else None
    after = row.crest_version if png is not None else None
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=row.id,
        tag=CHANGED_TAG,
        actor=actor,
        from_value="none" if before is None else f"version {before}",
        to_value="none" if after is None else f"version {after}",
        detail={"field": "crest", "from": before, "to": after},
    )
    session.add(row)
    session.flush()
    forget_school(session)
    return row.crest_version


def create_profile(
    session: Session, actor: Actor, name: str, contacts: Mapping[str, str]
) -> SchoolProfile:
    """The first run's first step: the school's row, with the DfE's suggested timescales and the
    usual categories and procedures to start from. The caller commits."""
    from portal.school.services import DEFAULT_CATEGORIES, DEFAULT_OUT_OF_SCOPE

    row = SchoolProfile(
        name=name,
        categories=list(DEFAULT_CATEGORIES),
        out_of_scope=[dict(entry) for entry in DEFAULT_OUT_OF_SCOPE],
        **contacts,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        subject_type=SUBJECT,
        subject_id=row.id,
        tag=CREATED_TAG,
        actor=actor,
        to_value=_history_text(name),
        detail={"field": "name", "from": None, "to": name},
    )
    forget_school(session)
    forget_calendar(session)
    return row


def record_timescales_confirmed(session: Session, actor: Actor) -> None:
    row = locked_profile(session)
    assert row is not None
    record_event(
        session, subject_type=SUBJECT, subject_id=row.id, tag=TIMESCALES_CONFIRMED_TAG, actor=actor
    )


def open_portal(session: Session, actor: Actor) -> bool:
    """The first run's last step: parents may use the portal from now on. False if it already
    was open (two admins pressing the button at once open it once)."""
    row = locked_profile(session)
    if row is None or row.set_up_at is not None:
        return False
    row.set_up_at = clock_of(session).now()
    session.add(row)
    record_event(session, subject_type=SUBJECT, subject_id=row.id, tag=OPENED_TAG, actor=actor)
    session.flush()
    forget_school(session)
    return True


def changes_of(session: Session, profile_id: int | None, limit: int = 50) -> list[HistoryEvent]:
    """The profile's history, newest first."""
    if profile_id is None:
        return []
    statement = (
        select(HistoryEvent)
        .where(HistoryEvent.subject_type == SUBJECT)
        .where(HistoryEvent.subject_id == str(profile_id))
        .order_by(HistoryEvent.id.desc())  # type: ignore[union-attr]
        .limit(limit)
    )
    return list(session.exec(statement))


def has_event(session: Session, profile_id: int | None, tag: str) -> bool:
    if profile_id is None:
        return False
    statement = (
        select(HistoryEvent.id)
        .where(HistoryEvent.subject_type == SUBJECT)
        .where(HistoryEvent.subject_id == str(profile_id))
        .where(HistoryEvent.tag == tag)
        .limit(1)
    )
    return session.exec(statement).first() is not None


def swatch(colour: str, text: str) -> str:
    """A preview of white text on `colour` (already checked to be #rrggbb), as a data: URL: the
    Content-Security-Policy allows no inline styles, and images from data: are allowed."""
    from urllib.parse import quote
    from xml.sax.saxutils import escape

    label = escape(text[:40])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="72" viewBox="0 0 360 72">'
        f'<rect width="360" height="72" fill="{colour}"/>'
        '<text x="16" y="44" fill="#ffffff" font-family="Arial, sans-serif" font-size="20" '
        f'font-weight="bold">{label}</text></svg>'
    )
    return "data:image/svg+xml," + quote(svg)
