"""Digest bookkeeping, per digest and channel: immutable deliveries.

The guarantee, precisely: every article that matches a digest is put in
exactly one delivery of each of its channels (``digest_items``: an article is
in one delivery id per digest and channel, never two), and each delivery id is
sent **at least once** until a send succeeds. A delivery never changes once it
is created: its items and its content (``digest_snapshots``) are fixed in the
same transaction that creates it, so every send of one id carries exactly the
same articles and the same body. A receiver that drops ids it has seen
(webhook ``X-Newsmon-Delivery``, email Message-ID, Atom entry id) therefore
sees every matching article exactly once. Without that deduplication a
receiver may see one delivery twice — only when a crash (or a lost reply)
falls between the channel accepting the message and step 3 below.

One run of a digest, for each of its channels:

1. in one transaction (serialised per channel): if the channel has an
   unfinished (pending or failed) delivery, take it as it is; otherwise create
   one with every matching article no delivery of this channel holds yet, and
   freeze its content. Either way take the delivery's send lease
   (``delivery:ID`` in ``service_leases``): one sender per delivery at a time,
   so the service's retry job, its schedule and a manual ``newsmon digest
   --send`` never send one delivery concurrently (the one that finds it leased
   skips it, result ``busy``);
2. send the frozen content, with the delivery key as the message's identity;
3. in one transaction, mark it delivered (or failed, with the reason) and
   release the lease.

A failed or interrupted delivery is sent again, unchanged, on the next run;
articles archived meanwhile wait for the next delivery, which the same run
creates once the retried one has gone out.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import select, text, update

from crawler.config import Config, ConfigError, Digest
from newsmon.digests.channels import DeliveryError, send
from newsmon.digests.content import DigestContent, build_content, uncovered_article_ids
from storage.db import session_scope
from storage.leases import Holder, LeaseState, delivery_lease_name, release, try_acquire
from storage.models import DigestDelivery, DigestItem, DigestSnapshot, utcnow

log = logging.getLogger("newsmon.digests")


@dataclass
class DeliveryResult:
    digest: str
    channel: str
    status: str  # delivered | failed | nothing-new | busy | dry-run
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


# Longest a send may hold a delivery's lease: a live sender on this host keeps
# it this long at most; a dead one (kill -9) frees it at once (storage.leases).
SEND_LEASE_SECONDS = 900.0

_CONTENT = TypeAdapter(DigestContent)


def freeze(content: DigestContent) -> str:
    return _CONTENT.dump_json(content).decode()


def thaw(frozen: str) -> DigestContent:
    return _CONTENT.validate_json(frozen)


@dataclass
class Claim:
    delivery_id: int
    key: str
    content: DigestContent
    retry: bool  # an unfinished delivery sent again (unchanged)


@dataclass
class Busy:
    key: str
    lease: LeaseState | None


def _take(session, delivery: DigestDelivery, holder: Holder) -> LeaseState | None:
    """The delivery's send lease for ``holder``; the other holder's lease when it is taken."""
    taken, lease = try_acquire(session, delivery_lease_name(delivery.id), holder, SEND_LEASE_SECONDS,
                               info={"delivery": delivery.delivery_key})
    return None if taken else lease


def _claim(url: str, config: Config, digest: Digest, channel: str, holder: Holder) -> Claim | Busy | None:
    """Step 1: the delivery to send, its items and content committed before
    anything is sent, and its send lease. None when there is nothing to say
    and the digest does not send empty ones."""
    with session_scope(url) as session:
        _lock_channel(session, digest.name, channel)
        delivery = _unfinished(session, digest.name, channel)
        if delivery is not None:
            other = _take(session, delivery, holder)
            if other is not None:
                return Busy(delivery.delivery_key, other)
            delivery.attempts += 1
            snapshot = session.get(DigestSnapshot, delivery.id)
            if snapshot is None:  # created before snapshots existed: freeze it now, once
                content = build_content(session, config, digest, _item_ids(session, delivery.id),
                                        delivery.delivery_key, channel)
                session.add(DigestSnapshot(delivery_id=delivery.id, content=freeze(content), created_at=utcnow()))
            else:
                content = thaw(snapshot.content)
            return Claim(delivery.id, delivery.delivery_key, content, retry=True)
        new_ids = uncovered_article_ids(session, digest, channel)
        key = uuid.uuid4().hex
        content = build_content(session, config, digest, new_ids, key, channel)
        if not new_ids and content.is_empty and not digest.send_empty:
            return None
        delivery = DigestDelivery(digest=digest.name, channel=channel, delivery_key=key, status="pending",
                                  attempts=1, created_at=utcnow())
        session.add(delivery)
        session.flush()
        session.add_all(DigestItem(delivery_id=delivery.id, article_id=aid) for aid in new_ids)
        session.add(DigestSnapshot(delivery_id=delivery.id, content=freeze(content), created_at=utcnow()))
        _take(session, delivery, holder)
        return Claim(delivery.id, key, content, retry=False)


def _finish(url: str, delivery_id: int, error: str | None, holder: Holder) -> None:
    """Step 3: delivered, or failed with the reason (kept for the next run); the lease released."""
    with session_scope(url) as session:
        delivery = session.get(DigestDelivery, delivery_id)
        if error is None:
            delivery.status, delivery.delivered_at, delivery.error = "delivered", utcnow(), None
        else:
            delivery.status, delivery.error = "failed", error
        release(session, delivery_lease_name(delivery_id), holder)


def _preview(url: str, config: Config, digest: Digest, channel: str) -> DeliveryResult:
    """What a run would send on this channel next, computed without writing anything."""
    with session_scope(url) as session:
        delivery = _unfinished(session, digest.name, channel)
        snapshot = session.get(DigestSnapshot, delivery.id) if delivery else None
        if snapshot is not None:
            content, key = thaw(snapshot.content), delivery.delivery_key
        else:
            ids = _item_ids(session, delivery.id) if delivery else uncovered_article_ids(session, digest, channel)
            key = delivery.delivery_key if delivery else "(new)"
            content = build_content(session, config, digest, ids, key, channel)
        session.rollback()
    status = "dry-run" if (delivery or not content.is_empty or digest.send_empty) else "nothing-new"
    return DeliveryResult(digest.name, channel, status, None if key == "(new)" else key, len(content.article_ids),
                          content=content)


def _deliver(url: str, config: Config, digest: Digest, channel_config, channel: str,
             holder: Holder) -> tuple[DeliveryResult, bool]:
    """Claim and send one delivery; returns its result and whether to go on
    (a retried delivery went out: newer articles get a delivery of their own)."""
    name = digest.name
    claimed = _claim(url, config, digest, channel, holder)
    if claimed is None:
        log.info("digest %s %s: nothing new, not sent", name, channel)
        return DeliveryResult(name, channel, "nothing-new"), False
    if isinstance(claimed, Busy):
        who = f" (pid {claimed.lease.pid} on {claimed.lease.host})" if claimed.lease else ""
        log.info("digest %s %s: delivery %s is being sent by another sender%s: not sent now", name, channel,
                 claimed.key, who)
        return DeliveryResult(name, channel, "busy", claimed.key, detail=f"being sent by another sender{who}"), False
    content = claimed.content
    try:
        where = send(config, channel_config, content)
    except DeliveryError as exc:
        _finish(url, claimed.delivery_id, str(exc), holder)
        log.warning("digest %s %s: delivery %s failed, will retry on the next run: %s", name, channel,
                    claimed.key, exc)
        return DeliveryResult(name, channel, "failed", claimed.key, len(content.article_ids), str(exc), content), False
    _finish(url, claimed.delivery_id, None, holder)
    log.info("digest %s %s: delivery %s sent (%d articles)%s to %s", name, channel, claimed.key,
             len(content.article_ids), " again, unchanged," if claimed.retry else "", where)
    return DeliveryResult(name, channel, "delivered", claimed.key, len(content.article_ids), where, content), \
        claimed.retry


def run_digest(config: Config, url: str, name: str, *, dry_run: bool = False) -> list[DeliveryResult]:
    """Deliver digest ``name`` on each of its channels (or, with ``dry_run``,
    say what would be delivered and record nothing). One channel failing does
    not stop the others. An unfinished delivery goes out first, unchanged;
    then newer articles, in a new delivery."""
    digest = find_digest(config, name)
    holder = Holder()
    results = []
    for index, channel_config in enumerate(digest.channels):
        channel = channel_key(index, channel_config)
        if dry_run:
            results.append(_preview(url, config, digest, channel))
            continue
        go_on = True
        while go_on:
            result, go_on = _deliver(url, config, digest, channel_config, channel, holder)
            if go_on and result.status == "delivered":
                results.append(result)
                continue
            if result.status != "nothing-new" or not any(r.channel == channel for r in results):
                results.append(result)
    return results
