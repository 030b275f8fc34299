"""A burst: 1,000 submissions from 100 parents at once against `portal serve --workers 2`, with
the submission limit shared in Redis (a redis-server of our own on a spare port).

Each parent has its own address (X-Forwarded-For from the trusted proxy) and sends 10 finished
forms, exactly the hourly limit per address, so the limiter is asked 1,000 times and must say
yes every time. Counts every answer: 0 lost (every reference shown is stored, and every
submission shows one), 0 5xx. Run: `python -m tests.bench.burst [--database sqlite|postgresql]`
(`make bench` runs both); it prints the figures docs/performance.md quotes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from portal.clock import SystemClock
from portal.complaints.models import Complaint
from portal.db import make_engine
from portal.school.demo import create_demo_school
from tests.bench import journey
from tests.bench.databases import fresh_database
from tests.bench.load import free_port
from tests.clocks import TERM_DATES
from tests.ops import servers

PARENTS = 100
EACH = 10
REFERENCE = re.compile(r"\b([A-Z]-[A-Z0-9]{4}-[A-Z0-9]{3})\b")


def redis_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    import redis

    while True:
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


async def parent(
    client: httpx.AsyncClient,
    number: int,
    drafts: list[str],
    statuses: Counter[int],
    references: list[str],
    latencies: list[float],
) -> None:
    address = f"10.77.{number // 256}.{number % 256}"
    headers = {"X-Forwarded-For": address}
    for draft in drafts:
        client.cookies.clear()
        first = await client.get(journey.FIRST_PAGE, headers=headers)
        statuses[first.status_code] += 1
        token = journey.csrf_from(first.text) or ""
        client.cookies.set("portal_draft", draft, path="/complaints/new")
        started = time.perf_counter()
        sent = await client.post(
            journey.SUBMIT_PATH, data={"csrf_token": token, "website": ""}, headers=headers
        )
        latencies.append(time.perf_counter() - started)
        statuses[sent.status_code] += 1
        if sent.status_code != 303:
            continue
        done = await client.get(sent.headers["location"], headers=headers)
        statuses[done.status_code] += 1
        found = REFERENCE.search(done.text)
        if found:
            references.append(found.group(1))


async def burst(
    base_url: str, drafts: list[str]
) -> tuple[Counter[int], list[str], list[float], float]:
    statuses: Counter[int] = Counter()
    references: list[str] = []
    latencies: list[float] = []
    # Idle connections are let go well before the portal closes them (75 s), as a browser does.
    limits = httpx.Limits(max_connections=PARENTS * 2, keepalive_expiry=30)
    started = time.perf_counter()
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) for _ in range(PARENTS)
    ]
    try:
        await asyncio.gather(
            *(
                parent(
                    client,
                    number,
                    drafts[number * EACH : (number + 1) * EACH],
                    statuses,
                    references,
                    latencies,
                )
                for number, client in enumerate(clients)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    return statuses, references, latencies, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="portal-burst-") as scratch,
        fresh_database(args.database) as database,
    ):
        folder = Path(scratch)
        engine = make_engine(database.url, SystemClock())
        with Session(engine) as session:
            create_demo_school(session, TERM_DATES)
            session.commit()
        categories = journey.categories_of(engine)
        drafts = journey.insert_drafts(
            engine, PARENTS * EACH, categories, SystemClock().now().date(), 1
        )
        redis_process, redis_url = redis_server(folder)
        env = servers.portal_env(
            database.url,
            folder / "attachments",
            secrets.token_urlsafe(48),
            PORTAL_RATE_LIMIT_STORAGE=redis_url,
            PORTAL_TRUSTED_PROXIES="127.0.0.1",
            PORTAL_SUBMISSIONS_PER_HOUR_PER_ADDRESS=str(EACH),
            PORTAL_ENVIRONMENT="development",
        )
        try:
            with servers.served_portal(env, workers=2) as served:
                statuses, references, latencies, seconds = asyncio.run(
                    burst(served.base_url, drafts)
                )
        finally:
            redis_process.terminate()
            redis_process.wait()
        with Session(engine) as session:
            stored = set(session.scalars(select(Complaint.reference)))
            count = session.scalar(select(func.count()).select_from(Complaint)) or 0
        engine.dispose()
    shown = set(references)
    errors = sum(n for status, n in statuses.items() if status >= 500)
    lost = len(shown - stored) + (PARENTS * EACH - len(shown))
    latencies.sort()
    print(f"burst on {database.version}, portal serve --workers 2, Redis limiter")
    print(f"  {PARENTS} parents x {EACH} submissions = {PARENTS * EACH}")
    print(f"  references shown {len(shown)}, cases stored {count}, lost {lost}, 5xx {errors}")
    print(f"  answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"  submit POST: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"95th {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, "
        f"slowest {latencies[-1] * 1000:.0f} ms; whole burst {seconds:.1f} s "
        f"({PARENTS * EACH / seconds:.0f} submissions/s)"
    )
    return 0 if lost == 0 and errors == 0 and count == PARENTS * EACH else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
