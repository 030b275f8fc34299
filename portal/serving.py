"""`portal serve`: uvicorn, with several workers that share the load evenly.

`uvicorn --workers N` opens one listening socket and hands it to every worker; whichever worker's
event loop wakes first accepts every connection waiting (asyncio accepts up to 100 at a time), so
a burst of keep-alive connections, a class of parents opening the form at 8:45, can land mostly
on one worker while the other idles, and stays there for the life of each connection. Here each
worker binds its own socket to the same address with SO_REUSEPORT, and the kernel spreads new
connections across the sockets by a hash of their addresses: evenly, whoever is awake. The parent
process only starts the workers, restarts one that dies, and stops them on SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any

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
    import uvicorn

    options = uvicorn_options(access_log, log_config)
    if reload or workers <= 1:
        uvicorn.run(APP, host=host, port=port, reload=reload, **options)
        return
    Supervisor(host, port, workers, options).run()


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = reuse_port_socket(host, port)
    config = uvicorn.Config(APP, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.host = host
        self.port = port
        self.workers = workers
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.stopping = False

    def _start(self) -> multiprocessing.process.BaseProcess:
        process = self.context.Process(
            target=_worker, args=(self.host, self.port, self.options), daemon=False
        )
        process.start()
        return process

    def _stop(self, _signal: int, _frame: object) -> None:
        self.stopping = True

    def run(self) -> None:
        # Fail at once, in the parent, when the address is taken by something else.
        reuse_port_socket(self.host, self.port).close()
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        print(
            f"portal: {self.workers} workers on http://{self.host}:{self.port} "
            "(one socket each, SO_REUSEPORT)",
            flush=True,
        )
        self.processes = [self._start() for _ in range(self.workers)]
        try:
            while not self.stopping:
                time.sleep(0.2)
                for index, process in enumerate(self.processes):
                    if not process.is_alive() and not self.stopping:
                        log.warning(
                            "worker %s stopped (%s); restarting", process.pid, process.exitcode
                        )
                        time.sleep(RESTART_PAUSE)
                        self.processes[index] = self._start()
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
