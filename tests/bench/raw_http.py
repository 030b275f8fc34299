"""A lean HTTP/1.1 client for the load runs: one keep-alive connection, requests written by hand.

The load generator shares the machine's CPUs with the server it measures. httpx spends about a
millisecond of CPU on each request (URL parsing, header models, cookie jar, transports); with 50
simulated parents that is most of a core taken from the server, and the /healthz run measures
the client rather than the portal. This client writes the request bytes itself and reads only
the status line, the headers and a Content-Length or chunked body: a few tens of microseconds.

It speaks plain HTTP to the bench's own server on 127.0.0.1, nothing else (no TLS, no proxies,
no redirects followed, no cookie jar: a person's cookies are sent as a header they build).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlencode


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ConnectionClosed(Exception):
    """The server closed the connection before a whole response arrived."""


class RawClient:
    """One simulated person's connection to `host:port`, opened on first use and reopened after
    the server closes it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(
        self,
        _kind: type[BaseException] | None,
        _error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def get(self, path: str, headers: dict[str, str] | None = None) -> RawResponse:
        return await self.request("GET", path, headers=headers)

    async def post(
        self, path: str, data: dict[str, str], headers: dict[str, str] | None = None
    ) -> RawResponse:
        body = urlencode(data).encode()
        extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return await self.request("POST", path, body=body, headers=extra)

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}\r\n".encode())
        lines.append(b"\r\n")
        lines.append(body)
        try:
            self._writer.write(b"".join(lines))
            return await asyncio.wait_for(self._read_response(), self.timeout)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ConnectionClosed):
            await self.close()
            raise ConnectionClosed(f"{method} {path}") from None

    async def _read_response(self) -> RawResponse:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            # Several Set-Cookie headers: kept one per line, as a browser would read them.
            headers[name] = f"{headers[name]}\n{value}" if name in headers else value
        if "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunks()
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return RawResponse(status, headers, body)

    async def _read_chunks(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
