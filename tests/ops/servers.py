"""Real processes for the fault tests: the portal served by uvicorn, parents sending complaints
over HTTP, and the checks that nothing a parent sent was lost."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from portal.complaints.models import Attachment, Complaint
from portal.history import HistoryEvent
from tests.bench import journey
from tests.bench.load import free_port
from tests.clocks import TERM_DATES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n" + b"% evidence\n" * 2000 + b"%%EOF\n"
REFERENCE = re.compile(r"\b([A-Z]-[A-Z0-9]{4}-[A-Z0-9]{3})\b")


def portal_env(database_url: str, attachments: Path, secret: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENVIRONMENT": "test",
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_ATTACHMENTS_DIR": str(attachments),
        "PORTAL_SECRET_KEY": secret,
        "PORTAL_SMTP_HOST": "",
        "PORTAL_TERM_DATES_FILE": str(TERM_DATES),
        "PORTAL_SUBMISSIONS_PER_HOUR_PER_ADDRESS": "100000",
        **extra,
    }


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]


@contextmanager
def served_portal(env: dict[str, str], workers: int = 1) -> Iterator[Served]:
    """`portal serve` in its own process; with one worker, the process is the worker."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "portal.cli",
        "serve",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--workers={workers}",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"portal serve stopped with exit code {process.returncode}")
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("portal serve did not answer /healthz within 60 s")
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Tally:
    """What parents saw: references shown, calm try-again pages, anything else."""

    references: list[str] = field(default_factory=list)
    try_again: int = 0
    try_again_kept_answers: int = 0
    other: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    import html

    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def submit_once(
    client: httpx.Client, draft: str, tally: Tally, *, with_file: bool = False, retries: int = 0
) -> None:
    """One parent: (a file on the attachments page, then) the submit button, then the done page.
    A connection dropped by a killed server counts as neither a reference nor a page."""
    try:
        client.cookies.clear()
        first = _get(client, journey.FIRST_PAGE, tally, retries)
        token = journey.csrf_from(first.text) or ""
        client.cookies.set("portal_draft", draft, path="/complaints/new")
        if with_file:
            added = client.post(
                "/complaints/new/attachments",
                data={"csrf_token": token, "action": "continue"},
                files={"file": ("evidence.pdf", PDF, "application/pdf")},
            )
            if added.status_code != 303:
                _record(tally, added, kept=token in added.text)
                return
        sent = client.post(journey.SUBMIT_PATH, data={"csrf_token": token, "website": ""})
        for _ in range(retries):
            if not (sent.status_code == 503 and "Try again" in sent.text):
                break
            _record(tally, sent, kept=token in sent.text)
            time.sleep(0.5)  # the parent reads the page, then presses "Try again"
            sent = client.post(journey.SUBMIT_PATH, data=hidden_fields(sent.text))
        if sent.status_code != 303:
            _record(tally, sent, kept=token in sent.text)
            return
        done = _get(client, sent.headers["location"], tally, retries)
        found = REFERENCE.search(done.text)
        if done.status_code == 200 and found:
            with tally.lock:
                tally.references.append(found.group(1))
        else:
            _record(tally, done, kept=False)
    except httpx.HTTPError as error:
        with tally.lock:
            tally.other.append(f"connection: {type(error).__name__}")


def _get(client: httpx.Client, path: str, tally: Tally, reloads: int) -> httpx.Response:
    """A page; on the try-again page the parent waits a moment and reloads."""
    response = client.get(path)
    for _ in range(reloads):
        if response.status_code != 503:
            break
        _record(tally, response, kept=True)
        time.sleep(0.5)
        response = client.get(path)
    return response


def _record(tally: Tally, response: httpx.Response, *, kept: bool) -> None:
    with tally.lock:
        if response.status_code == 503 and "Sorry, that did not go through" in response.text:
            tally.try_again += 1
            tally.try_again_kept_answers += int(kept)
        else:
            tally.other.append(f"{response.request.url.path} {response.status_code}")


def parents(
    base_url: str,
    drafts: list[str],
    tally: Tally,
    *,
    threads: int,
    stop: threading.Event,
    with_file: bool = False,
    retries: int = 0,
) -> list[threading.Thread]:
    """`threads` parents sending one draft after another until the drafts or `stop` run out."""
    pool = iter(drafts)
    lock = threading.Lock()

    def one_parent() -> None:
        with httpx.Client(base_url=base_url, timeout=15, follow_redirects=False) as client:
            while not stop.is_set():
                with lock:
                    draft = next(pool, None)
                if draft is None:
                    return
                submit_once(client, draft, tally, with_file=with_file, retries=retries)

    started = [threading.Thread(target=one_parent, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    return started


def stored_references(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Complaint.reference)))


def cases_without_history(engine: Engine) -> list[str]:
    with Session(engine) as session:
        has_history = select(HistoryEvent.subject_id).where(
            HistoryEvent.subject_type == "complaint"
        )
        ids = session.scalars(select(Complaint.id)).all()
        recorded = set(session.scalars(has_history))
        return [str(case_id) for case_id in ids if str(case_id) not in recorded]


def attachment_mismatches(engine: Engine, folder: Path) -> tuple[set[str], set[str]]:
    """(files with no row, rows with no file), by storage key."""
    with Session(engine) as session:
        keys = set(session.scalars(select(Attachment.storage_key)))
    files = {path.name for path in folder.iterdir()} if folder.is_dir() else set()
    return files - keys, {key for key in keys if key not in files}


def count_cases(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Complaint)) or 0
