"""The SSRF guard: what a crawl may connect to.

A news monitor fetches whatever hostile pages, feeds and sitemaps link to, so
every request is checked twice:

1. :class:`NetGuardMiddleware` (a downloader middleware, first in the chain,
   so it sees every request: entry points, articles, robots.txt, each redirect
   hop) refuses any URL that is not http(s) or whose host and port are not the
   source's (``allowed_domains`` or the entry points' hosts; ``allowed_ports``
   or 80, 443 and the entry points' ports).
2. :class:`GuardedResolver` (Scrapy's ``TWISTED_DNS_RESOLVER``) checks the
   address every connection is about to use, after DNS and the DNS cache, so a
   name that resolved to a public address once and to 127.0.0.1 the next time
   (DNS rebinding) is still refused: loopback, private, link-local, shared,
   unique-local, multicast, reserved and unspecified addresses are not
   connected to unless every source of the process that names the host is
   marked ``allow_private_addresses: true``.

A refused request never reaches the network. It is logged once, with its
reason, and lands in ``fetches`` with outcome ``refused``.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

log = logging.getLogger("newsmon.crawl")

DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(IgnoreRequest):
    """A request the guard will not send (the message is the reason)."""


def address_problem(address: str) -> str | None:
    """Why ``address`` (an IP literal) is not a public address, or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, what in (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
                       ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
                       ("is_reserved", "a reserved"), ("is_private", "a private")):
        if getattr(ip, test):
            return f"{ip} is {what} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def literal_address(host: str) -> str | None:
    """The address a host written as an IP literal means, in any form the C
    library accepts (``2130706433``, ``0x7f.1``, ``127.1``), or None for a name."""
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_matches(host: str, allowed: set[str]) -> bool:
    return any(host == a or host.endswith("." + a) for a in allowed)


@dataclass
class SourcePolicy:
    """One source's hosts and ports, and whether it may reach private addresses."""

    name: str
    hosts: set[str]
    ports: set[int]
    allow_private: bool = False

    def check_url(self, url: str) -> str | None:
        """Why this URL may not be requested for this source, or None."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return f"unusable URL ({exc})"
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            return f"scheme {scheme or '(none)'}: is not http or https"
        host = (parts.hostname or "").lower()
        if not host:
            return "the URL has no host"
        if not host_matches(host, self.hosts):
            return f"host {host} is not among the source's allowed hosts ({', '.join(sorted(self.hosts))})"
        port = port or DEFAULT_PORTS[scheme]
        if port not in self.ports:
            return (f"port {port} of {host} is not among the source's allowed ports "
                    f"({', '.join(map(str, sorted(self.ports)))})")
        if not self.allow_private:
            address = literal_address(host)
            if address is not None:
                problem = address_problem(address)
                if problem:
                    where = "" if host == address else f"{host}: "
                    return f"{where}{problem} (the source is not marked allow_private_addresses)"
        return None


def source_policy(source, entry_urls: list[str]) -> SourcePolicy:
    """The policy of a configured source (crawler.config.Source)."""
    hosts = {h.lower().rstrip(".") for h in source.allowed_domains} or {
        (urlsplit(u).hostname or "").lower() for u in entry_urls}
    ports = set(source.allowed_ports or ())
    if not ports:
        ports = set(DEFAULT_PORTS.values())
        for url in entry_urls:
            parts = urlsplit(url)
            ports.add(parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 80))
    return SourcePolicy(source.name, hosts, ports, bool(source.allow_private_addresses))


@dataclass
class ProcessPolicy:
    """The sources crawled by this process, as the resolver needs them: a host
    may resolve to a non-public address only if some registered source allowed
    to do so names it and no registered source that is not allowed names it."""

    sources: list[SourcePolicy] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)  # host → the last reason it was refused

    def register(self, policy: SourcePolicy) -> None:
        self.sources = [s for s in self.sources if s.name != policy.name] + [policy]

    def private_ok(self, host: str) -> bool:
        naming = [s for s in self.sources if host_matches(host, s.hosts)]
        return bool(naming) and all(s.allow_private for s in naming)


POLICY = ProcessPolicy()


def connect_refusal(host: str | None) -> str | None:
    """The reason the resolver refused ``host`` in this process, if it did."""
    return POLICY.refusals.get((host or "").lower())


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, plus the address check at connect time.
    Every TCP connection Twisted makes (HostnameEndpoint, connectTCP) asks
    this resolver, IP literals included, so the check sees the address
    actually connected to."""

    def getHostByName(self, name: str, timeout=()):  # noqa: N802 - Twisted API
        d = super().getHostByName(name, timeout)
        d.addCallback(self._check, name)
        return d

    def _check(self, address: str, name: str):
        host = name.lower().rstrip(".")
        problem = address_problem(address)
        if problem is None or POLICY.private_ok(host):
            return address
        reason = (f"refused: {host} resolves to {address}: {problem.split(' is ', 1)[1]} "
                  f"(mark the source allow_private_addresses: true if it is meant to be)")
        POLICY.refusals[host] = reason
        return defer.fail(DNSLookupError(reason))


def guard_installed() -> bool:
    from twisted.internet import reactor

    return isinstance(getattr(reactor, "resolver", None), GuardedResolver)


class NetGuardMiddleware:
    """Refuses requests outside the spider's :class:`SourcePolicy` (first in
    the downloader chain: before robots.txt, cookies, redirects and retries)."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request):
        spider = self.crawler.spider
        policy: SourcePolicy | None = getattr(spider, "net_policy", None)
        if policy is None:
            raise Refused("refused: the spider declares no source policy")
        if not guard_installed():
            raise Refused("refused: the address check is not installed (TWISTED_DNS_RESOLVER must be "
                          "crawler.netguard.GuardedResolver)")
        problem = policy.check_url(request.url)
        if problem:
            via = f"redirect to {request.url}: " if request.meta.get("redirect_urls") else ""
            raise Refused(f"refused: {via}{problem}")
        host = urlsplit(request.url).hostname or ""
        if not policy.allow_private and literal_address(host) is None:
            # Resolve now (through the guarded resolver and its cache) so a refusal is
            # one clear reason here rather than a failed robots.txt fetch first; the
            # connection itself is checked again when it is made.
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor

            try:
                await maybe_deferred_to_future(reactor.resolve(host))
            except Exception:  # noqa: BLE001 - refused, unknown or slow: the download decides the rest
                refusal = connect_refusal(host)
                if refusal:
                    raise Refused(refusal) from None
                # an unknown name or a DNS timeout: let the download fail with Scrapy's own error
        return None
