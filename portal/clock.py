"""The portal's one clock. Nothing else under `portal/` reads the system time.

Every moment the portal stores or compares comes from a `Clock`: the app is given one at creation
(`create_app(settings, clock=...)`), and every database session opened on its engine carries it, so
services ask `clock_of(session)` instead of reading the system clock. Production uses
`SystemClock`; tests hand the app a `FixedClock`, which is why the suite passes whatever today's
date is.

Times are naive UTC (stored the same way on SQLite and PostgreSQL); `school_today` turns one into
the date at the school, in Europe/London.
"""

from __future__ import annotations

import time
import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

__all__ = [
    "Clock",
    "FixedClock",
    "SystemClock",
    "bind_clock",
    "clock_of",
    "school_today",
]

SCHOOL_TIME = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime:
        """This moment as naive UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring how long something took."""
        ...


class SystemClock:
    """The real time. The only place in the portal that reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that stands still until told to move: for tests and for reproducible demo data."""

    def __init__(self, moment: datetime) -> None:
        self._moment = _naive_utc(moment)
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._moment

    def monotonic(self) -> float:
        return self._monotonic

    def set(self, moment: datetime) -> None:
        self._monotonic += max((_naive_utc(moment) - self._moment).total_seconds(), 0.0)
        self._moment = _naive_utc(moment)

    def advance(self, delta: timedelta) -> None:
        self.set(self._moment + delta)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def school_today(now: datetime) -> date:
    """The date at the school (Europe/London) at the naive UTC moment `now`."""
    return now.replace(tzinfo=UTC).astimezone(SCHOOL_TIME).date()


_ENGINE_CLOCKS: weakref.WeakKeyDictionary[Engine, Clock] = weakref.WeakKeyDictionary()


def bind_clock(engine: Engine, clock: Clock) -> None:
    """Every session opened on `engine` tells the time by `clock`."""
    _ENGINE_CLOCKS[engine] = clock


def clock_of(session: Session) -> Clock:
    """The clock of the app (or command) that opened `session`."""
    clock = session.info.get("clock")
    if clock is not None:
        return clock
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        return _ENGINE_CLOCKS[engine]
    except KeyError:
        raise RuntimeError(
            "This database session has no clock: open it on an engine passed to bind_clock()"
        ) from None


def unix_seconds(moment: datetime) -> int:
    """Whole seconds since 1970 for the naive UTC `moment` (for signed, expiring cookies)."""
    return int(moment.replace(tzinfo=UTC).timestamp())
