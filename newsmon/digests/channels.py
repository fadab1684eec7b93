"""Sending one rendered digest on one channel: email, webhook, Apprise
(chat and notification services), Atom feed file, Markdown or HTML file.

Every sender takes the delivery key and uses it as the message's identity
(email Message-ID, webhook ``X-Newsmon-Delivery``, the Apprise message's
last line ``Delivery KEY``, file rewritten in place;
Atom entries are per story, with the article's id), so a resend after a crash
is recognisable as the same delivery. A failure raises :class:`DeliveryError` with a reason worded for the
log; the caller keeps the delivery pending and retries it later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from newsmon import __version__
from crawler.config import AppriseChannel, Config, EmailChannel, FileChannel, WebhookChannel
from newsmon.digests.content import DigestContent
from newsmon.digests.render import render_html, render_markdown, render_text, to_dict

log = logging.getLogger("newsmon.digests")

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_KEEP_ENTRIES = 200  # stories kept in an Atom feed file
WEBHOOK_TIMEOUT = 30.0
WEBHOOK_BACKOFF = 0.5  # seconds before the first retry, doubled each time
SMTP_TIMEOUT = 30.0


class DeliveryError(Exception):
    """The channel did not take the digest (reason worded for the log)."""


# --- email ------------------------------------------------------------------------


def build_email(channel: EmailChannel, content: DigestContent) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the preferred part."""
    message = EmailMessage()
    message["Subject"] = content.title
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = format_datetime(content.generated_at.replace(tzinfo=timezone.utc))
    domain = channel.sender.rpartition("@")[2] or "newsmon"
    # Stable across retries: a resend after a crash carries the same Message-ID.
    message["Message-ID"] = f"<{content.delivery_key}@{domain}>"
    message["X-Newsmon-Delivery"] = content.delivery_key
    message.set_content(render_text(content))
    message.add_alternative(render_html(content), subtype="html")
    return message


def smtp_reason(exc: Exception) -> str:
    """The server's own words (``535 5.7.8 Authentication credentials invalid``)
    rather than smtplib's tuple-of-bytes repr, for the log and the delivery row."""
    def said(code: int, text: bytes | str) -> str:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return f"{code} {text}".strip()

    if isinstance(exc, smtplib.SMTPResponseException):
        return said(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "all recipients refused: " + "; ".join(f"{who}: {said(*why)}" for who, why in exc.recipients.items())
    return str(exc)


def send_email(channel: EmailChannel, content: DigestContent) -> None:
    message = build_email(channel, content)
    user = os.environ.get(channel.username_env)
    password = os.environ.get(channel.password_env)
    if user and channel.security == "none":  # the config check refuses this at load; never send it anyway
        raise DeliveryError(f"SMTP {channel.smtp_host}:{channel.smtp_port}: refusing to log in without TLS "
                            f"(security: none with ${channel.username_env} set)")
    try:
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.smtp_host, channel.smtp_port, timeout=SMTP_TIMEOUT,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=SMTP_TIMEOUT)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {channel.smtp_host}:{channel.smtp_port}: {smtp_reason(exc)}") from None
    if refused:
        log.warning("digest %s: some recipients refused: %s", content.digest, ", ".join(refused))


# --- webhook ----------------------------------------------------------------------


SIGNATURE_TOLERANCE = 300  # seconds: receivers reject older timestamps (replays)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body bytes>``, so a
    captured request cannot be replayed later with a fresh-looking time."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, timestamp: str | None, signature: str | None, *,
                     now: float | None = None, tolerance: float = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does (docs/security.md shows the same code): the
    timestamp is recent and the signature matches body and timestamp."""
    try:
        sent = int(timestamp or "")
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(body, secret, sent), signature or "")


def send_webhook(channel: WebhookChannel, content: DigestContent) -> None:
    """POST the digest as JSON; retry server errors and network failures with
    backoff, each attempt carrying the same delivery id and signature."""
    body = json.dumps(to_dict(content), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"newsmon/{__version__}",
        "X-Newsmon-Delivery": content.delivery_key,
    }
    secret = os.environ.get(channel.secret_env)
    if not secret:
        log.warning("digest %s: webhook %s sent unsigned: $%s is not set", content.digest, channel.url,
                    channel.secret_env)
    reason = "no attempt made"
    for attempt in range(channel.retries + 1):
        if attempt:
            time.sleep(WEBHOOK_BACKOFF * 2 ** (attempt - 1))
        if secret:  # signed afresh per attempt: a retry after backoff is not "old"
            timestamp = int(time.time())
            headers["X-Newsmon-Timestamp"] = str(timestamp)
            headers["X-Newsmon-Signature"] = sign(body, secret, timestamp)
        request = urllib.request.Request(channel.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
                response.read()
            return
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500 and exc.code not in (408, 429):
                break  # the receiver refuses this request: retrying will not help
        except (urllib.error.URLError, OSError) as exc:
            reason = str(getattr(exc, "reason", exc))
        log.warning("digest %s: webhook %s attempt %d failed: %s", content.digest, channel.url, attempt + 1, reason)
    raise DeliveryError(f"webhook {channel.url}: {reason}")


# --- apprise ----------------------------------------------------------------------


APPRISE_BACKOFF = 0.5  # seconds before the first retry of a target, doubled each time


_APPRISE_SENDING = threading.Lock()  # one Apprise send at a time in a process: its warnings are that send's


class _Warnings(logging.Handler):
    """Apprise says why a notification failed only in its log (from its own
    worker threads): keep the warnings of the send in progress."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message:
            self.lines.append(message.splitlines()[0])


