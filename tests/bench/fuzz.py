"""`python -m tests.bench.fuzz`: thousands of hostile requests at every route, then the figures.

    .venv/bin/python -m tests.bench.fuzz [--requests 5000] [--seed 1] [--db sqlite|postgresql]

A fresh migrated database and attachments folder; a school with staff, cases in every state and
files named in other scripts (see tests/hostile.py); four browsers (nobody, an admin, office, the
chair) sending hostile values to every GET and POST route in turn. After every round over the
routes it looks for half-written rows and orphan files. Prints the figures that go in
docs/security.md and exits 1 if any request answered 5xx or anything was left half-written.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from sqlmodel import Session

from portal.app import create_app
from portal.config import Settings
from tests.bench.databases import fresh_database
from tests.clocks import TERM_DATES, fixed_test_clock
from tests.hostile import (
    ROLES,
    RandomDraw,
    build_world,
    close_world,
    plan_request,
    portal_routes,
    problems,
    response_problem,
    send,
    signed_in_roles,
)

SECRET = "fuzz-secret-key-" + "x" * 40


class _LastError(logging.Handler):
    """Keeps where the last unhandled error was raised, to print beside the request."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.where = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = traceback.extract_tb(error.__traceback__)
            ours = [f for f in frames if "/portal/" in f.filename] or frames
            last = ours[-1]
            self.where = (
                f"{type(error).__name__}: {str(error).splitlines()[0][:160]} "
                f"at {last.filename.split('/portal/')[-1]}:{last.lineno} ({last.name})"
            )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fuzz", description=__doc__)
    parser.add_argument("--requests", type=int, default=5000, help="hostile requests (5,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed, for a repeatable run")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    return parser.parse_args(argv)


def _fast_hashing() -> None:
    """Tiny Argon2 costs, as in the test suite: the fuzz run is about the routes, not hashing."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from portal.accounts import services

    services.password_hash = PasswordHash(
        (Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)
    )
    services._UNKNOWN_USER_HASH = services.password_hash.hash("unknown-user")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    _fast_hashing()
    folder = Path(tempfile.mkdtemp(prefix="portal-fuzz-"))
    try:
        with fresh_database(args.db) as database:
            return _run(args, database.url, database.version, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, url: str, version: str, folder: Path) -> int:
    settings = Settings(
        environment="test",
        database_url=url,
        attachments_dir=folder / "attachments",
        secret_key=SECRET,
        smtp_host="",
        rate_limit_storage="memory://",
        term_dates_file=TERM_DATES,
        _env_file=None,
    )
    app = create_app(settings, fixed_test_clock())
    with Session(app.state.engine, expire_on_commit=False) as session:
        world = build_world(app, session, settings)
    routes = portal_routes(app)
    draw = RandomDraw(args.seed)
    last_error = _LastError()
    portal_log = logging.getLogger("portal")
    portal_log.addHandler(last_error)
    portal_log.propagate = False  # 5xx are counted and printed below, not logged twice
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    half_written: list[str] = []
    rounds = 0
    started = time.perf_counter()
    try:
        while world.requests < args.requests:
            rounds += 1
            for shape in routes:
                for role in ROLES:
                    plan = plan_request(draw, shape, world, role)
                    response = send(world, plan)
                    statuses[response.status_code] += 1
                    if problem := response_problem(plan, response):
                        if response.status_code >= 500:
                            problem += f"\n      {last_error.where}"
                        server_errors.append(problem)
            half_written += [f"round {rounds}: {p}" for p in problems(world)]
        still_signed_in = signed_in_roles(world)
    finally:
        close_world(world)
        app.state.engine.dispose()
    seconds = time.perf_counter() - started
    five_xx = sum(count for status, count in statuses.items() if status >= 500)
    orphan_files = sum("file without a row" in p for p in half_written)
    print(f"Fuzz run on {version}, seed {args.seed}")
    print(f"  routes fuzzed:          {len(routes)} (GET and POST, x {len(ROLES)} roles)")
    print(f"  requests:               {world.requests:,} in {seconds:.0f} s")
    print(f"  responses 5xx:          {five_xx}")
    print(f"  half-written rows:      {len(half_written) - orphan_files}")
    print(f"  orphan files:           {orphan_files}")
    print(f"  staff still signed in:  {', '.join(still_signed_in)}")
    print(
        "  status codes:           " + ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items()))
    )
    for line in (server_errors + half_written)[:30]:
        print("  !", line)
    return 1 if five_xx or half_written else 0


if __name__ == "__main__":
    sys.exit(main())
