"""One way to sign a value: a purpose, a payload and (usually) an expiry, under the secret key.

Every signed cookie and signed value goes through `Signer`: the CSRF token, the parent's tracking
cookie, the confirmation page's cookie, and the links the next domains will send (consent). The
purpose is part of what is signed, so a value signed for one use is refused for any other; a
value can also be bound to a secret it does not carry (the staff session, a case's access token),
so it is good only while that secret is. A signed value reads `<payload>.<expires>.<signature>`:
the payload in unpadded base64url (any text, safe in a cookie), the expiry in Unix seconds (empty
when the value never expires on its own), and an HMAC-SHA256 in hex.

Also here: `token_digest`, the SHA-256 under which every random token (staff sessions, private
tracking links, drafts) is stored, so that a copy of the database opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

_SEPARATOR = "\x00"


def token_digest(token: str) -> str:
    """What is stored of a random token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of a computed secret with one a browser sent.

    Compares bytes: `hmac.compare_digest` on two strings raises TypeError when either holds a
    character outside ASCII, and a cookie or form field can hold anything.
    """
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )


def _small_number(text: str) -> bool:
    """ASCII digits that fit a 64-bit integer ("²" is a digit to Python, but not to int())."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _encode(payload: str) -> str:
    raw = payload.encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(text: str) -> str | None:
    """The payload, only from its one canonical spelling (base64 passes over stray characters)."""
    if not text.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = raw.decode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError):
        return None
    return payload if _encode(payload) == text else None


@dataclass(frozen=True)
class Signer:
    """Signs and checks values under one secret key (the deployment's `secret_key`)."""

    secret_key: str

    def signature(
        self, purpose: str, payload: str, *, bound_to: str = "", expires: str = ""
    ) -> str:
        """The HMAC of a purpose, a binding, an expiry and a payload, in hex.

        The purpose, binding and expiry are the project's own strings (never a visitor's) and
        hold no NUL, so the four fields cannot be shifted into one another.
        """
        if _SEPARATOR in purpose or _SEPARATOR in bound_to or _SEPARATOR in expires:
            raise ValueError("a purpose, binding or expiry cannot hold a NUL character")
        message = _SEPARATOR.join((purpose, bound_to, expires, payload))
        key = self.secret_key.encode("utf-8", "surrogatepass")
        return hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def sign(
        self, purpose: str, payload: str, *, expires_at: int | None = None, bound_to: str = ""
    ) -> str:
        """`payload` signed for `purpose`, good until `expires_at` (Unix seconds) if given."""
        expires = "" if expires_at is None else str(int(expires_at))
        signature = self.signature(purpose, payload, bound_to=bound_to, expires=expires)
        return f"{_encode(payload)}.{expires}.{signature}"

    def unsign(self, purpose: str, value: str, *, now: int, bound_to: str = "") -> str | None:
        """The payload of a value signed for `purpose` and `bound_to`, or None: wrong purpose,
        wrong binding, expired (after `now`), tampered with or not a signed value at all."""
        parts = value.split(".")
        if len(parts) != 3:
            return None
        body, expires, signature = parts
        payload = _decode(body)
        if payload is None or not signature:
            return None
        if expires and not (_small_number(expires) and int(expires) >= now):
            return None
        expected = self.signature(purpose, payload, bound_to=bound_to, expires=expires)
        return payload if same_secret(expected, signature) else None

    @staticmethod
    def peek(value: str) -> str | None:
        """The payload of a signed value, NOT checked: only to find what it is bound to (the
        case whose access token the signature includes) before `unsign` checks it."""
        parts = value.split(".")
        return _decode(parts[0]) if len(parts) == 3 else None
