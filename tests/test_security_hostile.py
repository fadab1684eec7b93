"""Hostile sites, over real HTTP on loopback, all sizes kept small: one crawl
of several hostile sources, then what the archive and the fetch log say.

Findings: 6 (a catastrophic url_allow regex; a sitemap of offsite URLs: one
row, not one per URL), 7 (a sitemap-index chain is followed 5 levels, not
300), 10 (decompression bombs are errors and the run is not 'ok'). Survived
cases kept as tests: gzip/deflate/brotli bombs (pages and sitemaps), XXE and
billion laughs in RSS and sitemaps, XSS and CR/LF in titles (escaped in the
HTML/Atom/Markdown digests). And SIGTERM is honoured within --stop-grace
while a page is still trickling in."""
from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import zlib

import brotli
import pytest
import yaml
from sqlalchemy import func, select

from cli_helpers import REPO, run_newsmon
from hostile import HostileServer, Reply, article_html, rss, wait_for
from storage.db import session_scope
from storage.models import Article, CrawlRun, FeedState, Fetch, Source

# The timeout ends the slowloris page (400 bytes at 2 a second); it must also leave the endless page and the
# bombs time to reach the size limit while the reactor thread parses the other hostile sources, under load:
# at 10 s and two CPU hogs an endless page was cut by the timeout first.
CRAWL = {"download_delay": 0, "autothrottle": False, "retry_times": 0, "download_timeout": 30,
         "max_response_bytes": 1_000_000}
BOMB = b"\0" * 30_000_000  # 30 MB of zeros: ~30 kB compressed, 30 × the response limit
INDEX_DEPTH = 12
FLOOD = 3000
XML = {"Content-Type": "application/xml"}
RSS = {"Content-Type": "application/rss+xml"}
EVIL_TITLE = 'Aid <script>alert("x")</script> & "talks"'

LOLS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + "]>")
XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


MALFORMED = {
    "truncated": b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>x</ti',
    "garbage": bytes(range(256)) * 20,
    "html": b"<!DOCTYPE html><html><body><h1>Not a feed</h1></body></html>",
    "empty": b"",
    "bad-utf8": b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>\xff\xfe</title>'
                b"<item><title>\xc3\x28</title><link>/ok/utf8-story</link></item></channel></rss>",
    "deep": b'<?xml version="1.0"?><rss version="2.0"><channel>' + b"<x>" * 5000 + b"</x>" * 5000 + b"</channel></rss>",
    "huge-attr": b'<?xml version="1.0"?><rss version="2.0"><channel><item a="' + b"a" * 500_000 + b'"/></channel></rss>',
}


def urlset(*locs: str, doctype: str = "") -> bytes:
    entries = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>').encode()


