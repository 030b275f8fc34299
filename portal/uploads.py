"""Files people upload, whichever domain keeps them: the real type is read from the bytes (never
from the name), pictures are re-encoded so their metadata goes, names are made safe, and a file
goes back only as a download that never renders in the portal's origin.

Complaint attachments (`portal.complaints.attachments`) and scanned consent forms
(`portal.consent`) both use these; each domain says which types it takes and how big.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote

from PIL import Image, UnidentifiedImageError

PDF_TYPE = "application/pdf"
JPEG_TYPE = "image/jpeg"
PNG_TYPE = "image/png"
# More than a 600 dpi scan of an A3 page: a picture claiming more is a decompression bomb.
MAX_PIXELS = 80_000_000
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class UploadRefused(ValueError):
    """Why a file was refused, in words for the person who sent it."""


def sniff(content: bytes) -> tuple[str, str] | None:
    """The real type and its extension from the first bytes, never from the file's name."""
    if content.startswith(b"%PDF-"):
        return PDF_TYPE, "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG_TYPE, "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG_TYPE, "png"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return DOCX_TYPE, "docx"
    return None


def strip_image_metadata(content: bytes, content_type: str) -> bytes:
    """Re-encode the picture so location, camera and other metadata are gone. A picture that
    does not open, or claims more pixels than any real scan or photo (a decompression bomb), is
    refused."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise UploadRefused("The picture is too large. Scan or save it at a lower size")
            image.load()
            clean = image.copy()
        clean.info = {}
        buffer = io.BytesIO()
        if content_type == JPEG_TYPE:
            clean.convert("RGB").save(buffer, format="JPEG", quality=90)
        else:
            clean.save(buffer, format="PNG")
    except UploadRefused:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
    ) as error:
        raise UploadRefused("The picture could not be opened. Try saving it again") from error
    return buffer.getvalue()


def safe_filename(filename: str) -> str:
    name = Path(filename or "file").name
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "file"
    return name[:120]


def content_disposition(filename: str) -> str:
    """`attachment` with the name twice: `filename*` (RFC 5987, UTF-8) for every browser made
    this century, and a plain ASCII `filename` for the rest. A header is Latin-1, so a name in
    another script written straight into it would fail the whole download."""
    name = Path(filename)
    suffix = name.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", name.suffix) else ""
    stem = unicodedata.normalize("NFKD", name.stem if suffix else name.name)
    stem = re.sub(r"[^A-Za-z0-9.\- _]+", "_", stem.encode("ascii", "ignore").decode())
    stem = stem.strip(" ._") or "file"
    fallback = stem + suffix
    if fallback == filename:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(filename: str) -> dict[str, str]:
    """Always a download, never rendered in the portal's origin, never kept by a cache."""
    return {
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
