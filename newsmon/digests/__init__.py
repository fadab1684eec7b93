"""Digests: what is new for a subscription, rendered and delivered exactly once
per channel (see ``delivery`` for the bookkeeping and its one honest gap)."""
from newsmon.digests.delivery import DeliveryResult, channel_key, find_digest, run_digest

__all__ = ["DeliveryResult", "channel_key", "find_digest", "run_digest"]
