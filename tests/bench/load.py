"""Many parents at once against the real server: uvicorn, one worker, on a free local port.

The load comes from one Python process (one connection per simulated parent) on the same machine,
so the server and the load generator share the CPUs. Latencies are measured by the client: they
include queueing in the server while it is busy with the other parents.

The final submit and /healthz runs use `raw_http.RawClient` by default (uvloop, requests written by
hand), so that the client takes as little CPU from the server as it can; `client="httpx"` gives the
earlier httpx client for comparison. The whole-form run always uses httpx (cookies, redirects).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from portal.config import PROJECT_ROOT
from tests.bench import journey
from tests.bench.raw_http import ConnectionClosed, RawClient
from tests.bench.report import LoadResult

# One TLS context for every client: building one per client costs ~50 ms of CPU each (and the
# bench only speaks plain HTTP to localhost anyway).
TLS = ssl.create_default_context()


# What `portal serve` needs in production to start: the bench speaks plain HTTP to 127.0.0.1, but
# the portal refuses an http:// base URL in production (links in emails, secure cookies).
BENCH_BASE_URL = "https://portal.bench.example"


def production_env(
    database_url: str, secret_key: str, attachments_dir: Path, rate_limit_storage: str
) -> dict[str, str]:
    """The environment of a production server for a benchmark (no mail server)."""
    return {
        "PORTAL_ENVIRONMENT": "production",
        "PORTAL_BASE_URL": BENCH_BASE_URL,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": secret_key,
        "PORTAL_ATTACHMENTS_DIR": str(attachments_dir),
        "PORTAL_RATE_LIMIT_STORAGE": rate_limit_storage,
        "PORTAL_SMTP_HOST": "",
    }


class _LocalServer(httpx.AsyncHTTPTransport):
    """Speaks plain HTTP to the bench's server on 127.0.0.1 for https:// addresses.

    The production server's cookies are Secure. Browsers send those to http://127.0.0.1 (a secure
    origin to them); httpx only sends them to https:// addresses. So the clients use
    https://127.0.0.1:PORT, and this transport sends each request over plain HTTP."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http")
        return await super().handle_async_request(request)


def local_client(server: Server, **options: object) -> httpx.AsyncClient:
    """One simulated person's client of the bench's server: one connection, cookies kept."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(
        base_url=server.base_url.replace("http://", "https://", 1),
        transport=_LocalServer(limits=limits, verify=TLS),
        **options,  # type: ignore[arg-type]
    )


def raw_client(server: Server, timeout: httpx.Timeout | None = None) -> RawClient:
    """One simulated person's lean client of the bench's server (see raw_http)."""
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    return RawClient(host, int(port), timeout=timeout.read or 60.0 if timeout else 60.0)


CLIENTS = {"raw": raw_client, "httpx": local_client}


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User plus system CPU time so far of the server process and its worker processes."""
        return sum(_cpu_ticks(pid) for pid in _process_tree(self.process.pid)) / os.sysconf(
            "SC_CLK_TCK"
        )


def _process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(grandchild for child in children for grandchild in _process_tree(int(child)))]


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def uvicorn_server(
    env: dict[str, str], workers: int = 1, server: str = "portal", access_log: bool = False
) -> Iterator[Server]:
    """The portal as production runs it, trusting X-Forwarded-For from 127.0.0.1
    (PORTAL_TRUSTED_PROXIES), uvicorn's own proxy headers off.

    `server`: "portal" is `portal serve` (one socket, connections shared evenly by the workers);
    "uvicorn" is plain `uvicorn --workers N` (one socket shared by the workers), for comparison.
    """
    port = free_port()
    if server == "portal":
        command = [
            sys.executable,
            "-m",
            "portal.cli",
            "serve",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--access-log" if access_log else "--no-access-log",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "portal.main:app",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--access-log" if access_log else "--no-access-log",
            "--log-level=warning",
            "--no-proxy-headers",
        ]
    env = {"PORTAL_TRUSTED_PROXIES": "127.0.0.1", **env}
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **env})
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn stopped with exit code {process.returncode}")
            try:
                if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Outcome:
    ok: bool
    error: str = ""


class Recorder:
    """Collects the latencies of requests that end inside the recorded window."""

    def __init__(self, loop: asyncio.AbstractEventLoop, start: float, stop: float) -> None:
        self.loop = loop
        self.start = start
        self.stop = stop
        self.latencies: list[float] = []

    def __call__(self, latency: float) -> None:
        if self.start <= self.loop.time() <= self.stop:
            self.latencies.append(latency)

    @property
    def over(self) -> bool:
        """Past the end: a journey stops between requests rather than being cut off mid-way."""
        return self.loop.time() > self.stop


