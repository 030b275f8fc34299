"""`portal serve`: uvicorn, with several workers that share the connections evenly.

A keep-alive connection stays with the worker that accepted it, so how connections are shared out
decides how the work is. `uvicorn --workers N` hands one listening socket to every worker, and
whichever worker's event loop wakes first accepts every connection waiting (asyncio takes up to
100 at a time): a class of parents opening the form at 8:45 can land mostly on one worker while
the other idles. One socket per worker with SO_REUSEPORT is better but still a lottery: the
kernel picks by a hash of the addresses, and 50 connections were seen split 18 to 32, so the
parents on the busier worker waited nearly twice as long.

Here the parent process opens one listening socket and passes it to every worker. Each worker
accepts one connection at a time itself, and the workers keep their counts of open connections
in shared memory: a worker with more open connections than another leaves a waiting connection
for a moment (`LEAVE_FOR` per connection it is ahead) so that the worker with fewer takes it;
if that one is too busy to, it takes it after all. Fifty parents split 25 and 25. The parent
process only starts the workers, restarts one that dies, and stops them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from portal.clock import SystemClock

log = logging.getLogger("portal.serve")
CLOCK = SystemClock()

APP = "portal.main:app"
RESTART_PAUSE = 1.0  # seconds: a worker that dies at once is not restarted in a tight loop
STOP_WAIT = 30.0  # seconds for a worker to finish its requests before it is killed
# How long an idle keep-alive connection stays open. Longer than the proxy keeps its idle
# connections to the portal (deploy/nginx: 50 s), so the portal never closes one at the moment
# the proxy sends a request on it: a POST lost that way is answered 502 (nginx does not resend
# it), and a client talking to the portal directly sees the connection dropped. uvicorn's own
# default (5 s) equals httpx's and is shorter than nginx's 60 s.
KEEP_ALIVE_SECONDS = 75
# A worker ahead of another by N open connections leaves a waiting one N times this long (at most
# LEAVE_AT_MOST) for the other to take; a busy event loop may not look for a few milliseconds.
LEAVE_FOR = 0.01
LEAVE_AT_MOST = 0.1
BACKLOG = 2048


def uvicorn_options(access_log: bool, log_config: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's own proxy-header handling is off: the portal reads X-Forwarded-For itself."""
    return {
        "proxy_headers": False,
        "server_header": False,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "access_log": access_log,
        "log_config": log_config,
    }


def serve(
    *,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    access_log: bool,
    log_config: dict[str, Any],
) -> None:
    options = uvicorn_options(access_log, log_config)
    if reload or workers <= 1:
        uvicorn.run(APP, host=host, port=port, reload=reload, **options)
        return
    Supervisor(host, port, workers, options).run()


def settle() -> None:
    """Once the app has started, what it holds (modules, classes, the database's and the
    templates' structures: almost every object in the process) lives as long as the process.
    Moved out of the collector's reach, a full collection no longer scans them all: in-process
    that took a quarter of a second, during which the worker answered no one (docs/performance.md,
    "The rush an eighth time"). New objects are collected as usual."""
    gc.collect()
    gc.freeze()


def settle_after_start(app: Any) -> Any:
    """The served app (`portal.main`) settles its memory (`settle`) once its own start-up is
    done, in each worker. Not in `create_app`: the test suite builds many apps in one process,
    and what a frozen app leaves behind in cycles would never be freed."""
    start_up = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with start_up(served) as state:
            settle()
            yield state

    app.router.lifespan_context = lifespan
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket every worker accepts on (the parent opens it: a taken port fails at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _worker(listener: socket.socket, counts: Any, slot: int, options: dict[str, Any]) -> None:
    """One worker: `counts` is every worker's number of open connections (shared memory)."""
    config = uvicorn.Config(APP, **options)
    EvenShareServer(config, listener, counts, slot).run()


class EvenShareServer(uvicorn.Server):
    """A uvicorn server that accepts from the shared socket itself, taking its fair share."""

    def __init__(
        self, config: uvicorn.Config, listener: socket.socket, counts: Any, slot: int
    ) -> None:
        super().__init__(config)
        self.listener = listener
        self.counts = counts
        self.slot = slot
        self._accepting: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's start-up, and no listener of its own
        if self.started:
            self._accepting = asyncio.ensure_future(self._take_connections())

    async def on_tick(self, counter: int) -> bool:
        self.counts[self.slot] = len(self.server_state.connections)  # closed ones too
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        await super().shutdown(sockets=[self.listener])

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def _take_connections(self) -> None:
        loop = asyncio.get_running_loop()
        self.listener.setblocking(False)
        while True:
            await _readable(loop, self.listener)
            mine = len(self.server_state.connections)
            self.counts[self.slot] = mine
            ahead = mine - min(self.counts)
            if ahead > 0:
                await asyncio.sleep(min(LEAVE_FOR * ahead, LEAVE_AT_MOST))
            try:
                connection, _address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            except OSError as error:  # out of file descriptors, say: try again shortly
                log.warning("could not accept a connection: %s", error)
                await asyncio.sleep(0.1)
                continue
            connection.setblocking(False)
            if connection.family in (socket.AF_INET, socket.AF_INET6):
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                await loop.connect_accepted_socket(self._protocol, connection)
            except OSError as error:  # the client went away meanwhile
                log.debug("connection closed before it was served: %s", error)
                connection.close()
            self.counts[self.slot] = len(self.server_state.connections)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


class Supervisor:
    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host = host
        self.port = port
        self.workers = workers
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False
        self.listener: socket.socket | None = None
        # Each worker's open connections, in shared memory: how they share new ones out.
        self.counts = self.context.Array("i", workers, lock=False)

    def _start(self, slot: int) -> multiprocessing.process.BaseProcess:
        self.counts[slot] = 0
        process = self.context.Process(
            target=_worker, args=(self.listener, self.counts, slot, self.options), daemon=False
        )
        process.start()
        return process

    def _stop(self, _signal: int, _frame: object) -> None:
        self.stopping = True

    def run(self) -> None:
        # Fail at once, in the parent, when the address is taken by something else.
        self.listener = listening_socket(self.host, self.port)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        print(
            f"portal: {self.workers} workers on http://{self.host}:{self.port} "
            "(one socket, connections shared evenly)",
            flush=True,
        )
        self.processes = [self._start(slot) for slot in range(self.workers)]
        try:
            while not self.stopping:
                time.sleep(0.2)
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self.stopping:
                        log.warning(
                            "worker %s stopped (%s); restarting", process.pid, process.exitcode
                        )
                        time.sleep(RESTART_PAUSE)
                        self.processes[index] = self._start(index)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        deadline = CLOCK.monotonic() + STOP_WAIT
        for process in self.processes:
            process.join(max(0.0, deadline - CLOCK.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
