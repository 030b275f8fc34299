"""The stage 1 and stage 2 letters as PDFs the parent can download and keep.

We use fpdf2's built-in Helvetica rather than a font file, so the PDF looks the same on every
server and needs nothing installed. Those fonts only cover Latin-1, so text is transliterated
first: curly quotes and dashes become plain ones, accents that Latin-1 lacks are dropped, and
anything else becomes "?". The PDF is written uncompressed: letters are small, and the text can
then be searched in the file (tests do this).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from portal.calendar import format_date
from portal.clock import school_today
from portal.complaints.models import Complaint, ComplaintMessage, MessageKind
from portal.school.services import School

LETTER_TITLES = {
    MessageKind.stage1_letter: "Response to your complaint",
    MessageKind.stage2_letter: "Outcome of the governors' panel",
    MessageKind.acknowledgement: "We have received your concern or complaint",
}
FILE_WORDS = {
    MessageKind.stage1_letter: "response",
    MessageKind.stage2_letter: "panel-outcome",
    MessageKind.acknowledgement: "acknowledgement",
}

_PLAIN = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u2023": "-",
    "\u2043": "-",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u200d": "",
    "\ufeff": "",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
    "\u0126": "H",
    "\u0127": "h",
    "\t": "    ",
}


def latin1_text(text: str) -> str:
    """Text the PDF core fonts can print: Latin-1 only, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for char in text:
        if char == "\n" or (" " <= char <= "~") or ("\xa0" <= char <= "\xff"):
            out.append(char)
        elif char in _PLAIN:
            out.append(_PLAIN[char])
        elif unicodedata.category(char).startswith("C"):
            continue
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            kept = "".join(
                c for c in decomposed if "\x20" <= c <= "\xff" and not unicodedata.combining(c)
            )
            out.append(kept or "?")
    return "".join(out).encode("latin-1", "replace").decode("latin-1")


class _LetterPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")


def letter_pdf(school: School, complaint: Complaint, message: ComplaintMessage) -> bytes:
    """An A4 letter: the school's name and address, date, reference, title, body, page numbers."""
    title = LETTER_TITLES.get(MessageKind(message.kind), "Letter from the school")
    sent_on = school_today(message.created_at)

    pdf = _LetterPDF(format="A4", unit="mm")
    pdf.set_compression(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(latin1_text(f"{title} ({complaint.reference})"))
    pdf.set_author(latin1_text(school.name))
    pdf.set_subject(latin1_text(f"{school.name} complaint {complaint.reference}"))
    pdf.set_creator(latin1_text(school.name))
    pdf.set_creation_date(message.created_at.replace(tzinfo=UTC))
    pdf.add_page()

    def line(text: str, *, size: float = 11, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, height, latin1_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(school.name, size=16, style="B", height=8)
    line(school.contact_address, size=10, height=5)
    line(f"Phone {school.contact_phone}   Email {school.contact_email}", size=10, height=5)
    if complaint.by_post and complaint.parent_address:
        # For a window envelope: the parent has no email, so the letter goes by post.
        pdf.ln(8)
        line(complaint.parent_name)
        line(complaint.parent_address)
    pdf.ln(8)
    line(format_date(sent_on))
    line(f"Reference: {complaint.reference}")
    pdf.ln(6)
    line(title, size=14, style="B", height=7)
    pdf.ln(3)
    for paragraph in _paragraphs(message.body):
        heading, _, rest = paragraph.partition("\n")
        if rest and _is_heading(heading):
            line(heading, style="B")
            line(rest)
        else:
            line(paragraph)
        pdf.ln(3)
    return bytes(pdf.output())


def _paragraphs(body: str) -> list[str]:
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    parts = [part.strip("\n") for part in text.split("\n\n")]
    return [part for part in parts if part.strip()]


def _is_heading(text: str) -> bool:
    """The letters put a short title line, with no full stop, above each section."""
    text = text.strip()
    return bool(text) and len(text) <= 80 and text[-1] not in ",.:;!?"


def letter_filename(complaint: Complaint, message: ComplaintMessage) -> str:
    kind = FILE_WORDS.get(MessageKind(message.kind), "letter")
    return f"{complaint.reference}-{kind}.pdf"
