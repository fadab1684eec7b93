"""Exactly-once digest bookkeeping, per digest and channel.

One run of a digest, for each of its channels:

1. in one transaction, take the channel's unfinished (pending or failed)
   delivery — or open a new one with a fresh ``delivery_key`` — and add to its
   ``digest_items`` every matching article no delivery of this channel holds
   yet. The items are the watermark: once committed, those articles belong to
   this delivery until it is delivered;
2. send, with the delivery key as the message's identity;
3. in one transaction, mark it delivered (or failed, with the reason).

A failed send leaves the delivery to be retried on the next run with the same
key and the same articles plus any newer ones: nothing is dropped and nothing
is duplicated. The one gap no bookkeeping can close is a crash *between* the
channel accepting the message and step 3: the next run sends the delivery
again, with the same ``delivery_key`` (email Message-ID, webhook
``X-Newsmon-Delivery``, Atom entry id), so receivers can drop the repeat —
at-least-once delivery with an idempotency key.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text, update

from crawler.config import Config, ConfigError, Digest
from newsmon.digests.channels import DeliveryError, send
from newsmon.digests.content import DigestContent, build_content, uncovered_article_ids
from storage.db import session_scope
from storage.models import DigestDelivery, DigestItem, utcnow

log = logging.getLogger("newsmon.digests")


@dataclass
class DeliveryResult:
    digest: str
    channel: str
    status: str  # delivered | failed | nothing-new | dry-run
    delivery_key: str | None = None
    articles: int = 0
    detail: str = ""
    content: DigestContent | None = None


def channel_key(index: int, channel) -> str:
    """How ``digest_deliveries.channel`` names a channel: its type and place in the list."""
    return f"{channel.type}:{index}"


def find_digest(config: Config, name: str) -> Digest:
    for digest in config.digests:
        if digest.name == name:
            return digest
    known = ", ".join(d.name for d in config.digests) or "none configured"
    raise ConfigError(f"unknown digest {name!r} (known: {known})")


def _unfinished(session, digest: str, channel: str) -> DigestDelivery | None:
    return session.scalars(
        select(DigestDelivery)
        .where(DigestDelivery.digest == digest, DigestDelivery.channel == channel,
               DigestDelivery.status.in_(("pending", "failed")))
        .order_by(DigestDelivery.id).limit(1)
    ).first()


def _item_ids(session, delivery_id: int) -> list[int]:
    return list(session.scalars(
        select(DigestItem.article_id).where(DigestItem.delivery_id == delivery_id).order_by(DigestItem.article_id)
    ))


def _lock_channel(session, digest: str, channel: str) -> None:
    """Serialize claims on one digest channel (the service and a manual
    ``newsmon digest --send`` at the same moment), so no article is claimed by
    two deliveries: a transaction-scoped advisory lock on PostgreSQL, the
    database write lock (taken by a no-op UPDATE) on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"newsmon-digest:{digest}:{channel}".encode()).digest()[:8], "big",
                             signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(update(DigestDelivery).where(DigestDelivery.id == -1).values(attempts=0))


def _claim(url: str, config: Config, digest: Digest, channel: str) -> tuple[int, str, list[int]] | None:
    """Step 1: the delivery to send and its articles, committed before anything is sent.
    None when there is nothing to say and the digest does not send empty ones."""
    with session_scope(url) as session:
        _lock_channel(session, digest.name, channel)
        delivery = _unfinished(session, digest.name, channel)
        new_ids = uncovered_article_ids(session, digest, channel)
        if delivery is None:
            if not new_ids and not digest.send_empty:
                probe = build_content(session, config, digest, [], "-", channel)
                if probe.is_empty:
                    return None
            delivery = DigestDelivery(digest=digest.name, channel=channel, delivery_key=uuid.uuid4().hex,
                                      status="pending", attempts=0, created_at=utcnow())
            session.add(delivery)
            session.flush()
        session.add_all(DigestItem(delivery_id=delivery.id, article_id=aid) for aid in new_ids)
        delivery.attempts += 1
        session.flush()
        return delivery.id, delivery.delivery_key, _item_ids(session, delivery.id)


def _finish(url: str, delivery_id: int, error: str | None) -> None:
    """Step 3: delivered, or failed with the reason (kept for the next run)."""
    with session_scope(url) as session:
        delivery = session.get(DigestDelivery, delivery_id)
        if error is None:
            delivery.status, delivery.delivered_at, delivery.error = "delivered", utcnow(), None
        else:
            delivery.status, delivery.error = "failed", error


def _preview(url: str, config: Config, digest: Digest, channel: str) -> DeliveryResult:
    """What a run would send on this channel, computed without writing anything."""
    with session_scope(url) as session:
        delivery = _unfinished(session, digest.name, channel)
        ids = _item_ids(session, delivery.id) if delivery else []
        ids = sorted(set(ids) | set(uncovered_article_ids(session, digest, channel)))
        key = delivery.delivery_key if delivery else "(new)"
        content = build_content(session, config, digest, ids, key, channel)
        session.rollback()
    status = "dry-run" if (not content.is_empty or digest.send_empty) else "nothing-new"
    return DeliveryResult(digest.name, channel, status, None if key == "(new)" else key, len(ids), content=content)


def run_digest(config: Config, url: str, name: str, *, dry_run: bool = False) -> list[DeliveryResult]:
    """Deliver digest ``name`` on each of its channels (or, with ``dry_run``,
    say what would be delivered and record nothing). One channel failing does
    not stop the others."""
    digest = find_digest(config, name)
    results = []
    for index, channel_config in enumerate(digest.channels):
        channel = channel_key(index, channel_config)
        if dry_run:
            results.append(_preview(url, config, digest, channel))
            continue
        claimed = _claim(url, config, digest, channel)
        if claimed is None:
            log.info("digest %s %s: nothing new, not sent", name, channel)
            results.append(DeliveryResult(name, channel, "nothing-new"))
            continue
        delivery_id, key, ids = claimed
        with session_scope(url) as session:
            content = build_content(session, config, digest, ids, key, channel)
        try:
            where = send(config, channel_config, content)
        except DeliveryError as exc:
            _finish(url, delivery_id, str(exc))
            log.warning("digest %s %s: delivery %s failed, will retry on the next run: %s", name, channel, key, exc)
            results.append(DeliveryResult(name, channel, "failed", key, len(ids), str(exc), content))
            continue
        _finish(url, delivery_id, None)
        log.info("digest %s %s: delivery %s sent (%d articles) to %s", name, channel, key, len(ids), where)
        results.append(DeliveryResult(name, channel, "delivered", key, len(ids), where, content))
    return results
