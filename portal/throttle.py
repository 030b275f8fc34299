"""Limits on how often something may be tried: sign-ins, case look-ups, complaint submissions.

Every limit is counted *before* the work it guards. `attempt` adds the attempt and answers, in one
atomic step of the limiter's storage, whether it was still within the limit. Testing first and
counting after the work lets a burst of parallel requests all pass the test before any of them is
counted; counting first means at most `amount` attempts are ever worked on in a window, however
many arrive at once. The price is that an attempt that then succeeds has still used up one try.

The counts live in the app's limiter (`app.state.limiter`, a moving window). Memory storage is
per process: with several workers, `PORTAL_RATE_LIMIT_STORAGE` must name a shared store (Redis),
whose moving window is also counted atomically.

When that shared store stops answering, the limits carry on in this process's memory (a
`ResilientLimiter`): a logged warning, not a 500 on every sign-in and submission, and `/healthz`
says the limits are degraded until the store answers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.errors import ConfigurationError, StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

log = logging.getLogger("portal.throttle")
T = TypeVar("T")

# Seconds: how long a store that failed is left alone before it is tried again, and how long one
# call to it may take (a Redis that hangs must not hang a sign-in).
RETRY_SHARED_AFTER = 10.0
STORE_TIMEOUT = 1.0


@dataclass(frozen=True)
class Limit:
    """At most `item.amount` attempts per window, counted separately for each key in `scope`."""

    scope: str
    item: RateLimitItem

    @classmethod
    def per_hour(cls, scope: str, amount: int) -> Limit:
        return cls(scope, RateLimitItemPerHour(max(amount, 0)))

    @classmethod
    def per_minutes(cls, scope: str, amount: int, minutes: int) -> Limit:
        return cls(scope, RateLimitItemPerMinute(max(amount, 0), max(minutes, 1)))


class ResilientLimiter:
    """A moving-window limiter on the configured store, that falls back to this process's memory
    while the store fails (Redis stopped, unreachable, or its client not installed).

    The fallback is weaker, not absent: each worker counts on its own, so with N workers a
    visitor may get up to N times the limit until the shared store is back. That is the price of
    keeping sign-in and the complaint form working; the warning in the log and `/healthz` say it
    is being paid.
    """

    def __init__(self, storage_uri: str, monotonic: Callable[[], float]) -> None:
        self.monotonic = monotonic
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared: MovingWindowRateLimiter | None = None
        self.problem: str | None = None  # why the shared store is not used, while it is not
        self._retry_at = 0.0
        self._lock = threading.Lock()
        if storage_uri.strip().lower().startswith("memory://"):
            return
        options: dict[str, Any] = {"wrap_exceptions": True}
        if storage_uri.strip().lower().startswith(("redis://", "rediss://")):
            options |= {"socket_connect_timeout": STORE_TIMEOUT, "socket_timeout": STORE_TIMEOUT}
        try:
            self.shared = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        except ConfigurationError:
            # Never the message: it may quote the URL, password and all.
            self._give_up_for_now(
                "it cannot be used (is the Redis client installed? pip install -e "
                "'.[production]'; is the URL right?)",
                retry=False,
            )

    @property
    def kind(self) -> str:
        """`shared` (Redis), `in-process` (memory by choice) or `degraded` (the store failed)."""
        if self.problem is not None:
            return "degraded"
        return "shared" if self.shared is not None else "in-process"

    @property
    def storage(self) -> Any:
        """The store counting now (tests empty it between bursts)."""
        return (self.shared if self.kind == "shared" and self.shared else self.local).storage

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return self._use(lambda limiter: limiter.hit(item, *identifiers, cost=cost))

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return self._use(lambda limiter: limiter.test(item, *identifiers, cost=cost))

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self.local.clear(item, *identifiers)
        self._use(lambda limiter: limiter.clear(item, *identifiers))

    def check(self) -> bool:
        """Whether the shared store answers now (for `/healthz?deep=1`); True without one."""
        if self.shared is None:
            return self.problem is None
        try:
            return bool(self.shared.storage.check())
        except (StorageError, OSError):
            return False

    def _use(self, action: Callable[[RateLimiter], T]) -> T:
        shared = self.shared
        if shared is None or (self.problem is not None and self.monotonic() < self._retry_at):
            return action(self.local)
        try:
            result = action(shared)
        except StorageError as error:
            self._give_up_for_now(f"{error.storage_error.__class__.__name__}", retry=True)
            return action(self.local)
        if self.problem is not None:
            with self._lock:
                self.problem = None
            log.warning("rate limits: the shared store answers again; counting there again")
        return result

    def _give_up_for_now(self, why: str, *, retry: bool) -> None:
        with self._lock:
            first = self.problem is None
            self.problem = why
            self._retry_at = self.monotonic() + RETRY_SHARED_AFTER if retry else float("inf")
        if first:
            log.warning(
                "rate limits: the shared store (PORTAL_RATE_LIMIT_STORAGE) failed: %s; counting "
                "in this process until it answers (each worker counts on its own meanwhile)",
                why,
            )


class Throttle:
    """Counts attempts in a limiter; the only code in the portal that touches the counts."""

    def __init__(self, limiter: RateLimiter | ResilientLimiter) -> None:
        self.limiter = limiter

    def attempt(self, limit: Limit, *key: str) -> bool:
        """Count one attempt; False (and nothing counted) when the limit is already used up."""
        if limit.item.amount <= 0:
            return False
        return self.limiter.hit(limit.item, limit.scope, *key)

    def attempt_all(self, *checks: tuple[Limit, tuple[str, ...]]) -> Limit | None:
        """Count one attempt against each limit in turn; the first limit that refuses, or None.

        The counting stops at the first refusal, so a refused attempt never uses up the limits
        after it. The work may go ahead only when this returns None.
        """
        for limit, key in checks:
            if not self.attempt(limit, *key):
                return limit
        return None

    def reset(self, limit: Limit, *key: str) -> None:
        """Forget the attempts counted for `key` (after a successful sign-in, for example)."""
        self.limiter.clear(limit.item, limit.scope, *key)


def throttle_of(request: Request) -> Throttle:
    return Throttle(request.app.state.limiter)


def attempt(request: Request, limit: Limit, *key: str) -> bool:
    """Count this request's attempt against `limit` before doing the work; False means refuse."""
    return throttle_of(request).attempt(limit, *key)
