"""`portal check` shakes hands with the SMTP server as the mail sender will: a real aiosmtpd
server on loopback that offers, or does not offer, STARTTLS and logins, and refuses or accepts
the password. Nothing is sent."""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.checks import check_smtp
from portal.config import Settings
from tests.test_mail import Collector, free_port

PASSWORD = "right-password-" + secrets.token_hex(6)


class Accounts:
    """Knows one user and password."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"portal"
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)  # the certificate's own validity; the portal's clock is not asked
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def smtp(tmp_path) -> Iterator:
    """Starts a loopback SMTP server with the given features; stops it after the test."""
    controllers: list[Controller] = []

    def start(*, starttls: bool = False, auth: bool = False, auth_before_tls: bool = True) -> int:
        port = free_port()
        options: dict = {}
        if starttls:
            cert, key = self_signed(tmp_path)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            options["tls_context"] = context
        if auth:
            options["authenticator"] = Accounts()
            options["auth_require_tls"] = not auth_before_tls
        controller = Controller(
            Collector(), hostname="127.0.0.1", port=port, server_hostname="localhost", **options
        )
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def settings(port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "starttls",
        "smtp_user": "portal",
        "smtp_password": PASSWORD,
        "smtp_timeout_seconds": 5,
        "secret_key": "x" * 40,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_a_server_that_does_not_offer_starttls_fails(smtp):
    port = smtp(starttls=False, auth=True)
    finding = check_smtp(settings(port))
    assert not finding.ok
    assert "does not offer STARTTLS" in finding.text
    assert "587" in finding.fix
    assert PASSWORD not in finding.text + finding.fix


def test_a_certificate_that_is_not_trusted_fails(smtp):
    port = smtp(starttls=True, auth=True, auth_before_tls=False)
    finding = check_smtp(settings(port))
    assert not finding.ok
    assert "STARTTLS failed" in finding.text
    assert "certificate" in finding.fix


def test_starttls_and_the_right_password_pass(smtp, tmp_path, monkeypatch):
    port = smtp(starttls=True, auth=True, auth_before_tls=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "smtp.pem"))  # trust the test's own CA
    finding = check_smtp(settings(port))
    assert finding.ok, finding
    assert "TLS, logged in" in finding.text


def test_a_wrong_password_fails(smtp, tmp_path, monkeypatch):
    port = smtp(starttls=True, auth=True, auth_before_tls=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "smtp.pem"))
    finding = check_smtp(settings(port, smtp_password="wrong-" + PASSWORD))
    assert not finding.ok
    assert "refused PORTAL_SMTP_USER and PORTAL_SMTP_PASSWORD" in finding.text
    assert PASSWORD not in finding.text + finding.fix


def test_a_login_the_server_does_not_offer_fails(smtp):
    port = smtp(starttls=False, auth=False)
    finding = check_smtp(settings(port, smtp_tls="none"))
    assert not finding.ok
    assert "does not offer to log in" in finding.text


def test_a_local_relay_without_tls_or_login_passes(smtp):
    port = smtp()
    finding = check_smtp(settings(port, smtp_tls="none", smtp_user="", smtp_password=""))
    assert finding.ok, finding
    assert "no TLS, no login" in finding.text


def test_nothing_listening_fails():
    finding = check_smtp(settings(free_port()))
    assert not finding.ok
    assert "not reachable" in finding.text
    assert "PORTAL_SMTP_HOST" in finding.fix
