"""The nginx and Caddy examples in deploy/: they pass `nginx -t` / `caddy validate`, redirect http
to https, refuse requests bigger than the portal's uploads allow, and log no private link, token
or query string. nginx is run for real in front of a stand-in portal."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from portal.complaints import attachments
from portal.config import PROJECT_ROOT
from portal.consent.services import register
from portal.school import ical, profile
from tests.ops.test_check_smtp import self_signed

NGINX_EXAMPLE = PROJECT_ROOT / "deploy" / "nginx" / "portal.conf"
CADDY_EXAMPLE = PROJECT_ROOT / "deploy" / "caddy" / "Caddyfile"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="needs nginx (apt-get install nginx-light)")

BIGGEST_UPLOAD = max(
    attachments.MAX_BYTES, register.MAX_BYTES, profile.CREST_MAX_BYTES, ical.MAX_BYTES
)
MIB = 1024 * 1024


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_request_size_limits_match_the_portals_uploads():
    nginx = re.search(r"client_max_body_size (\d+)m;", NGINX_EXAMPLE.read_text())
    caddy = re.search(r"max_size (\d+)MiB", CADDY_EXAMPLE.read_text())
    assert nginx and caddy
    assert int(nginx.group(1)) == int(caddy.group(1))
    limit = int(nginx.group(1)) * MIB
    # Room for the biggest file and its form, and not much more.
    assert BIGGEST_UPLOAD + 256 * 1024 <= limit <= BIGGEST_UPLOAD + 2 * MIB


def nginx_site(folder: Path, *, http_port: int, https_port: int, upstream_port: int) -> Path:
    """The example as an operator installs it, moved to spare ports and a test folder."""
    cert, key = self_signed(folder)
    site = NGINX_EXAMPLE.read_text()
    site = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("/var/log/nginx/", f"{folder}/")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    site = re.sub(r"\s*listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    (folder / "portal.conf").write_text(site)
    main = folder / "nginx.conf"
    # As root, nginx's workers would drop to a user who cannot write the test's folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n  client_body_temp_path {folder}/body;\n  proxy_temp_path {folder}/proxy;\n"
        f"  include {folder / 'portal.conf'};\n}}\n"
    )
    return main


@needs_nginx
def test_the_nginx_example_passes_nginx_t(tmp_path):
    main = nginx_site(tmp_path, http_port=_spare_port(), https_port=_spare_port(), upstream_port=1)
    result = subprocess.run(
        [NGINX, "-t", "-c", str(main), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class StandIn(http.server.BaseHTTPRequestHandler):
    """Answers every request with 200 and what it was asked (the portal's place)."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{self.command} {self.path} {self.headers.get('X-Forwarded-For')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def nginx_in_front(tmp_path) -> Iterator[tuple[int, int, Path]]:
    if NGINX is None:
        pytest.skip("needs nginx (apt-get install nginx-light)")
    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    http_port, https_port = _spare_port(), _spare_port()
    main = nginx_site(
        tmp_path, http_port=http_port, https_port=https_port, upstream_port=stand_in.server_port
    )
    process = subprocess.Popen(
        [NGINX, "-c", str(main), "-p", str(tmp_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield http_port, https_port, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=10)
        stand_in.shutdown()


@needs_nginx
def test_nginx_redirects_limits_and_logs_no_private_link(nginx_in_front):
    http_port, https_port, folder = nginx_in_front
    plain = httpx.get(f"http://127.0.0.1:{http_port}/track/PLAINTOKEN?x=1", follow_redirects=False)
    assert plain.status_code == 301
    assert plain.headers["location"].startswith("https://127.0.0.1/track/")

    with httpx.Client(base_url=f"https://127.0.0.1:{https_port}", verify=False) as client:
        answered = client.get("/track/SECRETTOKEN123/reply?from=QUERYTOKEN456")
        assert answered.status_code == 200
        assert answered.text == "GET /track/SECRETTOKEN123/reply?from=QUERYTOKEN456 127.0.0.1"
        assert client.get("/track/case/messages").status_code == 200
        assert client.get("/staff/login?next=/track/NEXTTOKEN789").status_code == 200
        assert client.get("/", headers={"Referer": "https://x/track/REFERERTOKEN"}).is_success
        allowed = client.post("/complaints/new/attachments", content=b"x" * BIGGEST_UPLOAD)
        assert allowed.status_code == 200
        too_big = client.post("/complaints/new/attachments", content=b"x" * (12 * MIB))
        assert too_big.status_code == 413

    log = ""
    for _ in range(50):  # nginx writes the 413's line once it has finished with the connection
        log = (folder / "portal.log").read_text()
        if " 413 " in log:
            break
        time.sleep(0.1)
    for secret in ("PLAINTOKEN", "SECRETTOKEN123", "QUERYTOKEN456", "NEXTTOKEN789", "REFERER"):
        assert secret not in log, log
    assert '"GET /track/[private-link]"' in log
    assert '"GET /track/case/messages"' in log
    assert '"GET /staff/login"' in log
    assert '"POST /complaints/new/attachments" 413' in log


@pytest.mark.skipif(shutil.which("caddy") is None, reason="needs caddy (apt-get install caddy)")
def test_the_caddy_example_is_valid(tmp_path):
    result = subprocess.run(
        ["caddy", "validate", "--config", str(CADDY_EXAMPLE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_the_caddy_example_logs_no_private_link():
    """The filter Caddy applies to the logged address, tried with Go's syntax in Python."""
    rule = re.search(r'request>uri regexp "(.+?)" "(.+?)"', CADDY_EXAMPLE.read_text())
    assert rule
    pattern = re.compile(rule.group(1).replace("\\\\", "\\"))
    replacement = rule.group(2).replace("${1}", r"\g<1>").replace("${2}", r"\g<2>")

    def logged(uri: str) -> str:
        return pattern.sub(lambda m: m.expand(replacement), uri)

    assert logged("/track/SECRET/reply?x=1") == "/track/"
    assert logged("/staff/login?next=/track/SECRET") == "/staff/login"
    assert logged("/complaints/new/kind") == "/complaints/new/kind"
    assert "request>headers delete" in CADDY_EXAMPLE.read_text()
