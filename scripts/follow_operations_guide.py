"""Follow docs/operations.md on a fresh clone, as an operator would, to a portal served through
nginx; submit a complaint through nginx and receive its email at a local SMTP server.

Run by scripts/follow-operations-guide.sh (as root: it makes the service user and runs commands
as it). The guide's shell blocks (between `<!-- guide:NAME:start -->` markers) are run as they are
written, with these changes only, so that the run cannot touch the machine's real portal:

- `/srv/portal`, `/var/lib/portal`, `/etc/portal` and nginx's `sites-*` folders live under a
  scratch folder; the repository cloned is this checkout's committed branch;
- the database and its role get a name of their own (dropped at the end), Redis a database
  number of its own (7);
- the base URL, port 8000 and the proxy's ports are spare ports on 127.0.0.1, and the certificate
  is a self-signed one the run makes (and trusts);
- the SMTP lines point at an aiosmtpd server this script runs, with STARTTLS and a login;
- the PATH is a Debian root shell's (so `python3` is Debian's);
- `apt-get install` is replaced by a check that those packages' commands are present (installing
  Debian's nodejs over another would break the machine's Node.js);
- systemd is not running here: each unit's ExecStart runs as its User, in its WorkingDirectory,
  with its Environment; `systemctl reload nginx` starts an nginx of the run's own.

The guide's web step (section 7, the first admin sets up the school) is done over HTTPS through
nginx, form by form, as a browser would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from bs4 import BeautifulSoup

REPOSITORY = Path(__file__).resolve().parent.parent
GUIDE = REPOSITORY / "docs" / "operations.md"
STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def guide_block(name: str) -> str:
    match = re.search(
        rf"<!-- guide:{name}:start -->\s*```\w+\n(.*?)```\s*<!-- guide:{name}:end -->",
        GUIDE.read_text(),
        re.S,
    )
    if not match:
        raise SystemExit(f"docs/operations.md has no guide:{name} block")
    return match.group(1)


class Mailbox:
    """aiosmtpd on loopback, with STARTTLS (the run's certificate) and one login, like a mail
    provider's submission port."""

    def __init__(self, cert: Path, key: Path, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.messages: list = []
        self.port = spare_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Run:
    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.scratch = Path(tempfile.mkdtemp(prefix="portal-guide-"))
        self.scratch.chmod(0o755)  # the portal's user must reach /srv/portal inside it
        self.name = f"portal_guide_{secrets.token_hex(4)}"
        self.app_port, self.http_port, self.https_port = spare_port(), spare_port(), spare_port()
        self.base_url = f"https://127.0.0.1:{self.https_port}"
        self.processes: list[subprocess.Popen] = []
        self.cert, self.key = self_signed(self.scratch)
        os.chmod(self.key, 0o644)  # read by nginx's workers and the mail server
        self.smtp_password = secrets.token_urlsafe(16)
        self.mailbox = Mailbox(self.cert, self.key, "portal@school.example", self.smtp_password)
        self.env = {
            **os.environ,
            "SSL_CERT_FILE": str(self.cert),  # trust the run's certificate
            # A root shell's PATH on Debian: python3 is Debian's, which the portal's user can run
            # (not a pyenv or other interpreter under /root).
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        }
        for name in list(self.env):
            if name.startswith("PORTAL_"):
                del self.env[name]
        branch = subprocess.run(
            ["git", "-C", str(REPOSITORY), "rev-parse", "--abbrev-ref", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.replacements = [
            ("/srv/portal", f"{self.scratch}/srv/portal"),
            ("/var/lib/portal", f"{self.scratch}/var/lib/portal"),
            ("/etc/portal", f"{self.scratch}/etc/portal"),
            ("/etc/nginx/sites-", f"{self.scratch}/etc/nginx/sites-"),
            ("<this repository>", f"--branch {branch} file://{REPOSITORY}"),
            ("CREATE ROLE portal LOGIN", f"CREATE ROLE {self.name} LOGIN"),
            ("createdb --owner portal portal", f"createdb --owner {self.name} {self.name}"),
            ("postgresql+psycopg://portal:", f"postgresql+psycopg://{self.name}:"),
            ("@127.0.0.1:5432/portal", f"@127.0.0.1:5432/{self.name}"),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/7"),
            ("https://portal.brookfield-primary.example", self.base_url),
            ("PORTAL_SMTP_HOST=smtp.example.org", "PORTAL_SMTP_HOST=127.0.0.1"),
            ("PORTAL_SMTP_PORT=587", f"PORTAL_SMTP_PORT={self.mailbox.port}"),
            (
                "PORTAL_SMTP_USER=portal@brookfield-primary.example",
                "PORTAL_SMTP_USER=portal@school.example",
            ),
            ("the-password-your-mail-provider-gave-you", self.smtp_password),
            ("--port 8000", f"--port {self.app_port}"),
        ]

    # ------------------------------------------------------------ running the guide's words

    def adapt(self, text: str) -> str:
        for old, new in self.replacements:
            text = text.replace(old, new)
        return text

    def shell(self, name: str, script: str, *, stdin: str = "", check: bool = True) -> str:
        say(f"guide:{name}: running")
        for line in script.strip().splitlines():
            print(f"    $ {line}", flush=True)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.scratch,
        )
        output = (result.stdout + result.stderr).strip()
        if output:
            print("\n".join(f"    | {line}" for line in output.splitlines()[-40:]), flush=True)
        if check and result.returncode != 0:
            raise SystemExit(f"FAIL: guide:{name} exited {result.returncode}")
        return output

    def install(self) -> None:
        block = self.adapt(guide_block("install"))
        apt = next(line for line in block.splitlines() if line.startswith("apt-get install"))
        packages = apt.split("-y", 1)[1].split()
        commands = {
            "python3-venv": "python3",
            "nodejs": "node",
            "postgresql": "psql",
            "redis-server": "redis-server",
            "nginx-light": "nginx",
        }
        missing = [
            p
            for p in packages
            if not shutil.which(commands.get(p, p), path="/usr/sbin:/usr/bin:/bin:/usr/local/bin")
        ]
        if missing:
            raise SystemExit(f"FAIL: install these first (apt-get install -y {' '.join(missing)})")
        say(f"guide:install: {apt!r} -> already present: {', '.join(packages)}")
        tracked = subprocess.run(
            ["git", "-C", str(REPOSITORY), "ls-files", ".venv", "node_modules", "static/build"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if tracked:  # a committed link to a developer's .venv would be installed into
            raise SystemExit(f"FAIL: the branch tracks {tracked}: a fresh clone must not")
        self.shell("install", block.replace(apt + "\n", ""))
        if (self.scratch / "srv/portal/.venv").is_symlink():
            raise SystemExit("FAIL: the clone's .venv is a link")

    def database_and_configure(self) -> None:
        # One shell: the configure step uses the password the database step made.
        script = self.adapt(guide_block("database")) + self.adapt(guide_block("configure"))
        self.shell("database+configure", script)
        settings = (self.scratch / "etc/portal/portal.env").read_text()
        mode = (self.scratch / "etc/portal/portal.env").stat().st_mode & 0o777
        say(f"settings file written, mode {mode:o}, {len(settings.splitlines())} settings")

    def prepare(self) -> None:
        block = self.adapt(guide_block("prepare"))
        lines = block.strip().splitlines()
        assert lines[0].startswith("cd ") and lines[-1].endswith("portal check"), lines
        check = lines[0] + "\n" + lines[-1]
        # create-user asks for the password; given on standard input here.
        self.admin_password = "guide-" + secrets.token_urlsafe(12)
        self.shell(
            "prepare (migrate, create-user)",
            "\n".join(lines[:-1]),
            stdin=self.admin_password + "\n",
        )
        output = self.shell("prepare (portal check, new portal)", check, check=False)
        problems = [line for line in output.splitlines() if "Fix:" in line]
        expected = ("School profile", "Term dates")
        if len(problems) != 2 or not all(
            word in output for word in ("not set up yet", "Term dates: none yet")
        ):
            raise SystemExit(f"FAIL: a new portal's check should fail on {expected} only")
        self.check_command = check

    def start_services(self) -> None:
        units = guide_block("units")
        for unit in re.split(r"\n(?=# /etc/systemd/system/)", units.strip()):
            values = dict(
                line.split("=", 1) for line in unit.splitlines() if re.match(r"^\w+=", line)
            )
            user, folder = values["User"], self.adapt(values["WorkingDirectory"])
            environment = self.adapt(values["Environment"])
            command = self.adapt(values["ExecStart"])
            name = unit.splitlines()[0].rsplit("/", 1)[1]
            say(f"{name}: runuser -u {user} -- env {environment} {command}")
            log = open(self.scratch / f"{name}.log", "w")  # noqa: SIM115 - closed with the run
            self.processes.append(
                subprocess.Popen(
                    ["runuser", "-u", user, "--", "env", environment, *shlex.split(command)],
                    cwd=folder,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def nginx(self) -> None:
        block = self.adapt(guide_block("nginx"))
        copy, link, test = block.strip().splitlines()
        (self.scratch / "etc/nginx/sites-available").mkdir(parents=True)
        (self.scratch / "etc/nginx/sites-enabled").mkdir(parents=True)
        self.shell("nginx (copy)", copy)
        site = self.scratch / "etc/nginx/sites-available/portal"
        # "Change the server name and the certificate paths" (and, here, the ports and logs).
        text = site.read_text()
        text = text.replace("portal.brookfield-primary.example;", "127.0.0.1;")
        text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {self.cert};", text)
        text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {self.key};", text)
        text = text.replace("/var/log/nginx/", f"{self.scratch}/")
        text = text.replace("listen 80;", f"listen 127.0.0.1:{self.http_port};")
        text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{self.https_port} ssl")
        text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
        text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{self.app_port};")
        site.write_text(text)
        self.shell("nginx (enable)", link)
        main = self.scratch / "etc/nginx/nginx.conf"
        main.write_text(
            f"user root;\npid {self.scratch}/nginx.pid;\n"
            f"error_log {self.scratch}/nginx-error.log;\n"
            "events {}\nhttp {\n"
            f"  client_body_temp_path {self.scratch}/nginx-body;\n"
            f"  proxy_temp_path {self.scratch}/nginx-proxy;\n"
            f"  include {self.scratch}/etc/nginx/sites-enabled/*;\n}}\n"
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        own = f"{nginx} -c {main} -p {self.scratch}"
        self.shell(
            "nginx (test)",
            test.replace("nginx -t", f"{own} -t").replace("systemctl reload nginx", f"{own}"),
        )
        pid = int((self.scratch / "nginx.pid").read_text())
        self.nginx_pid = pid

    # ------------------------------------------------------------ the web

    def wait_healthy(self, client: httpx.Client) -> dict:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = client.get("/healthz?deep=1")
                if response.status_code == 200:
                    return response.json()
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("FAIL: the portal did not answer through nginx in 60 s")
            time.sleep(0.5)

    def submit(
        self,
        client: httpx.Client,
        page: str,
        values: dict,
        action: str | None = None,
        expect: int = 303,
    ) -> httpx.Response:
        """Fill in the form on `page` as a browser does: what it holds, with `values` typed in."""
        html = client.get(page)
        assert html.status_code == 200, (page, html.status_code)
        soup = BeautifulSoup(html.text, "html.parser")
        forms = soup.select("form[method=post]")
        if action is not None:
            form = next(f for f in forms if f.get("action") == action)
        else:  # the page's own form, not the sign-out button in the header
            form = next(
                (f for f in forms if f.get("action") in (None, "", page)),
                next(f for f in forms if f.get("action") != "/staff/logout"),
            )
        data: dict[str, str] = {}
        for field in form.select("input[name], textarea[name], select[name]"):
            kind = field.get("type", "text")
            if kind in ("radio", "checkbox") and not field.has_attr("checked"):
                continue
            if field.name == "textarea":
                data[field["name"]] = field.get_text()
            elif field.name == "select":
                chosen = field.select_one("option[selected]") or field.select_one("option")
                data[field["name"]] = chosen.get("value", "") if chosen else ""
            else:
                data[field["name"]] = field.get("value", "")
        unknown = set(values) - {f["name"] for f in form.select("[name]")}
        assert not unknown, (page, unknown)
        data.update(values)
        response = client.post(form.get("action") or page, data=data)
        if response.status_code != expect:
            text = " ".join(BeautifulSoup(response.text, "html.parser").get_text(" ").split())
            raise SystemExit(f"FAIL: {page} answered {response.status_code}: {text[:600]}")
        return response

    def set_up_school(self, client: httpx.Client) -> None:
        say("section 7: the first admin signs in and sets up the school, through nginx")
        self.submit(
            client,
            "/staff/login",
            {"email": "head@brookfield-primary.example", "password": self.admin_password},
        )
        self.submit(
            client,
            "/staff/setup/school",
            {
                "name": "Ashgrove Primary School",
                "contact_email": "office@ashgrove.sch.example",
                "contact_phone": "01632 960000",
                "contact_address": "Ashgrove Primary School, 1 High Street, Ashby AB1 2CD",
                "website_url": "",
            },
        )
        self.submit(client, "/staff/setup/timescales", {})
        today = date.today()
        start, end = today - timedelta(days=30), today + timedelta(days=150)
        page = "/staff/settings/term-dates/terms/new"
        soup = BeautifulSoup(client.get(page).text, "html.parser")
        names = [f["name"] for f in soup.select("form input[name]")]

        def named(end_with: str, prefix: str) -> str:
            return next(n for n in names if n.startswith(prefix) and n.endswith(end_with))

        saved = self.submit(
            client,
            page,
            {
                "name": "This term",
                named("day", "start"): str(start.day),
                named("month", "start"): str(start.month),
                named("year", "start"): str(start.year),
                named("day", "end"): str(end.day),
                named("month", "end"): str(end.month),
                named("year", "end"): str(end.year),
            },
            expect=200,
        )
        assert "Term dates saved" in saved.text
        self.submit(client, "/staff/setup", {}, action="/staff/setup/open")
        say("the portal is open")

    def complain(self, client: httpx.Client) -> str:
        say("a parent submits a complaint through nginx")
        happened = date.today() - timedelta(days=3)
        steps = [
            ("kind", {"kind": "complaint"}),
            ("about", {"about": "staff", "about_name": "Mr Jones"}),
            ("category", {"category": "Behaviour and bullying"}),
            (
                "what-happened",
                {
                    "what_happened": "My son was pushed over in the playground and nobody told me.",
                    "happened_on-day": str(happened.day),
                    "happened_on-month": str(happened.month),
                    "happened_on-year": str(happened.year),
                },
            ),
            ("done-so-far", {"done_so_far": "I spoke to the class teacher."}),
            ("put-right", {"put_right": "Tell me the same day next time."}),
            (
                "contact",
                {
                    "parent_name": "Sam Parent",
                    "parent_email": "sam.parent@example.com",
                    "parent_phone": "07700 900123",
                    "child_name": "Alex Parent",
                },
            ),
        ]
        for step, values in steps:
            self.submit(client, f"/complaints/new/{step}", values)
        sent = self.submit(client, "/complaints/new/check", {}, action="/complaints/new/submit")
        done = client.get(sent.headers["location"])
        reference = re.search(r"C-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{3}", done.text)
        if not reference:
            raise SystemExit("FAIL: the confirmation page shows no reference")
        say(f"confirmation page: reference {reference.group(0)}")
        return reference.group(0)

    def wait_for_email(self, reference: str) -> str:
        """The email's private link, once the parent's email has arrived."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for message in self.mailbox.messages:
                body = message.get_body(("plain",)).get_content()
                if (
                    message["To"] == "sam.parent@example.com"
                    and reference in body + message["Subject"]
                ):
                    say(
                        f"email received at the local SMTP server (STARTTLS, logged in): "
                        f"To: {message['To']} | Subject: {message['Subject']}"
                    )
                    link = re.search(rf"{re.escape(self.base_url)}/track/\S+", body)
                    return link.group(0) if link else ""
            time.sleep(0.5)
        raise SystemExit("FAIL: no email to the parent arrived within 60 s")

    # ------------------------------------------------------------ the whole run

    def main(self) -> None:
        say(
            f"scratch folder {self.scratch}; database {self.name}; ports app {self.app_port}, "
            f"http {self.http_port}, https {self.https_port}, smtp {self.mailbox.port}"
        )
        self.mailbox.controller.start()
        self.install()
        self.database_and_configure()
        self.prepare()
        self.start_services()
        self.nginx()
        with httpx.Client(base_url=self.base_url, verify=str(self.cert), timeout=30) as client:
            say(f"/healthz?deep=1 through nginx: {self.wait_healthy(client)}")
            redirect = httpx.get(f"http://127.0.0.1:{self.http_port}/", follow_redirects=False)
            where = redirect.headers.get("location")
            say(f"http://127.0.0.1:{self.http_port}/ -> {redirect.status_code} {where}")
            assert redirect.status_code == 301
            self.set_up_school(client)
            output = self.shell("portal check, after the setup", self.check_command)
            assert "All checks passed." in output
            with httpx.Client(base_url=self.base_url, verify=str(self.cert), timeout=30) as parent:
                reference = self.complain(parent)
            link = self.wait_for_email(reference)
            if link:
                with httpx.Client(verify=str(self.cert), timeout=30) as parent:
                    opened = parent.get(link)
                say(f"the email's private link, opened through nginx: {opened.status_code}")
                assert opened.status_code == 200 and reference in opened.text
                self.token = link.rsplit("/track/", 1)[1].split("/")[0]
        uploads = self.scratch / "var/lib/portal"
        say(
            f"data folder {uploads}: mode {uploads.stat().st_mode & 0o777:o}, owner "
            f"{uploads.owner()}"
        )
        log = (self.scratch / "portal.log").read_text()
        token = getattr(self, "token", "")
        assert not token or token not in log, "a private link in nginx's access log"
        assert "[private-link]" in log or not token
        say(f"nginx access log: {len(log.splitlines())} lines, no private link")
        say(
            f"PASS: the guide, followed as written, served the portal through nginx in "
            f"{time.monotonic() - STARTED:.0f} s"
        )

    def clean_up(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if getattr(self, "nginx_pid", None):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.nginx_pid, signal.SIGQUIT)
        self.mailbox.controller.stop()
        if self.keep:
            say(f"kept {self.scratch} and database {self.name}")
            return
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "dropdb", "--if-exists", self.name],
            capture_output=True,
        )
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-c", f"DROP ROLE IF EXISTS {self.name}"],
            capture_output=True,
        )
        shutil.rmtree(self.scratch, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder and database.")
    run = Run(keep=parser.parse_args().keep)
    try:
        run.main()
    except BaseException as failure:
        print(f"FAIL: {failure!r}", file=sys.stderr, flush=True)
        for name in ("portal.service.log", "portal-mail.service.log", "nginx-error.log"):
            path = run.scratch / name
            if path.exists():
                print(f"---- {name}\n" + "\n".join(path.read_text().splitlines()[-30:]))
        run.clean_up()
        sys.exit(1)
    run.clean_up()
