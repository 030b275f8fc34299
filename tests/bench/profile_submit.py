"""`python -m tests.bench.profile_submit`: where the time of the final "Send" goes.

    .venv/bin/python -m tests.bench.profile_submit [--db sqlite|postgresql] [--requests 300]
                                                   [--cases 5000] [--top 30] [--what submit|healthz]

Seeds a fresh database, prepares finished drafts, then sends `POST /complaints/new/submit`
in-process (the request run on this thread, so cProfile sees all of it) and prints the median
time per request and the functions that cost the most. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import yappi
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from portal.app import create_app
from portal.clock import SystemClock, school_today
from portal.complaints.seed import seed_cases
from portal.db import make_engine
from tests.bench import journey
from tests.bench.__main__ import bench_settings
from tests.bench.databases import fresh_database
from tests.databases import statements_sent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.profile_submit")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--what", choices=("submit", "healthz"), default="submit")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="also print the SQL statements one request sends, in order",
    )
    parser.add_argument(
        "--children",
        action="append",
        default=[],
        metavar="NAME",
        help="also print what each function called NAME spends its time in (repeatable)",
    )
    args = parser.parse_args()
    clock = SystemClock()
    with fresh_database(args.db) as db:
        settings = bench_settings(db)
        engine = make_engine(settings.database_url, clock)
        with Session(engine, expire_on_commit=False) as session:
            seed_cases(session, settings, args.cases, progress=lambda _line: None)
        today = school_today(clock.now())
        total = args.requests + 20
        categories = journey.categories_of(engine)
        tokens = journey.insert_drafts(engine, total, categories, today, 10**6)
        engine.dispose()
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as parent:
            first = parent.get(journey.FIRST_PAGE)
            csrf = journey.csrf_from(first.text) or ""
            cookie = parent.cookies.get("portal_csrf")

            def send(i: int) -> None:
                if args.what == "healthz":
                    parent.get("/healthz")
                    return
                response = parent.post(
                    journey.SUBMIT_PATH,
                    data={"csrf_token": csrf, "website": ""},
                    headers={"Cookie": f"portal_csrf={cookie}; portal_draft={tokens[i]}"},
                    follow_redirects=False,
                )
                assert response.status_code == 303, response.status_code

            for i in range(20):
                send(i)
            if args.statements:
                print_statements(app.state.engine, lambda: send(20))
            samples = []
            cpu_started = time.process_time()
            for i in range(21, 20 + args.requests // 2):
                started = time.perf_counter()
                send(i)
                samples.append(time.perf_counter() - started)
            cpu_per_request = (time.process_time() - cpu_started) / len(samples)
            # yappi sees every thread: the app runs on the test client's event loop thread and
            # in its thread pool, never on this one. CPU time, so waiting costs nothing.
            yappi.set_clock_type("cpu")
            yappi.start()
            for i in range(20 + args.requests // 2, total):
                send(i)
            yappi.stop()
        samples.sort()
        print(
            f"{args.db}: {args.what} median {statistics.median(samples) * 1000:.2f} ms, "
            f"p95 {samples[int(len(samples) * 0.95)] * 1000:.2f} ms over {len(samples)} "
            f"(not profiled), CPU {cpu_per_request * 1000:.2f} ms a request (this process: the app "
            f"and the test client); the next {total - 20 - len(samples)} profiled (CPU time):"
        )
        stats = yappi.get_func_stats()
        for order in ("ttot", "tsub"):
            stats.sort(order, "desc")
            print(f"\n-- by {order} --")
            for row in list(stats)[: args.top]:
                where = f"{row.module.split('site-packages/')[-1]}:{row.lineno} {row.name}"
                print(f"{row.ncall:>7} {row.ttot:8.3f} {row.tsub:8.3f}  {where[-110:]}")
        for name in args.children:
            for row in stats:
                if row.name != name:
                    continue
                print(f"\n-- inside {row.name} ({row.module}:{row.lineno}), {row.ttot:.3f} s --")
                for child in sorted(row.children, key=lambda c: c.ttot, reverse=True)[:15]:
                    where = f"{child.module.split('site-packages/')[-1]}:{child.lineno}"
                    print(f"{child.ncall:>7} {child.ttot:8.3f}  {child.name}  {where[-80:]}")
    return 0


def print_statements(engine: Engine, run: Callable[[], None]) -> None:
    """Run `run` once and print each statement it sends to the database (its start)."""
    sent = statements_sent(engine, run)
    print(f"{len(sent)} statements in one request:")
    for number, statement in enumerate(sent, 1):
        print(f"{number:>3}. {statement[:120]}")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
