"""The burst, in CI: 1,000 submissions from 100 parents at once against `portal serve
--workers 2` with the submission limit shared in a Redis of its own (tests/bench/burst.py, which
`make bench` also runs and prints figures from). Every submission that showed a reference is
stored, every submission showed one, and nothing answered 5xx. Only counts are asserted: how
long it took depends on the machine (the figures are in docs/performance.md)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.bench import burst

pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is missing"),
    pytest.mark.skipif(
        "faketime" in os.environ.get("LD_PRELOAD", ""),
        reason="under libfaketime the burst's own servers and clients never start their run "
        "(tried: no output in 5 minutes); the fake-date run covers submissions in "
        "tests/complaints and the other faults",
    ),
]


def test_a_burst_of_1000_submissions_loses_nothing_and_never_answers_5xx(capsys):
    database = (
        "postgresql"
        if os.environ.get("PORTAL_DATABASE_URL", "").startswith("postgresql")
        else "sqlite"
    )
    status = burst.main(["--database", database])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "lost 0, 5xx 0" in printed
    assert "cases stored 1000" in printed
