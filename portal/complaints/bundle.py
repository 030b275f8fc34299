"""The panel bundle: one PDF for the panel and the parent.

It holds, in order: a contents page, the complaint, the stage 1 letter(s), the parent's reasons
for asking for a panel, the papers from the parent and the papers from the school. The text
parts are drawn with fpdf2 (Helvetica, as the letters: see `letters.py`); uploaded PDFs are
merged with pypdf and pictures become pages. A file that cannot go in (encrypted or broken
PDF, a Word file, a file missing from disk, a PDF too long) is listed in the contents as "not
included: ask the clerk for a copy", so the bundle is always made. Every page is stamped
"Page 3 of 17" with the case reference.

It is built from what the parent may see: never internal notes, never replies' files.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image
from pypdf import PdfReader, PdfWriter, Transformation
from sqlmodel import Session

from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints import services
from portal.complaints.letters import latin1_text
from portal.complaints.models import About, Attachment, Complaint, MessageKind
from portal.config import Settings
from portal.db import now_of
from portal.school.services import school_of

log = logging.getLogger(__name__)

NOT_INCLUDED = "not included: ask the clerk for a copy"
MAX_FILE_PAGES = 300
MM_PER_POINT = 25.4 / 72


@dataclass
class Entry:
    """One line of the contents: a title, its first page (None when not included), its depth."""

    title: str
    page: int | None = None
    level: int = 0
    included: bool = True


@dataclass
class Bundle:
    content: bytes
    pages: int
    contents: list[Entry] = field(default_factory=list)

    @property
    def not_included(self) -> list[str]:
        return [entry.title for entry in self.contents if not entry.included]


@dataclass
class _Part:
    entry: Entry
    pdf: bytes | None  # None: listed only, not included


def bundle_filename(case: Complaint) -> str:
    return f"{case.reference}-panel-bundle.pdf"


def build_bundle(session: Session, settings: Settings, case: Complaint) -> Bundle:
    """Make the bundle for this case as it stands now."""
    school = school_of(session)
    parts: list[_Part] = [
        _Part(Entry("The complaint"), _text_pdf(lambda pdf: _complaint_text(pdf, case)))
    ]
    messages = services.messages_for(session, case, for_parent=True)
    letters = [m for m in messages if m.kind == MessageKind.stage1_letter]
    for number, letter in enumerate(letters, start=1):
        title = "The stage 1 response letter"
        if len(letters) > 1:
            title = f"{title} ({number} of {len(letters)})"
        when = format_date(school_today(letter.created_at))
        parts.append(
            _Part(
                Entry(title),
                _text_pdf(lambda pdf, m=letter, t=title, w=when: _body(pdf, t, w, m.body)),
            )
        )
    reasons = [m for m in messages if m.kind == MessageKind.escalation_request]
    if reasons:
        parts.append(
            _Part(
                Entry("Why the parent asked for a panel"),
                _text_pdf(
                    lambda pdf: _body(
                        pdf,
                        "Why the parent asked for a panel",
                        format_date(school_today(reasons[-1].created_at)),
                        "\n\n".join(m.body for m in reasons),
                    )
                ),
            )
        )
    sendings = services.panel_papers(session, case)
    for from_parent, heading in (
        (True, "Papers from the parent"),
        (False, "Papers from the school"),
    ):
        chosen = [s for s in sendings if s.from_parent == from_parent]
        files: list[Attachment] = [f for s in chosen for f in s.files]
        if from_parent:
            files = [*_complaint_files(session, case), *files]
        parts.append(
            _Part(
                Entry(heading),
                _text_pdf(lambda pdf, h=heading, c=chosen, fs=files: _papers_cover(pdf, h, c, fs)),
            )
        )
        for attachment in files:
            parts.append(_file_part(settings, attachment))

    contents = [part.entry for part in parts]
    # The contents page comes first, so every number depends on how long it is: lay it out
    # until its own length stops changing (once or twice).
    contents_pdf = b""
    contents_pages = 1
    for _ in range(3):
        page = contents_pages + 1
        for part in parts:
            if part.pdf is None:
                part.entry.page = None
                continue
            part.entry.page = page
            page += _page_count(part.pdf)
        contents_pdf = _text_pdf(lambda pdf: _contents_page(pdf, school.name, case, contents))
        measured = _page_count(contents_pdf)
        if measured == contents_pages:
            break
        contents_pages = measured

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(contents_pdf)))
    for part in parts:
        if part.pdf is not None:
            writer.append(PdfReader(io.BytesIO(part.pdf)))
    total = len(writer.pages)
    _stamp(writer, case.reference, total)
    writer.add_metadata(
        {
            "/Title": latin1_text(f"Panel bundle ({case.reference})"),
            "/Author": latin1_text(school.name),
            "/CreationDate": now_of(session).replace(tzinfo=UTC).strftime("D:%Y%m%d%H%M%SZ"),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return Bundle(content=out.getvalue(), pages=total, contents=contents)


# ---------------------------------------------------------------- the text parts


def _new_pdf() -> FPDF:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_compression(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()
    return pdf


def _text_pdf(draw: Callable[[FPDF], None]) -> bytes:
    pdf = _new_pdf()
    draw(pdf)
    return bytes(pdf.output())


def _line(pdf: FPDF, text: str, *, size: float = 11, style: str = "", height: float = 5.5) -> None:
    pdf.set_font("Helvetica", style=style, size=size)
    pdf.multi_cell(0, height, latin1_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: FPDF, text: str) -> None:
    _line(pdf, text, size=16, style="B", height=8)
    pdf.ln(3)


def _field(pdf: FPDF, label: str, value: str) -> None:
    _line(pdf, label, style="B")
    _line(pdf, value or "Not given")
    pdf.ln(3)


def _contents_page(pdf: FPDF, school_name: str, case: Complaint, contents: list[Entry]) -> None:
    _line(pdf, school_name, size=12, style="B")
    _heading(pdf, f"Governors' panel bundle: complaint {case.reference}")
    _line(pdf, "Contents", size=13, style="B", height=7)
    pdf.ln(2)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for entry in contents:
        indent = 8 * entry.level
        where = f"page {entry.page}" if entry.page is not None else NOT_INCLUDED
        pdf.set_x(pdf.l_margin + indent)
        pdf.set_font("Helvetica", style="" if entry.level else "B", size=11)
        title_width = width - indent - 30 if entry.page is not None else width - indent
        text = latin1_text(entry.title)
        if entry.page is None:
            text = f"{text} ({where})"
            pdf.multi_cell(title_width, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            continue
        top = pdf.get_y()
        pdf.multi_cell(title_width, 6, text, new_x=XPos.RIGHT, new_y=YPos.TOP)
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + width - 30, top)
        pdf.cell(30, 6, where, align="R")
        pdf.set_xy(pdf.l_margin, max(bottom, top + 6))
        pdf.ln(1)
    pdf.ln(4)
    _line(
        pdf,
        "A file marked 'not included' could not be put in this bundle. Ask the clerk to the "
        "governors for a copy.",
        size=10,
    )


def _complaint_text(pdf: FPDF, case: Complaint) -> None:
    _heading(pdf, "The complaint")
    about = About(case.about).label
    if case.about_name:
        about = f"{about}: {case.about_name}"
    _field(pdf, "Reference", case.reference)
    _field(pdf, "Received", format_date(case.received_on))
    _field(pdf, "From", case.display_name)
    _field(pdf, "Who it is about", about)
    _field(pdf, "What it is about", case.category)
    _field(pdf, "What happened", case.what_happened)
    _field(pdf, "When it happened", format_date(case.happened_on) if case.happened_on else "")
    _field(pdf, "What the parent has done so far", case.done_so_far)
    _field(pdf, "What would put it right", case.put_right)


def _body(pdf: FPDF, title: str, when: str, body: str) -> None:
    _heading(pdf, title)
    _line(pdf, when, size=10)
    pdf.ln(3)
    for paragraph in body.replace("\r\n", "\n").split("\n\n"):
        if paragraph.strip():
            _line(pdf, paragraph.strip("\n"))
            pdf.ln(3)


def _papers_cover(
    pdf: FPDF, heading: str, sendings: list[services.PanelPapers], files: list[Attachment]
) -> None:
    _heading(pdf, heading)
    if not sendings and not files:
        _line(pdf, "None sent.")
        return
    for sending in sendings:
        _line(pdf, f"Sent on {format_date(school_today(sending.message.created_at))}", style="B")
        _line(pdf, sending.message.body)
        pdf.ln(3)
    if files:
        _line(pdf, "Files", style="B")
        for attachment in files:
            _line(pdf, f"- {attachment.filename}")


def _complaint_files(session: Session, case: Complaint) -> list[Attachment]:
    """The files sent with the complaint itself (not with a reply or a note)."""
    return [
        a for a in services.attachments_for(session, case, for_parent=True) if a.message_id is None
    ]


# ---------------------------------------------------------------- uploaded files


def _file_part(settings: Settings, attachment: Attachment) -> _Part:
    entry = Entry(attachment.filename, level=1)
    try:
        content = (Path(settings.attachments_dir) / attachment.storage_key).read_bytes()
        if attachment.content_type == "application/pdf":
            pdf = _checked_pdf(content)
        elif attachment.content_type in ("image/jpeg", "image/png"):
            pdf = _picture_pdf(content)
        else:
            pdf = None
    except Exception as error:  # any file that will not go in is listed, never a 5xx
        log.warning("panel bundle: file %s not included (%r)", attachment.id, error)
        pdf = None
    if pdf is None:
        entry.included = False
    return _Part(entry, pdf)


def _checked_pdf(content: bytes) -> bytes | None:
    """The PDF rewritten by pypdf, or None if it is encrypted, broken or too long."""
    reader = PdfReader(io.BytesIO(content))
    if reader.is_encrypted:
        return None
    count = len(reader.pages)
    if count == 0 or count > MAX_FILE_PAGES:
        return None
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    for page in writer.pages:
        page.transfer_rotation_to_content()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _picture_pdf(content: bytes) -> bytes:
    """A picture on its own A4 page, as large as fits."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    room_w, room_h = pdf.w - 30, pdf.h - 40
    scale = min(room_w / width, room_h / height)
    w, h = width * scale, height * scale
    pdf.image(io.BytesIO(content), x=(pdf.w - w) / 2, y=15, w=w, h=h)
    return bytes(pdf.output())


def _page_count(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


def _stamp(writer: PdfWriter, reference: str, total: int) -> None:
    """ "Page 3 of 17" and the reference at the foot of every page, whatever its size."""
    overlay = FPDF(unit="mm")
    overlay.set_auto_page_break(auto=False)
    origins = []
    for number, page in enumerate(writer.pages, start=1):
        box = page.mediabox
        origins.append((float(box.left), float(box.bottom)))
        width = float(box.width) * MM_PER_POINT
        height = float(box.height) * MM_PER_POINT
        overlay.add_page(format=(width, height))
        overlay.set_font("Helvetica", size=9)
        overlay.set_xy(10, height - 12)
        words = f"Page {number} of {total}   Case {reference}"
        overlay.cell(width - 20, 6, latin1_text(words), align="C")
    stamps = PdfReader(io.BytesIO(bytes(overlay.output())))
    for (left, bottom), page, stamp in zip(origins, writer.pages, stamps.pages, strict=True):
        page.merge_transformed_page(stamp, Transformation().translate(left, bottom))
