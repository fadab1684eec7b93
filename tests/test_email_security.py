"""The email channel over STARTTLS and implicit TLS (SSL) with a login, against
real aiosmtpd servers on 127.0.0.1 presenting a self-signed certificate made
here with ``cryptography``.

The channel verifies the server with ``ssl.create_default_context()``; the
test makes it trust its certificate the way a user with a private CA would:
the standard ``SSL_CERT_FILE`` environment variable, which OpenSSL reads when
the context loads its default verify paths. No code path is test-only.
"""
from __future__ import annotations

import email
import hashlib
import ipaddress
import ssl
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from crawler.config import parse_config
from newsmon.digests import run_digest
from storage.db import session_scope
from storage.models import Article, DigestDelivery, DigestItem, Source

from conftest import free_port

USER, PASSWORD = "desk-robot", "correct horse battery"


# --- a certificate and two TLS servers -----------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(cert path, key path) of a self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "newsmon test SMTP")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


class Inbox:
    """aiosmtpd handler keeping each message with the login that sent it."""

    def __init__(self):
        self.messages: list[tuple[str | None, email.message.EmailMessage]] = []
        self.logins: list[tuple[str, bool]] = []
        self.unknown_mailboxes: set[str] = set()

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = auth_data.login.decode()
        ok = (login, auth_data.password.decode()) == (USER, PASSWORD)
        self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.unknown_mailboxes:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        user = session.auth_data.login.decode() if session.authenticated else None
        self.messages.append((user, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def serve(inbox: Inbox, **tls):
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=inbox.authenticate,
                            **tls)
    controller.start()
    return controller


@pytest.fixture
def starttls_server(certificate):
    """Plain connection that must be upgraded with STARTTLS before anything else, then a login."""
    inbox = Inbox()
    controller = serve(inbox, require_starttls=True, auth_require_tls=True, tls_context=server_context(certificate))
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def ssl_server(certificate):
    """TLS from the first byte (port-465 style), then a login."""
    inbox = Inbox()
    # aiosmtpd's auth_require_tls only counts STARTTLS, not TLS from the first
    # byte: it would hide AUTH here. The whole session is encrypted anyway.
    controller = serve(inbox, ssl_context=server_context(certificate), auth_require_tls=False)
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def trusted(certificate, monkeypatch):
    """The user's environment: the CA file to trust and the SMTP login in env vars."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("NEWSMON_SMTP_USER", USER)
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", PASSWORD)


# --- archive and config --------------------------------------------------------------------


def add_article(url: str, title: str, text: str = "") -> None:
    with session_scope(add_article.db) as session:
        source = session.scalar(select(Source).where(Source.name == "outlet-a"))
        if source is None:
            source = Source(name="outlet-a")
            session.add(source)
            session.flush()
        article = Article(source_id=source.id, canonical_url=url, url=url, title=title, text=text,
                          text_hash=hashlib.sha256(url.encode()).hexdigest(), relevant=True)
        session.add(article)
        session.flush()
        article.cluster_id = article.id


def email_config(tmp_path, port: int, security: str):
    return parse_config({
        "sources": [{"name": "outlet-a", "feeds": ["http://127.0.0.1:1/feed"]}],
        "digests": [{"name": "morning", "channels": [{
            "type": "email", "to": ["desk@example.org"], "sender": "newsmon@example.org",
            "smtp_host": "127.0.0.1", "smtp_port": port, "security": security}]}],
    }, "test", tmp_path / "newsmon.yaml")


@pytest.fixture
def archive(sqlite_url):
    add_article.db = sqlite_url
    return sqlite_url


@pytest.fixture
def any_archive(db_url):
    add_article.db = db_url
    return db_url


# --- tests ---------------------------------------------------------------------------------


def test_digest_sent_over_starttls_with_the_login_from_env_vars_arrives_intact(archive, starttls_server,
                                                                              trusted, tmp_path):
    inbox, port = starttls_server
    add_article("https://a.example/1", "Talks resume in Bogotá", "Delegations met on Monday. They agreed.")

    [result] = run_digest(email_config(tmp_path, port, "starttls"), archive, "morning")

    assert result.status == "delivered", result.detail
    [(user, message)] = inbox.messages
    assert user == USER
    assert inbox.logins == [(USER, True)]
    assert message["To"] == "desk@example.org" and message["From"] == "newsmon@example.org"
    assert message["Message-ID"] == f"<{result.delivery_key}@example.org>"
    plain = message.get_body(("plain",)).get_content()
    assert "Talks resume in Bogotá" in plain and "Delegations met on Monday." in plain
    assert "Talks resume in Bogotá" in message.get_body(("html",)).get_content()


def test_digest_sent_over_implicit_ssl_with_a_login_arrives(archive, ssl_server, trusted, tmp_path):
    inbox, port = ssl_server
    add_article("https://a.example/2", "Extradition approved")

    [result] = run_digest(email_config(tmp_path, port, "ssl"), archive, "morning")

    assert result.status == "delivered", result.detail
    [(user, message)] = inbox.messages
    assert user == USER
    assert message["X-Newsmon-Delivery"] == result.delivery_key
    assert "Extradition approved" in message.get_body(("plain",)).get_content()


def test_plain_mode_with_a_login_is_a_config_error_so_the_password_is_never_sent(
        archive, starttls_server, trusted, tmp_path):
    from crawler.config import ConfigError

    inbox, port = starttls_server
    with pytest.raises(ConfigError, match=r"digests\[0\]\.channels\[0\]: security: 'none' with a login"):
        email_config(tmp_path, port, "none")
    assert inbox.messages == [] and inbox.logins == []


def test_plain_mode_without_a_login_is_told_to_use_starttls(archive, starttls_server, monkeypatch, tmp_path):
    inbox, port = starttls_server
    monkeypatch.delenv("NEWSMON_SMTP_USER", raising=False)
    add_article("https://a.example/3", "Not over plain text")

    [result] = run_digest(email_config(tmp_path, port, "none"), archive, "morning")

    assert result.status == "failed"
    assert result.detail.startswith(f"SMTP 127.0.0.1:{port}: 530 ") and "STARTTLS" in result.detail
    assert inbox.messages == []


def test_an_untrusted_certificate_fails_the_delivery_with_a_verification_error(archive, ssl_server, monkeypatch,
                                                                              certificate, tmp_path):
    inbox, port = ssl_server
    monkeypatch.setenv("NEWSMON_SMTP_USER", USER)
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", PASSWORD)
    # Trust some other CA file: our self-signed certificate is then unknown.
    other = tmp_path / "other-ca.pem"
    other.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    add_article("https://a.example/4", "Only to a verified server")

    [result] = run_digest(email_config(tmp_path, port, "ssl"), archive, "morning")

    assert result.status == "failed"
    assert "certificate verify failed" in result.detail
    assert inbox.messages == [] and inbox.logins == []


def test_wrong_password_is_recorded_failed_readably_and_sent_once_after_it_is_fixed(any_archive, starttls_server,
                                                                                   trusted, monkeypatch, tmp_path):
    inbox, port = starttls_server
    config = email_config(tmp_path, port, "starttls")
    add_article("https://a.example/5", "Before the password change")
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", "stale password")

    [failed] = run_digest(config, any_archive, "morning")
    with session_scope(any_archive) as session:
        [pending] = session.scalars(select(DigestDelivery)).all()
        pending_row = (pending.status, pending.attempts, pending.error)
    add_article("https://a.example/6", "After the password change")
    monkeypatch.setenv("NEWSMON_SMTP_PASSWORD", PASSWORD)
    sent, newer = run_digest(config, any_archive, "morning")
    [after] = run_digest(config, any_archive, "morning")

    assert failed.status == "failed"
    assert failed.detail.startswith(f"SMTP 127.0.0.1:{port}: ")
    assert "535" in failed.detail and "Authentication credentials invalid" in failed.detail
    assert "b'" not in failed.detail  # the server's words, not a bytes repr
    assert pending_row == ("failed", 1, failed.detail)
    # smtplib tries each mechanism the server offers before giving up: every
    # attempt of the first run was refused; the second run logged in once per message.
    assert inbox.logins[-1] == (USER, True) and [ok for _, ok in inbox.logins].count(True) == 2
    # The failed delivery goes out unchanged (same id, same article); the newer article gets its own.
    assert sent.status == "delivered" and sent.delivery_key == failed.delivery_key
    assert newer.status == "delivered" and newer.delivery_key != failed.delivery_key
    assert after.status == "nothing-new"
    [(_, first), (_, second)] = inbox.messages
    assert first["Message-ID"].startswith(f"<{failed.delivery_key}@")
    first_plain, second_plain = (m.get_body(("plain",)).get_content() for m in (first, second))
    assert "Before the password change" in first_plain and "After the password change" not in first_plain
    assert "After the password change" in second_plain and "Before the password change" not in second_plain
    with session_scope(any_archive) as session:
        assert session.scalar(select(func.count(DigestItem.id))) == 2
        deliveries = session.scalars(select(DigestDelivery).order_by(DigestDelivery.id)).all()
        assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 2), ("delivered", 1)]


def test_a_refused_recipient_fails_the_delivery_in_the_servers_words(archive, starttls_server, trusted, tmp_path):
    inbox, port = starttls_server
    inbox.unknown_mailboxes = {"desk@example.org"}
    add_article("https://a.example/7", "Nobody to read it")

    [result] = run_digest(email_config(tmp_path, port, "starttls"), archive, "morning")

    assert result.status == "failed"
    assert result.detail == (f"SMTP 127.0.0.1:{port}: all recipients refused: "
                             "desk@example.org: 550 5.1.1 No such mailbox here")
    assert inbox.messages == []
