"""The test suite's time and term dates: fixed, so no test depends on the day it runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from portal.clock import FixedClock

# Wednesday 25 November 2026, 10:00 UTC: a school day in the autumn term.
TEST_NOW = datetime(2026, 11, 25, 10, 0)
TERM_DATES = Path(__file__).parent / "data" / "term-dates.toml"


def fixed_test_clock() -> FixedClock:
    return FixedClock(TEST_NOW)
