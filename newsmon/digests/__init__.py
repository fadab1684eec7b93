"""Digests: what is new for a subscription, rendered and delivered exactly once
per channel (see ``delivery`` for the bookkeeping and its one honest gap).

The names below are imported on first use (PEP 562): the daemon imports
``crawler.schedules`` and ``.content`` for every source, and should not
load the renderer (jinja2) and the channels unless a digest is actually sent."""
from __future__ import annotations

__all__ = ["DeliveryResult", "channel_key", "find_digest", "run_digest"]


def __getattr__(name: str):
    if name in __all__:
        from newsmon.digests import delivery

        return getattr(delivery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
