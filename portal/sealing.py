"""Secrets kept only until they are delivered: a parent's private link waiting in the outbox.

The link must reach the parent's mailbox and nobody else, yet the email may wait in the outbox
for hours while SMTP is down. So the outbox stores it encrypted under a key derived from the
deployment's secret key (Fernet: AES-128-CBC with an HMAC), never in the body staff can read,
and clears it once the message is sent.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SealError", "seal", "unseal"]


class SealError(ValueError):
    """The sealed value was made under another key or has been altered."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"portal-outbox-seal:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode()


def unseal(secret_key: str, sealed: str) -> str:
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise SealError("the sealed value cannot be opened with this secret key") from error