def send_apprise(channel: AppriseChannel, content: DigestContent) -> str:
    """Notify every URL of the channel with the digest (Markdown or text,
    converted by Apprise to what each service takes); a target that fails is
    retried with backoff, the others are not sent twice in this attempt. Any
    target still failing fails the delivery: it is sent again, to every URL,
    on the next run. Returns where it went (URLs with their secrets masked)."""
    import apprise

    body = render_markdown(content) if channel.format == "markdown" else render_text(content)
    body_format = apprise.NotifyFormat.MARKDOWN if channel.format == "markdown" else apprise.NotifyFormat.TEXT
    targets = []
    asset = apprise.AppriseAsset(async_mode=False)  # one target at a time, in order
    for n, url in enumerate(channel.all_urls(), 1):
        server = apprise.Apprise.instantiate(url, asset=asset)
        if server is None:
            scheme = url.partition("://")[0]
            raise DeliveryError(f"apprise URL {n} ({scheme}://…): not a URL Apprise can send to "
                                "(unknown service or missing parts; see https://appriseit.com)")
        one = apprise.Apprise(asset=asset)
        one.add(server)
        targets.append((server.url(privacy=True).split("?", 1)[0], one))
    warnings = _Warnings()
    apprise_log = logging.getLogger("apprise")
    with _APPRISE_SENDING:
        apprise_log.addHandler(warnings)
        try:
            return _notify_all(channel, content, body, body_format, targets, warnings)
        finally:
            apprise_log.removeHandler(warnings)


def _notify_all(channel: AppriseChannel, content: DigestContent, body: str, body_format, targets,
                warnings: _Warnings) -> str:
    pending = list(targets)
    reasons: dict[str, str] = {}
    for attempt in range(channel.retries + 1):
        if attempt:
            time.sleep(APPRISE_BACKOFF * 2 ** (attempt - 1))
        failed = []
        for where, one in pending:
            warnings.lines.clear()
            if one.notify(body=body, title=content.title, body_format=body_format):
                continue
            reasons[where] = "; ".join(filter(None, warnings.lines[-2:])) or "not accepted"
            log.warning("digest %s: apprise %s attempt %d failed: %s", content.digest, where, attempt + 1,
                        reasons[where])
            failed.append((where, one))
        pending = failed
        if not pending:
            return "apprise " + ", ".join(where for where, _ in targets)
    raise DeliveryError("apprise " + "; ".join(f"{where}: {reasons[where]}" for where, _ in pending))


# --- files ------------------------------------------------------------------------


