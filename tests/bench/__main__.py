"""`python -m tests.bench`: seed a fresh database per engine, time the pages, then load the server.

    .venv/bin/python -m tests.bench [--cases 250000] [--db sqlite|postgresql|both] [--quick]

Prints figures only; nothing here asserts on a timing. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import secrets
import time
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import func, select
from sqlmodel import Session

from portal.clock import SystemClock, school_today
from portal.complaints import services
from portal.complaints.models import Complaint, ComplaintMessage
from portal.complaints.seed import seed_cases
from portal.config import Settings
from portal.db import make_engine
from portal.history import HistoryEvent
from tests.bench import journey
from tests.bench.databases import BENCH_DIR, BenchDatabase, fresh_database
from tests.bench.inprocess import measure_in_process
from tests.bench.load import production_env, run_load, uvicorn_server
from tests.bench.report import LOAD_HEADER, TIMING_HEADER, load_average, machine

BENCH_SECRET = secrets.token_urlsafe(48)
CLOCK = SystemClock()
REDIS_URL = "redis://127.0.0.1:6379/15"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Benchmarks for the Complaints Procedure on SQLite and PostgreSQL.",
    )
    parser.add_argument(
        "--cases",
        type=int,
        help="cases to seed (default 250,000; quick 20,000; 0 for the consent rows alone)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="20,000 cases, 5 s runs: a smoke run")
    parser.add_argument("--requests", type=int, help="timed requests per page (default 200)")
    parser.add_argument("--concurrency", type=int, default=50, help="simultaneous parents")
    parser.add_argument("--seconds", type=float, help="length of each load run (default 30)")
    parser.add_argument("--health-seconds", type=float, help="length of the /healthz run (10)")
    parser.add_argument("--no-load", action="store_true", help="skip the uvicorn load runs")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument(
        "--requests-at-once",
        type=int,
        help="PORTAL_REQUESTS_AT_ONCE for the server (default: the portal's own default)",
    )
    parser.add_argument(
        "--server",
        choices=("portal", "uvicorn"),
        default="portal",
        help="portal serve (a socket per worker, the default) or plain uvicorn --workers",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the load runs' client for the submit and /healthz runs: raw (lean, uvloop; the "
        "default) or httpx (as measured before 6 December 2026)",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="serve with the access log on (off by default)"
    )
    parser.add_argument(
        "--rate-limit-storage",
        default=REDIS_URL,
        help=f"the server's rate-limit store (default {REDIS_URL}, emptied first; several "
        "workers need a shared one); memory:// for one worker",
    )
    parser.add_argument(
        "--only-load", action="store_true", help="skip the in-process timings of the pages"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="time only the in-process rows whose name contains TEXT (repeatable; /healthz "
        "is always timed)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = 20_000 if args.quick else 250_000
    args.requests = args.requests or (50 if args.quick else 200)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    args.health_seconds = args.health_seconds or (5.0 if args.quick else 10.0)
    args.warmup_requests = 10 if args.quick else 20
    args.warmup_seconds = 1.0 if args.quick else 3.0
    return args


def bench_settings(db: BenchDatabase) -> Settings:
    """Production settings except the per-address submission limit: in-process, every request
    comes from one address (the load runs keep the real limit and vary the address instead)."""
    return Settings(
        environment="production",
        database_url=db.url,
        secret_key=BENCH_SECRET,
        attachments_dir=BENCH_DIR / "attachments",
        smtp_host="",
        rate_limit_storage="memory://",
        submissions_per_hour_per_address=1_000_000,
        _env_file=None,
    )


def row_counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.database_url, CLOCK)
    with Session(engine) as session:
        counts = {
            "complaint": session.scalar(select(func.count()).select_from(Complaint)) or 0,
            "active": session.scalar(
                select(func.count()).select_from(Complaint).where(Complaint.is_active.is_(True))
            )
            or 0,
            "complaint_message": session.scalar(select(func.count()).select_from(ComplaintMessage))
            or 0,
            "history_event": session.scalar(select(func.count()).select_from(HistoryEvent)) or 0,
        }
    engine.dispose()
    return counts


def bench_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"load_average_start": load_average()}
    with fresh_database(kind) as db:
        print(f"\n=== {db.label}: {db.version} ===", flush=True)
        print(f"load average (1, 5, 15 min): {result['load_average_start']}", flush=True)
        result["database"] = db.version
        settings = bench_settings(db)

        print(f"seeding {args.cases:,} cases ...", flush=True)
        engine = make_engine(settings.database_url, CLOCK)
        started = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            seed_cases(session, settings, args.cases, progress=lambda line: print(line, flush=True))
        result["seed_seconds"] = round(time.perf_counter() - started, 1)
        engine.dispose()
        result["rows"] = row_counts(settings)
        print(
            f"seeded in {result['seed_seconds']} s; rows: "
            + ", ".join(f"{k} {v:,}" for k, v in result["rows"].items()),
            flush=True,
        )

        if not args.only_load:
            print(f"\ntiming pages in-process ({args.requests} requests each) ...", flush=True)
            timings = measure_in_process(
                settings, args.requests, args.warmup_requests, random.Random(7), only=args.only
            )
            result["in_process"] = [t.as_dict() for t in timings]
            table = "\n".join([TIMING_HEADER, *(t.row() for t in timings)])
            print(table, flush=True)

        if not args.no_load:
            result["load"] = run_concurrency(db, settings, args)
        result["load_average_end"] = load_average()
        print(f"load average at the end: {result['load_average_end']}", flush=True)
    return result


def run_concurrency(db: BenchDatabase, settings: Settings, args: argparse.Namespace) -> Any:
    today = school_today(CLOCK.now())
    engine = make_engine(settings.database_url, CLOCK)
    needed = int(600 * (args.seconds + args.warmup_seconds)) + 1000
    categories = journey.categories_of(engine)
    drafts = journey.insert_drafts(engine, needed, categories, today, 10**7)
    engine.dispose()
    env = production_env(db.url, BENCH_SECRET, BENCH_DIR / "attachments", args.rate_limit_storage)
    if args.requests_at_once is not None:
        env["PORTAL_REQUESTS_AT_ONCE"] = str(args.requests_at_once)
    empty_rate_limits(args.rate_limit_storage)
    how = "portal serve" if args.server == "portal" else "uvicorn portal.main:app"
    print(
        f"\nload: {how}, {args.workers} workers, "
        f"{env.get('PORTAL_REQUESTS_AT_ONCE', 'default')} requests at once each, "
        f"rate limits in {args.rate_limit_storage}, {args.client} client, "
        "access log "
        f"{'on' if args.access_log else 'off'}, {args.concurrency} simultaneous clients, "
        f"{args.seconds:.0f} s per run ({args.health_seconds:.0f} s for /healthz) ...",
        flush=True,
    )
    # The lean client runs on uvloop too; httpx on asyncio's own loop, as it was measured before.
    run = uvloop.run if args.client == "raw" else asyncio.run
    with uvicorn_server(env, args.workers, args.server, args.access_log) as server:
        results = run(
            run_load(
                server,
                concurrency=args.concurrency,
                seconds=args.seconds,
                health_seconds=args.health_seconds,
                warmup=args.warmup_seconds,
                draft_tokens=drafts,
                categories=categories,
                today=today,
                client=args.client,
            )
        )
    print("\n".join([LOAD_HEADER, *(r.row() for r in results)]), flush=True)
    submit, _whole, health = results
    ratio = submit.per_second / health.per_second if health.per_second else 0.0
    cpu_ratio = submit.per_cpu_second / health.per_cpu_second if health.per_cpu_second else 0.0
    print(
        f"submissions per s / healthz requests per s = {submit.per_second:.1f} / "
        f"{health.per_second:.1f} = {ratio:.3f}\n"
        f"per second of server CPU: {submit.per_cpu_second:.1f} / "
        f"{health.per_cpu_second:.1f} = {cpu_ratio:.3f}",
        flush=True,
    )
    return {
        "runs": [r.as_dict() for r in results],
        "submit_to_healthz_ratio": round(ratio, 3),
        "submit_to_healthz_ratio_per_cpu": round(cpu_ratio, 3),
    }


def empty_rate_limits(url: str) -> None:
    """Every run starts with no attempts counted (its parents' addresses repeat between runs)."""
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()


def code_version() -> str:
    """Which code was measured: the migration head and a digest of the procedure's rules."""
    from alembic.script import ScriptDirectory

    from portal.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    rules = b"".join(
        path.read_bytes() for path in sorted(Path(services.__file__).parent.glob("*.py"))
    )
    return f"migration head {head}, services sha256 {hashlib.sha256(rules).hexdigest()[:12]}"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    facts = machine()
    facts["code"] = code_version()
    print(
        f"machine: {facts['cpus']} CPUs ({facts['cpu_model']}), {facts['memory']} RAM, "
        f"Python {facts['python']}, {facts['system']}",
        flush=True,
    )
    print(f"code: {facts['code']}", flush=True)
    print(f"cases: {args.cases:,}; databases: {args.db}", flush=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = {"machine": facts, "cases": args.cases, "databases": {}}
    for kind in kinds:
        results["databases"][kind] = bench_one(kind, args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
