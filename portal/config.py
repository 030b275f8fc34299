"""Settings for one school's portal, read from the environment or a `.env` file.

Every variable is prefixed `PORTAL_` (for example `PORTAL_SCHOOL_NAME`). Only deployment values live
here (database, SMTP, secret key, base URL, proxies, limits). What a school says about itself (its
name, colours, contacts, timescales, categories, term dates, wording) is its profile, stored in
the database and edited on the admin pages: see portal/school/.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import secrets
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = Path(".secret_key")


# The most requests a worker may work on at once (`requests_at_once`): each holds at most two
# database connections, and the pool (`portal.db`) has twice this many.
MOST_REQUESTS_AT_ONCE = 15


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    # The portal's own folder for what it writes (uploads, a SQLite database). Every relative path
    # below is resolved against it, never against the directory a command happens to run in; a
    # relative data folder is resolved against the project. Production: /var/lib/portal.
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = "sqlite:///portal.db"
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"

    templates_override_dir: Path | None = None

    # The term dates `portal demo` gives the demo school. A school's own term dates live in the
    # database and are edited (or imported from an iCalendar file) on the admin pages.
    term_dates_file: Path = PROJECT_ROOT / "config" / "term-dates.toml"

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "Brookfield Primary School <office@brookfield-primary.example>"
    mail_max_attempts: int = 8
    # Parents' email replies (`portal receive-mail`): emails about a case say "Reply-To:
    # reply+<token>@<domain>" for this address. Empty: no Reply-To, and the feature is off.
    reply_address: str = ""
    # The largest email the listener takes (bigger ones are refused, so the sender is told), and
    # how many emails one sender may send that cannot be placed in an hour before the listener
    # says "try later" (their server retries; nothing is lost).
    inbound_max_bytes: int = 25 * 1024 * 1024
    inbound_held_per_sender_per_hour: int = 20

    attachments_dir: Path = Path("attachments")
    submissions_per_hour_per_address: int = 10
    track_attempts_per_hour_per_address: int = 20
    replies_per_case_per_day: int = 10

    rate_limit_storage: str = "memory://"
    # Requests each worker process works on at once; the rest wait their turn, first come first
    # served (`portal.db.AdmittedRequests`). Fewer at once share the CPU less thinly, so each is
    # done sooner and a rush has no long tail; at most MOST_REQUESTS_AT_ONCE (the connection
    # pool is sized for it). 4 since 6 December 2026 (docs/decisions.md).
    requests_at_once: int = 4
    # Sign-in attempts per lockout window (every attempt counts, the right password included):
    # for one account from one address, for one address across all accounts, and for one account
    # across all addresses (a much higher ceiling, so only a spread-out attack can reach it).
    sign_in_failures_allowed: int = 5
    sign_in_attempts_per_address: int = 20
    sign_in_attempts_per_account: int = 50
    sign_in_lockout_minutes: int = 15
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    # Parents have no passwords: a one-time link emailed to an address on the pupil register
    # signs them in (photo consent, confirmations, comments). How long a link works; how long a
    # signed-in parent may be idle, and the longest a parent's session lasts; how many links one
    # address is sent in an hour, and how many link requests one visitor may make in an hour.
    parent_link_minutes: int = 30
    parent_session_idle_minutes: int = 60
    parent_session_max_hours: int = 4
    parent_links_per_hour_per_address: int = 3
    parent_link_requests_per_hour_per_client: int = 20

    # Proxies whose X-Forwarded-For is believed: addresses or networks (CIDR), for example
    # `PORTAL_TRUSTED_PROXIES=127.0.0.1,::1` or `10.0.0.0/8`. Empty: the header is ignored and the
    # connecting address is the visitor's.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_https(self) -> bool:
        return self.base_url.strip().lower().startswith("https://")

    @field_validator("requests_at_once")
    @classmethod
    def _requests_at_once_in_range(cls, value: int) -> int:
        if not 1 <= value <= MOST_REQUESTS_AT_ONCE:
            raise ValueError(f"must be between 1 and {MOST_REQUESTS_AT_ONCE}")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        """Accept a comma-separated string (the environment) as well as a list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as error:
                raise ValueError(f"not an address or network: {entry!r}") from error
        return [entry.strip() for entry in value]

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def uses_redis(self) -> bool:
        return self.rate_limit_storage.strip().lower().startswith(("redis://", "rediss://"))

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        """Relative paths name places in the data folder, whatever the working directory."""
        data = self.data_dir.expanduser()
        self.data_dir = (data if data.is_absolute() else PROJECT_ROOT / data).resolve()
        self.attachments_dir = self._in_data(self.attachments_dir)
        self.term_dates_file = self._in_data(self.term_dates_file)
        if self.templates_override_dir is not None:
            self.templates_override_dir = self._in_data(self.templates_override_dir)
        self.database_url = sqlite_url_in(self.database_url, self.data_dir)
        return self

    def _in_data(self, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else self.data_dir / path

    @model_validator(mode="after")
    def _secret_key_present(self) -> Settings:
        if self.secret_key:
            if self.is_production and len(self.secret_key) < 32:
                raise ValueError("PORTAL_SECRET_KEY must be at least 32 characters in production")
            return self
        if self.is_production:
            raise ValueError("PORTAL_SECRET_KEY must be set in production")
        self.secret_key = development_secret_key()
        return self


def sqlite_url_in(url: str, folder: Path) -> str:
    """A SQLite URL with a relative file path, made absolute in `folder`; any other URL as it is."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path = url[len(prefix) :]
    if not path or path.startswith("/") or path.startswith(":memory:") or path.startswith("file:"):
        return url
    if not folder.exists():  # SQLite makes the file, not its folder (the checkout's var/)
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700, parents=True)
    return prefix + str(folder / path)


# Words that mean someone copied an example instead of making a key.
PLACEHOLDER_WORDS = ("change", "example", "placeholder", "secret", "password", "replace", "your")
MIN_SECRET_KEY_BITS = 128


def secret_key_weakness(key: str) -> str | None:
    """Why this secret key is not fit for production, or None.

    A key must be at least 32 characters, must not look like the guide's or anyone's example,
    and must carry at least 128 bits by the count of its characters (the Shannon entropy of the
    key as written, times its length): `secrets.token_urlsafe(48)` has about 360, a key of one
    repeated phrase far fewer.
    """
    if not key:
        return "it is empty"
    lowered = key.lower()
    # Words count only in a key written in one case, as people write examples ("change-me",
    # "YOUR_SECRET"): a random key mixes cases, and may hold "YouR" by chance.
    letters = [c for c in key if c.isalpha()]
    one_case = max(sum(c.islower() for c in letters), sum(c.isupper() for c in letters), 0)
    written_as_words = bool(letters) and one_case >= 0.9 * len(letters)
    if any(mark in key for mark in ("<", ">", "...")) or (
        written_as_words and any(word in lowered for word in PLACEHOLDER_WORDS)
    ):
        return "it looks like an example or placeholder, not a random key"
    if len(key) < 32:
        return "it is shorter than 32 characters"
    counts = Counter(key)
    per_character = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    if per_character * len(key) < MIN_SECRET_KEY_BITS or len(counts) < 10:
        return "it is not random enough (too few different characters)"
    return None


class SettingsError(ValueError):
    """A setting is missing or wrong. The message names the settings and what is wrong with
    them, and never a value: a validation error from pydantic quotes its input, which for a
    whole-settings check is every setting, the SMTP password and secret key included."""


def describe_settings_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        where = "_".join(str(part) for part in problem["loc"]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"PORTAL_{where}: {message}" if where else message)
    return "; ".join(lines) or "the settings are not valid"


def load_settings(**values: object) -> Settings:
    """The settings, or a SettingsError that quotes no value. `PORTAL_ENV_FILE` names the
    settings file (production: /etc/portal/portal.env); without it, `.env` in the working
    directory is read if there is one."""
    env_file = os.environ.get("PORTAL_ENV_FILE", "")
    if env_file:
        if not os.access(env_file, os.R_OK):
            raise SettingsError(f"PORTAL_ENV_FILE names {env_file}, which cannot be read")
        values.setdefault("_env_file", env_file)
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None


def development_secret_key() -> str:
    """A random key kept in the working directory, so sessions survive a restart in development."""
    if SECRET_KEY_FILE.exists():
        return SECRET_KEY_FILE.read_text().strip()
    key = secrets.token_urlsafe(48)
    SECRET_KEY_FILE.write_text(key)
    SECRET_KEY_FILE.chmod(0o600)
    return key


@lru_cache
def get_settings() -> Settings:
    return load_settings()
