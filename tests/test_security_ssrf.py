"""The SSRF guard, over real HTTP on loopback: a source may only reach its own
hosts and ports, every redirect hop included, and unless it is marked
``allow_private_addresses`` no loopback/private address at all (checked at
connect time, so a *name* that resolves to 127.0.0.1 is refused too).
Canary servers on another port and on 127.0.0.2 prove no request arrives."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from cli_helpers import run_newsmon
from hostile import HostileServer, Reply, article_html, rss
from storage.db import session_scope
from storage.models import Article, CrawlRun, Fetch, Source

CRAWL = {"download_delay": 0, "autothrottle": False, "retry_times": 1, "download_timeout": 5}


def write_config(tmp_path, db_url, sources) -> str:
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "sources": sources, "crawl": CRAWL}), encoding="utf-8")
    return str(path)


def crawl(config, *names):
    return run_newsmon("--config", config, "crawl", "--set", "NEWSMON_RETRY_BACKOFF=0.1", *names, timeout=180)


def fetches(session, source):
    return list(session.scalars(select(Fetch).join(Source, Source.id == Fetch.source_id)
                                .where(Source.name == source).order_by(Fetch.id)))


@pytest.fixture
def servers():
    """The site (127.0.0.1:P), a canary on 127.0.0.1:Q and one on 127.0.0.2:P."""
    with HostileServer() as site, HostileServer() as canary:
        with HostileServer(host="127.0.0.2", port=site.port) as canary2:
            yield site, canary, canary2


def test_a_loopback_source_not_marked_local_is_refused_before_any_request(servers, sqlite_url, tmp_path):
    site, canary, canary2 = servers
    site.routes["/feed.xml"] = Reply(body=rss(site.base_url + "/story"), headers={"Content-Type": "application/rss+xml"})
    site.routes["/story"] = Reply(body=article_html("A story"))
    sources = [
        # an IP literal: refused by the host check, before robots.txt
        {"name": "literal", "feeds": [site.base_url + "/feed.xml"]},
        # a name resolving to 127.0.0.1: refused at connect time by the resolver (what defeats DNS rebinding)
        {"name": "by-name", "feeds": [f"http://localhost:{site.port}/feed.xml"]},
    ]
    config = write_config(tmp_path, sqlite_url, sources)
    result = crawl(config)
    assert result.returncode == 1, result.stderr[-2000:]  # nothing could be crawled
    assert "Traceback" not in result.stderr
    assert site.requests == [] and canary.requests == [] and canary2.requests == []
    with session_scope(sqlite_url) as session:
        [literal] = fetches(session, "literal")
        assert literal.outcome == "refused" and "127.0.0.1 is a loopback address" in literal.reason
        assert "allow_private_addresses" in literal.reason
        [by_name] = fetches(session, "by-name")
        assert by_name.outcome == "refused" and "localhost resolves to 127.0.0.1" in by_name.reason
        runs = session.scalars(select(CrawlRun)).all()
        assert {r.status for r in runs} == {"failed"} and all(r.errors == 1 for r in runs)
        assert session.scalar(select(Article.id)) is None
    # one logged reason per refusal
    logged = [line for line in result.stderr.splitlines() if "newsmon.crawl" in line and "refused" in line]
    assert len(logged) == 2 and "robotstxt" not in result.stderr, result.stderr[-3000:]


def test_a_local_source_is_refused_every_redirect_and_link_off_its_host_and_port(servers, sqlite_url, tmp_path):
    site, canary, canary2 = servers
    base, port = site.base_url, site.port
    moved = lambda to: Reply(301, b"moved", {"Location": to})  # noqa: E731
    links = [
        base + "/ok/story",
        base + "/r/port",        # → another port on the same host
        base + "/r/host",        # → 127.0.0.2, same port
        base + "/r/localhost",   # → localhost: a name for the same machine
        base + "/r/file",        # → file:///etc/passwd
        # links that are offsite as listed
        f"http://user:pw@127.0.0.2:{port}/userinfo",
        f"http://2130706434:{port}/decimal-ip",  # 127.0.0.2 as one decimal number
        f"http://localhost.:{port}/trailing-dot",
        f"http://127.0.0.1:{canary.port}/other-port",
        "file:///etc/passwd",
        f"gopher://127.0.0.1:{canary.port}/_GET%20/admin",
        f"http://[::1]:{port}/ipv6",
    ]
    site.routes.update({
        "/feed.xml": Reply(body=rss(*links), headers={"Content-Type": "application/rss+xml"}),
        "/ok/story": Reply(body=article_html("Bogota and Washington agree on aid")),
        "/r/port": moved(f"http://127.0.0.1:{canary.port}/admin"),
        "/r/host": moved(f"http://127.0.0.2:{port}/admin"),
        "/r/localhost": moved(f"http://localhost:{port}/admin"),
        "/r/file": moved("file:///etc/passwd"),
        # a sitemap that redirects away, and an index whose child is on the canary's port
        "/sitemap-moved.xml": moved(f"http://127.0.0.1:{canary.port}/sitemap.xml"),
        "/sitemap-index.xml": Reply(body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>http://127.0.0.1:{canary.port}/child.xml</loc></sitemap></sitemapindex>").encode(),
            headers={"Content-Type": "application/xml"}),
    })
    sources = [{"name": "local", "feeds": [base + "/feed.xml"],
                "sitemaps": [base + "/sitemap-moved.xml", base + "/sitemap-index.xml"],
                "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True}]
    config = write_config(tmp_path, sqlite_url, sources)
    result = crawl(config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert canary.requests == [] and canary2.requests == []
    assert "/admin" not in site.requests
    with session_scope(sqlite_url) as session:
        rows = fetches(session, "local")
        refused = {r.url.removeprefix(base): r.reason for r in rows if r.outcome == "refused"}
        assert set(refused) == {"/r/port", "/r/host", "/r/localhost", "/sitemap-moved.xml",
                                f"http://127.0.0.1:{canary.port}/child.xml",
                                f"http://127.0.0.1:{canary.port}/other-port"}, refused
        assert f"redirect to http://127.0.0.1:{canary.port}/admin: port {canary.port}" in refused["/r/port"]
        assert "host 127.0.0.2 is not among the source's allowed hosts" in refused["/r/host"]
        assert "host localhost is not among" in refused["/r/localhost"]
        assert f"port {canary.port} of 127.0.0.1" in refused[f"http://127.0.0.1:{canary.port}/child.xml"]
        # the redirect to file: is not followed either (Scrapy drops non-http redirects)
        assert not any("etc/passwd" in (r.url + (r.reason or "")) and r.outcome in ("new", "updated") for r in rows)
        # the listed offsite links are counted once, on the feed's row; none became a request
        [feed] = [r for r in rows if r.kind == "feed"]
        assert feed.outcome == "parsed"
        assert "4 offsite links left out" in feed.reason and "2 non-http(s) links left out" in feed.reason
        titles = list(session.scalars(select(Article.title)))
        assert titles == ["Bogota and Washington agree on aid"]
    logged = [line for line in result.stderr.splitlines() if "newsmon.crawl" in line and "refused" in line]
    assert len(logged) == 6, result.stderr[-3000:]


def test_the_address_is_checked_at_connect_time_even_without_the_request_checks(servers, sqlite_url, tmp_path):
    """With the middleware switched off, only the resolver stands between a request and a loopback
    address: the address actually connected to is checked, so DNS rebinding cannot slip past."""
    site, _, _ = servers
    site.routes["/feed.xml"] = Reply(body=rss(site.base_url + "/story"), headers={"Content-Type": "application/rss+xml"})
    sources = [{"name": "literal", "feeds": [site.base_url + "/feed.xml"]},
               {"name": "by-name", "feeds": [f"http://localhost:{site.port}/feed.xml"]}]
    config = write_config(tmp_path, sqlite_url, sources)
    result = crawl(config, "--set", 'DOWNLOADER_MIDDLEWARES={"crawler.netguard.NetGuardMiddleware": null}',
                   "--set", "ROBOTSTXT_OBEY=False")
    assert result.returncode == 1, result.stderr[-2000:]
    assert site.requests == []
    with session_scope(sqlite_url) as session:
        [literal] = fetches(session, "literal")
        assert literal.outcome == "refused" and "127.0.0.1 resolves to 127.0.0.1: a loopback address" in literal.reason
        [by_name] = fetches(session, "by-name")
        assert by_name.outcome == "refused" and "localhost resolves to 127.0.0.1" in by_name.reason
