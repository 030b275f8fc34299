"""PostgreSQL restarted while parents submit: a throwaway cluster of our own (never the machine's,
which other tests use), started with Debian's binaries on a spare port and stopped at the end.

Every submission that showed a reference is stored; the ones caught by the restart get the calm
"try again" page, and pressing its button sends the same answers through; the portal recovers
without a restart of its own (the pool pings each connection before use).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from portal.clock import SystemClock
from portal.db import make_engine
from portal.migrations import upgrade
from portal.school.demo import create_demo_school
from tests.bench import journey
from tests.bench.load import free_port
from tests.clocks import TERM_DATES
from tests.ops import servers

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run as `postgres` when we are root."""

    def __init__(self) -> None:
        self.bin = Path(BINARIES[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            *extra,
            action,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINARIES:
        pytest.skip("PostgreSQL server binaries are not installed (/usr/lib/postgresql/*/bin)")
    own = Cluster()
    try:
        own.create()
        own.pg_ctl("start")
        yield own
    finally:
        own.remove()


@pytest.mark.long
def test_postgresql_restarted_while_parents_submit_loses_nothing(cluster, tmp_path):
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE faults"))
    admin.dispose()
    url = cluster.url("faults")
    upgrade(url)
    engine = make_engine(url, SystemClock())
    with Session(engine) as session:
        create_demo_school(session, TERM_DATES)
        session.commit()
    categories = journey.categories_of(engine)
    drafts = journey.insert_drafts(engine, 200, categories, SystemClock().now().date(), 1)
    env = servers.portal_env(url, tmp_path / "attachments", "faults-secret-" + "z" * 40)
    tally = servers.Tally()
    stop = threading.Event()
    with servers.served_portal(env) as served:
        threads = servers.parents(served.base_url, drafts, tally, threads=6, stop=stop, retries=20)
        deadline = time.monotonic() + 30
        while len(tally.references) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = len(tally.references)
        cluster.pg_ctl("restart", "-m", "fast")
        deadline = time.monotonic() + 30
        while len(tally.references) < before + 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        health = httpx.get(f"{served.base_url}/healthz", timeout=5)
        assert served.process.poll() is None, "the portal itself was never restarted"

    stored = servers.stored_references(engine)
    engine.dispose()
    assert health.status_code == 200, "the portal recovered on its own"
    assert tally.other == [], "no 500 page, no lost connection, nothing but references"
    assert tally.try_again > 0, "some parents were caught by the restart"
    assert tally.try_again_kept_answers == tally.try_again
    assert len(tally.references) > before, "submissions went through after the restart"
    assert set(tally.references) <= stored
    assert len(stored) == len(set(tally.references)), "every stored case showed its reference"