def index(child: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{child}</loc></sitemap></sitemapindex>").encode()


def feed_with(doctype: str, title: str, link: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<rss version="2.0"><channel><title>t</title>'
            f"<link>http://example.invalid/</link><description>d</description>"
            f"<item><title>{title}</title><link>{link}</link></item></channel></rss>").encode()


@pytest.fixture
def hostile():
    with HostileServer() as site:
        base = site.base_url
        a36 = "a" * 36
        routes = {
            # finding 6: url_allow (a|aa)+$ against 36 a's (CPU-bound > 117 s before)
            "/regex/feed.xml": Reply(body=rss(f"{base}/ok/fine-story", f"{base}/{a36}b"), headers=RSS),
            "/ok/fine-story": Reply(body=article_html("A fine story about aid")),
            # finding 7: a sitemap-index chain
            **{f"/chain/{i}.xml": Reply(body=index(f"{base}/chain/{i + 1}.xml"), headers=XML)
               for i in range(INDEX_DEPTH)},
            # finding 6: a sitemap listing thousands of offsite URLs
            "/flood/sitemap.xml": Reply(body=urlset(*(f"http://offsite{i}.example/n/{i}" for i in range(FLOOD))),
                                        headers=XML),
            # finding 10 and survived: decompression bombs
            "/bombs/feed.xml": Reply(body=rss(f"{base}/bomb/gzip", f"{base}/bomb/deflate", f"{base}/bomb/br"),
                                     headers=RSS),
            "/bomb/gzip": Reply(body=gzip.compress(BOMB), headers={"Content-Encoding": "gzip"}),
            "/bomb/deflate": Reply(body=zlib.compress(BOMB), headers={"Content-Encoding": "deflate"}),
            "/bomb/br": Reply(body=brotli.compress(BOMB, quality=1), headers={"Content-Encoding": "br"}),
            "/bomb/sitemap.xml.gz": Reply(body=gzip.compress(b"\0" * 60_000_000),
                                          headers={"Content-Type": "application/x-gzip"}),
            "/bomb/sitemap-encoded.xml": Reply(body=gzip.compress(BOMB),
                                               headers={**XML, "Content-Encoding": "gzip"}),
            # survived: XXE and billion laughs in feeds and sitemaps
            "/xxe/feed.xml": Reply(body=feed_with(XXE, "&xxe;", f"{base}/ok/xxe-story"), headers=RSS),
            "/ok/xxe-story": Reply(body=article_html("Story behind an XXE feed")),
            "/lol/feed.xml": Reply(body=feed_with(LOLS, "&lol9;", f"{base}/ok/lol-story"), headers=RSS),
            "/ok/lol-story": Reply(body=article_html("Story behind a billion laughs")),
            "/xxe/sitemap.xml": Reply(body=urlset("&xxe;", f"{base}/ok/sitemap-story", doctype=XXE), headers=XML),
            "/lol/sitemap.xml": Reply(body=urlset("&lol9;", doctype=LOLS), headers=XML),
            "/ok/sitemap-story": Reply(body=article_html("Story listed in an XXE sitemap")),
            # survived: endless and trickling pages
            "/long/feed.xml": Reply(body=rss(f"{base}/endless", f"{base}/slowloris"), headers=RSS),
            "/endless": Reply(endless=True),
            "/slowloris": Reply(body=article_html("Slow")[:400], trickle=0.5),
            # survived: malformed feeds
            **{f"/malformed/{name}.xml": Reply(body=body, headers=RSS) for name, body in MALFORMED.items()},
            # survived: XSS and CR/LF in a title
            "/evil/feed.xml": Reply(body=rss(f"{base}/ok/evil-title", titles=[EVIL_TITLE + "\r\nBcc: x@y"]),
                                    headers=RSS),
            "/ok/evil-title": Reply(body=article_html(EVIL_TITLE)),
        }
        site.routes.update(routes)
        yield site


def source(name: str, base: str, **entries) -> dict:
    return {"name": name, "allowed_domains": ["127.0.0.1"], "allow_private_addresses": True, **entries}


def fetches(session, name):
    return list(session.scalars(select(Fetch).join(Source, Source.id == Fetch.source_id)
                                .where(Source.name == name).order_by(Fetch.id)))


def run_of(session, name) -> CrawlRun:
    return session.scalar(select(CrawlRun).join(Source, Source.id == CrawlRun.source_id)
                          .where(Source.name == name).order_by(CrawlRun.id.desc()).limit(1))


def test_hostile_sources_end_bounded_with_their_reasons_logged(hostile, sqlite_url, tmp_path):
    base = hostile.base_url
    sources = [
        source("regex", base, feeds=[f"{base}/regex/feed.xml"], url_allow=["(a|aa)+$", "/ok/"]),
        source("chain", base, sitemaps=[f"{base}/chain/0.xml"]),
        source("flood", base, sitemaps=[f"{base}/flood/sitemap.xml"]),
        source("bombs", base, feeds=[f"{base}/bombs/feed.xml"],
               sitemaps=[f"{base}/bomb/sitemap.xml.gz", f"{base}/bomb/sitemap-encoded.xml"]),
        source("xxe", base, feeds=[f"{base}/xxe/feed.xml", f"{base}/lol/feed.xml"],
               sitemaps=[f"{base}/xxe/sitemap.xml", f"{base}/lol/sitemap.xml"]),
        source("evil", base, feeds=[f"{base}/evil/feed.xml"]),
        source("long", base, feeds=[f"{base}/long/feed.xml"]),
        source("malformed", base, feeds=[f"{base}/malformed/{name}.xml" for name in MALFORMED]),
    ]
    digest = {"name": "desk", "channels": [{"type": "markdown", "path": "out/d.md"},
                                           {"type": "html", "path": "out/d.html"},
                                           {"type": "atom", "path": "out/d.atom"}]}
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({"database_url": sqlite_url, "sources": sources, "crawl": CRAWL,
                                      "digests": [digest]}), encoding="utf-8")
    result = run_newsmon("--config", str(config), "crawl", timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[max(result.stderr.find("Traceback") - 600, 0):][:5000]

    with session_scope(sqlite_url) as session:
        # the catastrophic pattern ran out of time once, was treated as not matching, and said so once
        assert f"/{'a' * 36}b" not in hostile.requests and "/ok/fine-story" in hostile.requests
        assert result.stderr.count("ran longer than") == 1
        titles = list(session.scalars(select(Article.title).join(Source).where(Source.name == "regex")))
        assert titles == ["A fine story about aid"], [(r.url, r.outcome, r.reason) for r in fetches(session, "regex")]

        # the index chain: followed 5 levels below the entry point, the rest reported, not fetched
        chain = [p for p in hostile.requests if p.startswith("/chain/")]
        assert sorted(chain) == [f"/chain/{i}.xml" for i in range(6)]
        deepest = [r for r in fetches(session, "chain") if r.url.endswith("/chain/5.xml")][0]
        assert "1 child sitemaps deeper than 5 levels not followed" in deepest.reason
        assert session.scalar(select(func.count()).select_from(FeedState)
                              .join(Source).where(Source.name == "chain")) == 6

        # thousands of offsite URLs: one row for the list, not one per URL
        [row] = fetches(session, "flood")
        assert row.outcome == "parsed" and f"{FLOOD} offsite links left out (first: offsite0.example)" in row.reason

        # bombs: errors with a reason, the run not 'ok'
        rows = {r.url.removeprefix(base): r for r in fetches(session, "bombs")}
        for path in ("/bomb/gzip", "/bomb/deflate", "/bomb/br", "/bomb/sitemap-encoded.xml"):
            assert rows[path].outcome == "error", (path, rows[path].reason)
            assert "too large after decompression: over the 1000000 byte limit" in rows[path].reason
        assert rows["/bomb/sitemap.xml.gz"].outcome == "error"
        assert "unreadable gzip sitemap" in rows["/bomb/sitemap.xml.gz"].reason
        bombs = run_of(session, "bombs")
        assert bombs.status == "partial" and bombs.errors == 5  # the feed was read; every page and sitemap failed

        # XXE and billion laughs: no file read, no expansion, the real stories still filed
        titles = set(session.scalars(select(Article.title).join(Source).where(Source.name == "xxe")))
        assert titles == {"Story behind an XXE feed", "Story behind a billion laughs", "Story listed in an XXE sitemap"}
        everything = " ".join(f"{r.url} {r.reason}" for r in fetches(session, "xxe"))
        everything += " ".join(session.scalars(select(Article.text)))
        assert "root:" not in everything and "lollollol" not in everything
        assert not [p for p in hostile.requests if "passwd" in p or "lollol" in p]

        # endless and trickling pages end at the size limit and the timeout
        rows = {r.url.removeprefix(base): r for r in fetches(session, "long")}
        assert rows["/endless"].outcome == "error" and "too large" in rows["/endless"].reason
        assert rows["/slowloris"].outcome == "error" and "timeout" in rows["/slowloris"].reason

        # malformed feeds: each one row with a reason, parsed (repaired) or an error
        rows = {r.url.removeprefix(base): r for r in fetches(session, "malformed") if r.kind == "feed"}
        assert set(rows) == {f"/malformed/{name}.xml" for name in MALFORMED}
        for row in rows.values():
            assert row.outcome in ("parsed", "error") and row.reason, (row.url, row.outcome, row.reason)
        assert rows["/malformed/garbage.xml"].outcome == "error"
        assert rows["/malformed/empty.xml"].reason == "empty response (no feed)"  # was an AttributeError

        # XSS / CR-LF in a title: stored as text
        evil = session.scalar(select(Article).join(Source).where(Source.name == "evil"))
        assert evil is not None and "<script>" in evil.title

    sent = run_newsmon("--config", str(config), "digest", "desk", "--send", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr[-2000:]
    for name in ("d.md", "d.html", "d.atom"):
        text = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "<script>" not in text, name
        assert "Bcc: x@y\n" not in text and "\r" not in text, name
    assert "&lt;script&gt;" in (tmp_path / "out" / "d.html").read_text(encoding="utf-8")


def test_sigterm_ends_the_crawl_within_its_grace_while_a_page_trickles_in(sqlite_url, tmp_path):
    with HostileServer() as site:
        site.routes["/feed.xml"] = Reply(body=rss(site.base_url + "/slow"), headers=RSS)
        # 400 bytes at one byte per half second: 200 s, within a 300 s download timeout
        site.routes["/slow"] = Reply(body=article_html("Slow")[:400], trickle=0.5)
        config = tmp_path / "newsmon.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": sqlite_url, "crawl": {**CRAWL, "download_timeout": 300},
            "sources": [source("slow", site.base_url, feeds=[site.base_url + "/feed.xml"])]}), encoding="utf-8")
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("NEWSMON_")}
        proc = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", str(config), "crawl",
                                 "--stop-grace", "2"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: "/slow" in site.requests, timeout=60), "the slow page was never requested"
            proc.send_signal(signal.SIGTERM)
            # a safety net far below the 200 s the page would take
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode != 0
    assert "did not end within 2 s of the stop signal" in stderr, stderr[-2000:]
    with session_scope(sqlite_url) as session:
        run = run_of(session, "slow")
        assert run.status == "interrupted" and run.finished_at is not None