async def drive(
    server: Server,
    name: str,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    action: Callable[[httpx.AsyncClient, object, int, Recorder], Awaitable[Outcome]],
    setup: Callable[[httpx.AsyncClient, int], Awaitable[object]] | None = None,
    unit: str = "requests",
    client: str = "httpx",
) -> LoadResult:
    """`concurrency` simulated people, each with its own connection, for `seconds`.

    Clients are made and set up first, then everyone runs `warmup` seconds unrecorded and
    `seconds` recorded: requests and submissions count when they end inside that window.
    """
    counter = iter(range(10**9))
    errors: Counter[str] = Counter()
    done = {"ok": 0}
    loop = asyncio.get_running_loop()
    timeout = httpx.Timeout(60.0)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(CLIENTS[client](server, timeout=timeout))  # type: ignore[operator]
            for _ in range(concurrency)
        ]
        states = await asyncio.gather(
            *(setup(client, n) if setup else _nothing() for n, client in enumerate(clients))
        )
        measure_from = loop.time() + warmup
        stop_at = measure_from + seconds
        record = Recorder(loop, measure_from, stop_at)
        cpu = {"before": 0.0, "after": 0.0}

        async def mark(key: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - loop.time()))
            cpu[key] = server.cpu_seconds()

        async def person(client: httpx.AsyncClient, state: object) -> None:
            while loop.time() < stop_at:
                try:
                    outcome = await action(client, state, next(counter), record)
                except (httpx.HTTPError, ConnectionClosed) as error:
                    outcome = Outcome(False, error=type(error).__name__)
                if not measure_from <= loop.time() <= stop_at:
                    continue
                if outcome.ok:
                    done["ok"] += 1
                else:
                    errors[outcome.error or "error"] += 1

        await asyncio.gather(
            mark("before", measure_from),
            mark("after", stop_at),
            *(person(c, s) for c, s in zip(clients, states, strict=True)),
        )
        cpu_share = (cpu["after"] - cpu["before"]) / seconds * 100
        latencies = record.latencies
    return LoadResult(
        name=name,
        seconds=seconds,
        ok=done["ok"],
        errors=sum(errors.values()),
        latencies=latencies,
        server_cpu=cpu_share,
        error_kinds=dict(errors),
        unit=unit,
        requests=len(latencies),
    )


async def _nothing() -> None:
    return None


def _address(number: int) -> str:
    """A different parent's address for each submission, as the proxy would pass it on."""
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


async def _csrf(client: httpx.AsyncClient | RawClient, _number: int) -> tuple[str, str]:
    page = await client.get(journey.FIRST_PAGE)
    token = journey.csrf_from(page.text) or ""
    if isinstance(client, RawClient):
        return _cookie(page.headers.get("set-cookie", ""), "portal_csrf"), token
    return client.cookies.get("portal_csrf") or "", token


def _cookie(set_cookie: str, name: str) -> str:
    """A cookie's value from Set-Cookie header lines (one cookie per line)."""
    for line in set_cookie.split("\n"):
        key, _, rest = line.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    return ""


def submit_action(draft_tokens: list[str]) -> Callable[..., Awaitable[Outcome]]:
    """The form's last step with a finished draft: one POST with the CSRF token."""
    pool = iter(draft_tokens)

    async def submit(
        client: httpx.AsyncClient, state: object, number: int, record: Recorder
    ) -> Outcome:
        csrf_cookie, token = state  # type: ignore[misc]
        draft = next(pool, None)
        if draft is None:
            await asyncio.sleep(0.01)
            return Outcome(False, error="prepared drafts used up")
        started = time.perf_counter()
        response = await client.post(
            journey.SUBMIT_PATH,
            data={"csrf_token": token, "website": ""},
            headers={
                "Cookie": f"portal_csrf={csrf_cookie}; portal_draft={draft}",
                "X-Forwarded-For": _address(number),
            },
        )
        record(time.perf_counter() - started)
        landed = response.status_code == 303 and response.headers.get("location", "").endswith(
            journey.DONE_PATH
        )
        return Outcome(landed, "" if landed else f"status {response.status_code}")

    return submit


def journey_action(categories: list[str], today) -> Callable[..., Awaitable[Outcome]]:  # type: ignore[no-untyped-def]
    """A whole form as a browser does it: 19 requests, a new parent (cookies, address) each time."""

    async def whole_form(
        client: httpx.AsyncClient, _state: object, number: int, record: Recorder
    ) -> Outcome:
        client.cookies.clear()
        headers = {"X-Forwarded-For": _address(number)}

        async def timed(method: str, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            response = await client.request(method, path, data=data, headers=headers)
            record(time.perf_counter() - started)
            return response

        page = await timed("GET", journey.FIRST_PAGE)
        token = journey.csrf_from(page.text)
        if not token:
            return Outcome(False, f"first page {page.status_code}")
        given = journey.answers(5_000_000 + number, categories, today)
        for path, data in journey.form_posts(given):
            if record.over:
                return Outcome(False, "stopped at the end of the run")
            response = await timed("POST", path, {**data, "csrf_token": token})
            where = response.headers.get("location", "")
            if response.status_code != 303 or not where:
                return Outcome(False, f"{path} {response.status_code}")
            page = await timed("GET", where)
        ok = page.status_code == 200 and str(page.url).endswith(journey.DONE_PATH)
        return Outcome(ok, "" if ok else f"done page {page.status_code}")

    return whole_form


async def healthz_action(
    client: httpx.AsyncClient, _state: object, _number: int, record: Recorder
) -> Outcome:
    started = time.perf_counter()
    response = await client.get("/healthz")
    record(time.perf_counter() - started)
    ok = response.status_code == 200
    return Outcome(ok, "" if ok else f"status {response.status_code}")


async def run_load(
    server: Server,
    *,
    concurrency: int,
    seconds: float,
    health_seconds: float,
    warmup: float,
    draft_tokens: list[str],
    categories: list[str],
    today,  # type: ignore[no-untyped-def]
    client: str = "raw",
) -> list[LoadResult]:
    results = [
        await drive(
            server,
            f"{concurrency} parents, final submit POST",
            concurrency=concurrency,
            seconds=seconds,
            warmup=warmup,
            setup=_csrf,
            action=submit_action(draft_tokens),
            unit="submissions",
            client=client,
        ),
        await drive(
            server,
            f"{concurrency} parents, whole form (19 requests each)",
            concurrency=concurrency,
            seconds=seconds,
            warmup=warmup,
            action=journey_action(categories, today),
            unit="submissions",
        ),
        await drive(
            server,
            f"{concurrency} clients, GET /healthz",
            concurrency=concurrency,
            seconds=health_seconds,
            warmup=warmup,
            action=healthz_action,
            client=client,
        ),
    ]
    return results
