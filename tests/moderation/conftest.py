"""The fixed fictional register the screening tests use: names that collide with common words."""

from __future__ import annotations

import pytest

from portal.moderation.screening import (
    DEFAULT_BANNED,
    DEFAULT_SUSPECT,
    RegisterName,
    Screener,
)

REGISTER = (
    RegisterName("Will", "Bennett", "pupil", "Year 4, Oak class"),
    RegisterName("Olivia", "Bennett", "pupil", "Year 4, Oak class"),
    RegisterName("Grace", "Okafor", "pupil", "Year 2, Ash class"),
    RegisterName("Hope", "Taylor", "pupil", "Year 6, Elm class"),
    RegisterName("Maya", "Patel", "pupil", "Year 3, Birch class"),
    RegisterName("Jack", "Robinson", "pupil", "Year 1, Ash class"),
    RegisterName("Zoë", "O'Neill", "pupil", "Year 3, Birch class"),
    RegisterName("Ibrahim", "Hassan", "pupil", "Year 5, Rowan class"),
    RegisterName("Amara", "Okafor", "staff", "Class teacher"),
    RegisterName("Daniel", "Hughes", "staff", "Head teacher"),
    RegisterName("Sarah", "Lee", "staff", "Office staff"),
)


@pytest.fixture(scope="session")
def screener() -> Screener:
    return Screener(REGISTER, banned=DEFAULT_BANNED, suspect=DEFAULT_SUSPECT)
