"""Reading an email a parent sent to a case's reply address: who from, to which address, the
words they wrote above the quoted email, and the files.

Only the standard library's `email` package reads the message; `mail-parser-reply` (see
docs/decisions.md) finds where the parent's own words end (the quoted email, "On ... wrote:",
the signature). Nothing here raises on a strange email: a header or part that cannot be read
is left out, and the rules (`services.inbound`) decide what to do with what is left.

A reply address is the school's address with a tag: `reply+<token>@school.example` for
`PORTAL_REPLY_ADDRESS=reply@school.example`. The token names a case and is signed
(`portal.signing`), so it cannot be guessed or changed to another case's; it is not the case's
private link and opens nothing on the portal: it only says which case an email is about.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from mailparser_reply import EmailReplyParser

from portal.mail import InvalidAddress, normalised_address
from portal.security import mask_private_links
from portal.signing import Signer, same_secret
from portal.text import clean_text

TOKEN_PURPOSE = "complaint-reply"  # noqa: S105
SIGNATURE_CHARS = 24  # 96 bits of the HMAC: a local part has room for 64 characters in all
SUBJECT_CHARS = 300
MAX_PARTS = 200  # a message of more parts than this is read no further
# The parser's regular expressions run on the text above the quote; nobody writes more by hand.
PARSE_CHARS = 100_000
_WROTE = re.compile(r"^On .{0,300} wrote:$", re.IGNORECASE)
ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")


@dataclass(frozen=True)
class FileInMail:
    filename: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_key: str
    sender: str  # the From address, lower-cased; "" when there is none we can use
    subject: str
    addresses: tuple[str, ...]  # where it was sent, from its headers
    text: str | None  # the plain text body, None when it has none
    files: tuple[FileInMail, ...]


def case_token(secret_key: str, complaint_id: int) -> str:
    """The token in a case's reply address: "<id>-<signature>", lower case (mail systems may
    lower-case an address)."""
    signature = Signer(secret_key).signature(TOKEN_PURPOSE, str(complaint_id))
    return f"{complaint_id}-{signature[:SIGNATURE_CHARS]}"


def case_of_token(secret_key: str, token: str) -> int | None:
    """The case id a token names, or None if it is not one of ours."""
    number, _, signature = token.strip().lower().partition("-")
    if not (number.isascii() and number.isdigit() and 0 < len(number) <= 9):
        return None
    expected = case_token(secret_key, int(number)).partition("-")[2]
    return int(number) if same_secret(expected, signature) else None


def reply_address(setting: str, token: str) -> str | None:
    """`reply+<token>@domain` for the school's reply address, or None when there is none."""
    local, at, domain = setting.strip().rpartition("@")
    if not (local and at and domain):
        return None
    return f"{local}+{token}@{domain}"


def tokens_in(setting: str, addresses: tuple[str, ...] | list[str]) -> list[str]:
    """The tokens of the addresses that are the school's reply address with a tag."""
    local, _, domain = setting.strip().lower().rpartition("@")
    if not (local and domain):
        return []
    found: list[str] = []
    for address in addresses:
        their_local, _, their_domain = address.strip().lower().rpartition("@")
        base, plus, token = their_local.partition("+")
        if plus and base == local and their_domain == domain and token and token not in found:
            found.append(token)
    return found


def message_key(raw: bytes, message_id: str) -> str:
    """What identifies one email: its Message-ID, or its bytes when it has none."""
    if message_id:
        return hashlib.sha256(b"id:" + message_id.encode("utf-8", "replace")).hexdigest()
    return hashlib.sha256(b"raw:" + raw).hexdigest()


def parse(raw: bytes) -> ParsedMail:
    """Read `raw` (the email as received). Never raises on what the email holds."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:  # an email the package cannot read at all
        return ParsedMail(message_key(raw, ""), "", "", (), None, ())
    message_id = _header(message, "Message-ID").strip()[:998]
    return ParsedMail(
        message_key=message_key(raw, message_id),
        sender=_sender(message),
        subject=mask_private_links(" ".join(_header(message, "Subject").split()))[:SUBJECT_CHARS],
        addresses=_addresses(message),
        text=_without_private_links(_body(message)),
        files=_files(message),
    )


def _without_private_links(text: str | None) -> str | None:
    """A reply quotes the school's email, and the acknowledgement holds the parent's private
    link: staff never read it (whoever holds it can act as the parent), here or on the case."""
    return mask_private_links(text) if text is not None else None


def reply_text(text: str) -> str:
    """The parent's own words: what is above the quoted email and the signature."""
    text = text[:PARSE_CHARS]
    try:
        replies = EmailReplyParser(languages=["en"]).read(text).replies
    except Exception:  # a library failure keeps the whole text, never loses it
        return text.strip()
    if not replies:
        return _without_trailing_quote(text)
    return _without_trailing_quote(replies[0].body or "")


def _without_trailing_quote(text: str) -> str:
    """What the parser leaves when the quote is all there is ("On ... wrote:" then "> ..."
    lines): the quoted lines at the end and the line that introduces them go too."""
    lines = text.strip().splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    if lines and _WROTE.match(lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return clean_text(str(value)) if value is not None else ""
    except Exception:  # a malformed header reads as absent
        return ""


def _sender(message: Message) -> str:
    address = parseaddr(_header(message, "From"))[1]
    try:
        return normalised_address(address).lower() if address else ""
    except InvalidAddress:
        return ""


def _addresses(message: Message) -> tuple[str, ...]:
    values: list[str] = []
    for name in ADDRESS_HEADERS:
        try:
            values.extend(clean_text(str(value)) for value in message.get_all(name) or [])
        except Exception:  # noqa: S112  # a malformed header reads as absent
            continue
    try:
        pairs = getaddresses(values)
    except Exception:
        return ()
    return tuple(address for _name, address in pairs if "@" in address)


def _parts(message: Message) -> list[Message]:
    parts: list[Message] = []
    for part in message.walk():
        if len(parts) >= MAX_PARTS:
            break
        if not part.is_multipart():
            parts.append(part)
    return parts


def _body(message: Message) -> str | None:
    part: Message | None = None
    if isinstance(message, EmailMessage):
        try:
            part = message.get_body(preferencelist=("plain",))
        except Exception:
            part = None
    if part is None:
        return None
    return clean_text(_text_of(part))


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # noqa: S110  # an unknown charset or a broken encoding
        pass
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return ""


def _files(message: Message) -> tuple[FileInMail, ...]:
    files: list[FileInMail] = []
    for part in _parts(message):
        try:
            disposition = part.get_content_disposition()
            filename = part.get_filename() or ""
        except Exception:
            disposition, filename = "attachment", ""
        if disposition != "attachment" and not (filename and part.get_content_maintype() != "text"):
            continue
        try:
            content = part.get_payload(decode=True)
        except Exception:
            content = b""
        files.append(
            FileInMail(
                clean_text(filename) or "file", content if isinstance(content, bytes) else b""
            )
        )
    return tuple(files)
