"""Limits on how often something may be tried: sign-ins, case look-ups, complaint submissions.

Every limit is counted *before* the work it guards. `attempt` adds the attempt and answers, in one
atomic step of the limiter's storage, whether it was still within the limit. Testing first and
counting after the work lets a burst of parallel requests all pass the test before any of them is
counted; counting first means at most `amount` attempts are ever worked on in a window, however
many arrive at once. The price is that an attempt that then succeeds has still used up one try.

The counts live in the app's limiter (`app.state.limiter`, a moving window). Memory storage is
per process: with several workers, `PORTAL_RATE_LIMIT_STORAGE` must name a shared store (Redis),
whose moving window is also counted atomically.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.strategies import RateLimiter


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


class Throttle:
    """Counts attempts in a limiter; the only code in the portal that touches the counts."""

    def __init__(self, limiter: RateLimiter) -> None:
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