def _umask() -> int:
    """The process's umask, read without changing it (other threads may be writing files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: the classic read-by-setting, restored at once
    os.umask(mask)
    return mask


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one. The file
    gets the mode a plain open() would give it (0666 minus the umask; mkstemp's
    0600 would keep a web server from serving the Atom feed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).replace(microsecond=0)


def _old_atom_entries(path: Path, digest: str) -> list[dict]:
    """The entries already in the feed file, as plain fields (kept verbatim)."""
    if not path.exists():
        return []
    q = lambda tag: f"{{{ATOM_NS}}}{tag}"  # noqa: E731
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        log.warning("digest %s: %s is not valid XML (%s): starting the feed afresh", digest, path, exc)
        return []
    out = []
    for node in root.findall(q("entry")):
        try:
            updated = datetime.fromisoformat(node.findtext(q("updated")) or "")
        except ValueError:
            continue
        published = node.findtext(q("published"))
        content = node.find(q("content"))
        link = node.find(q("link"))
        out.append({"id": node.findtext(q("id")), "title": node.findtext(q("title")) or "",
                    "link": link.get("href") if link is not None else None, "updated": updated,
                    "published": datetime.fromisoformat(published) if published else None,
                    "author": node.findtext(f"{q('author')}/{q('name')}"),
                    "summary": node.findtext(q("summary")),
                    "content": content.text if content is not None else None})
    return out


def atom_entries(content: DigestContent) -> list[dict]:
    """One entry per story (copies folded into it), per edited article and per
    story followed up; the id is the article's, so a story keeps one entry
    across digests and an edit or follow-up updates it."""
    from newsmon.digests.render import render_atom_entry

    by_article: dict[int, list] = {}
    for item in content.contradictions:
        by_article.setdefault(item.article_id, []).append(item)
    entries: dict[str, dict] = {}

    def add(entry, updated: datetime, edit=None) -> None:
        entries[f"urn:newsmon:article:{entry.article_id}"] = {
            "id": f"urn:newsmon:article:{entry.article_id}", "title": entry.title, "link": entry.url,
            "updated": _utc(updated), "published": _utc(entry.published_at or entry.first_seen),
            "author": entry.source, "summary": entry.snippet or None,
            "content": render_atom_entry(content, entry, edit, by_article.get(entry.article_id, ())),
        }

    for entry in content.entries:
        add(entry, entry.updated_at or entry.first_seen)
    for entry in content.followups:
        add(entry, content.generated_at)
    for edit in content.edits:
        from newsmon.digests.content import Entry

        story = Entry(article_id=edit.article_id, title=edit.title, source=edit.source, url=edit.url,
                      published_at=None, first_seen=edit.edited_at, snippet="")
        add(story, edit.edited_at, edit)
    return list(entries.values())


def write_atom(path: Path, content: DigestContent, keep: int | None = None) -> None:
    """Merge this delivery's stories into the Atom feed at ``path`` (created if
    missing): newest first by <updated>, the last ``keep`` entries kept.
    Rewriting the same delivery gives the same entries (ids are per article)."""
    from feedgen.feed import FeedGenerator

    keep = ATOM_KEEP_ENTRIES if keep is None else keep
    new = atom_entries(content)
    fresh = {e["id"] for e in new}
    merged = new + [old for old in _old_atom_entries(path, content.digest) if old["id"] not in fresh]
    merged.sort(key=lambda e: e["updated"], reverse=True)
    feed = FeedGenerator()
    feed.id(f"urn:newsmon:digest:{content.digest}")
    feed.title(f"newsmon digest {content.digest}")
    feed.author({"name": "newsmon"})
    feed.generator("newsmon", version=__version__)
    feed.updated(max([_utc(content.generated_at)] + [e["updated"] for e in merged]))
    for item in merged[:keep]:
        entry = feed.add_entry(order="append")
        entry.id(item["id"])
        entry.title(item["title"])
        entry.updated(item["updated"])
        if item.get("link"):
            entry.link(href=item["link"])
        if item.get("published"):
            entry.published(item["published"])
        if item.get("author"):
            entry.author({"name": item["author"]})
        if item.get("summary"):
            entry.summary(item["summary"])
        if item.get("content"):
            entry.content(item["content"], type="html")
    _write_atomically(path, feed.atom_str(pretty=True))


def file_path(config: Config, channel: FileChannel, content: DigestContent) -> Path:
    """The channel's path, relative to the config file; ``{date}`` (the day in
    the digest's time zone) and ``{digest}`` in it give one file per day or per digest."""
    day = content.local(content.generated_at).strftime("%Y-%m-%d")
    raw = channel.path.replace("{date}", day).replace("{digest}", content.digest)
    return config.resolve(raw)


def write_file(config: Config, channel: FileChannel, content: DigestContent) -> Path:
    path = file_path(config, channel, content)
    try:
        if channel.type == "atom":
            write_atom(path, content)
        elif channel.type == "markdown":
            _write_atomically(path, render_markdown(content).encode("utf-8"))
        else:
            _write_atomically(path, render_html(content).encode("utf-8"))
    except OSError as exc:
        raise DeliveryError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def send(config: Config, channel, content: DigestContent) -> str:
    """Deliver on any channel; returns a short description of where it went."""
    if isinstance(channel, EmailChannel):
        send_email(channel, content)
        return f"email to {', '.join(channel.to)}"
    if isinstance(channel, WebhookChannel):
        send_webhook(channel, content)
        return f"webhook {channel.url}"
    if isinstance(channel, AppriseChannel):
        return send_apprise(channel, content)
    return f"{channel.type} file {write_file(config, channel, content)}"


__all__ = ["DeliveryError", "send", "send_apprise", "send_email", "send_webhook", "write_atom", "write_file", "build_email", "sign",
           "verify_signature"]
