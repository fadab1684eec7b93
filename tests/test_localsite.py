"""The bundled local news site answers over real HTTP the way the crawl tests
and ``newsmon demo`` rely on: feeds and sitemaps list the articles, conditional
GET works, the edited article changes, robots.txt guards the private path, and
every bad-input endpoint misbehaves exactly as declared."""
from __future__ import annotations

import gzip
import html
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
import urllib.robotparser
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import lxml.html
import pytest

from crawler.urls import canonicalize_url
from crawler.config import parse_config
from newsmon.localsite import BAD_CASES, SITE_DIR, LocalNewsSite

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "news": "http://www.google.com/schemas/sitemap-news/0.9"}
BODY_PARAGRAPHS = ("//div[@class='story-body']//p | //div[@class='cuerpo']//p | //div[@class='text']//p"
                   " | //article/p[not(@class)]")


@pytest.fixture(scope="module")
def site():
    with LocalNewsSite(slow_seconds=2, oversized_bytes=300_000) as running:
        yield running


def get(url: str, headers: dict | None = None, method: str = "GET"):
    """(status, headers, body) without raising on 3xx-5xx and without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def manifest_by_path(site) -> dict[str, dict]:
    return {a["path"]: a for a in site.articles()}


def test_rss_and_atom_feeds_list_the_outlets_articles(site):
    manifest = site.articles()
    for feed_path, outlet in (("/andean-post/feed.xml", "andean-post"), ("/el-observador/atom.xml", "el-observador")):
        parsed = feedparser.parse(site.base_url + feed_path)
        assert not parsed.bozo, parsed.get("bozo_exception")
        listed = {(canonicalize_url(e.link), e.title) for e in parsed.entries}
        expected = {(canonicalize_url(a["url"]), a["title"]) for a in manifest
                    if a["outlet"] == outlet and "feed" in a["listed_in"]}
        assert listed == expected and len(listed) >= 4
    assert parsed.version == "atom10"


def test_feed_link_with_tracking_parameters_leads_to_page_declaring_clean_canonical(site):
    parsed = feedparser.parse(site.base_url + "/andean-post/feed.xml")
    tracked = [e.link for e in parsed.entries if "utm_source=" in e.link]
    assert len(tracked) == 1
    status, _, body = get(tracked[0])
    assert status == 200
    canonical = lxml.html.fromstring(body).xpath("//link[@rel='canonical']/@href")
    assert canonical == [canonicalize_url(tracked[0])]
    assert "utm_" not in canonical[0]


def test_google_news_sitemap_reached_from_index_has_news_tags_and_gzip_archive(site):
    status, _, body = get(site.base_url + "/capital-wire/sitemap-index.xml")
    assert status == 200
    locs = ElementTree.fromstring(body).findall("sm:sitemap/sm:loc", NS)
    children = [loc.text for loc in locs]
    assert any(c.endswith(".xml.gz") for c in children) and len(children) == 2

    news = next(c for c in children if c.endswith("sitemap-news.xml"))
    urls = ElementTree.fromstring(get(news)[2]).findall("sm:url", NS)
    titles = {u.findtext("sm:loc", namespaces=NS): u.findtext("news:news/news:title", namespaces=NS) for u in urls}
    dates = [u.findtext("news:news/news:publication_date", namespaces=NS) for u in urls]
    assert titles[site.base_url + "/capital-wire/news/us-colombia-relations"] == "US-Colombia Relations"
    assert all(re.match(r"\d{4}-\d{2}-\d{2}T", d) for d in dates) and len(dates) >= 4

    status, headers, gz = get(next(c for c in children if c.endswith(".gz")))
    assert headers["Content-Type"] == "application/x-gzip"
    archive = [loc.text for loc in ElementTree.fromstring(gzip.decompress(gz)).findall("sm:url/sm:loc", NS)]
    assert site.base_url + "/capital-wire/news/us-colombia-relations-strain-amid-rising-crime-and-drug-trade" in archive


@pytest.mark.parametrize("path", ["/andean-post/feed.xml", "/el-observador/atom.xml",
                                  "/capital-wire/sitemap-news.xml", "/capital-wire/sitemap-archive.xml.gz",
                                  "/capital-wire/news/us-colombia-relations"])
def test_conditional_get_answers_304_to_matching_etag_or_date(site, path):
    status, headers, body = get(site.base_url + path)
    assert status == 200 and body
    etag, last_modified = headers["ETag"], headers["Last-Modified"]

    status, headers, body = get(site.base_url + path, {"If-None-Match": etag})
    assert (status, body) == (304, b"") and headers["ETag"] == etag
    assert get(site.base_url + path, {"If-Modified-Since": last_modified})[0] == 304
    assert get(site.base_url + path, {"If-None-Match": '"something-else"'})[0] == 200
    assert get(site.base_url + path, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200


def test_edition_two_serves_the_edited_article_with_new_validators_and_feed():
    with LocalNewsSite() as site:
        url = site.base_url + "/andean-post/2025/11/19/us-halts-aid-payments-to-colombia"
        feed = site.base_url + "/andean-post/feed.xml"
        _, first_headers, first = get(url)
        _, feed_headers, _ = get(feed)
        assert b"about $230 million" in first and b"summoned the US charg" not in first

        site.edition = 2
        status, headers, second = get(url, {"If-None-Match": first_headers["ETag"]})
        assert status == 200
        assert b"about $320 million" in second and b"summoned the US charg" in second
        assert headers["ETag"] != first_headers["ETag"]
        assert headers["Last-Modified"] != first_headers["Last-Modified"]
        assert get(url, {"If-Modified-Since": first_headers["Last-Modified"]})[0] == 200
        assert get(feed, {"If-None-Match": feed_headers["ETag"]})[0] == 200

        expected = json.loads(open(manifest_by_path(site)[urlsplit(url).path]["expected"], encoding="utf-8").read())
        text = html.unescape(second.decode())
        assert all(sentence in text for sentence in expected["edition_2"]["must_contain"])
        with pytest.raises(ValueError):
            site.edition = 3


def test_robots_txt_disallows_the_private_path_that_the_news_sitemap_lists(site):
    robots = urllib.robotparser.RobotFileParser(site.base_url + "/robots.txt")
    robots.read()
    private = [a for a in site.articles() if a["kind"] == "private"]
    assert len(private) == 1
    assert not robots.can_fetch("newsmon", private[0]["url"])
    assert all(robots.can_fetch("newsmon", a["url"]) for a in site.articles() if a["kind"] != "private")
    assert private[0]["url"].encode() in get(site.base_url + "/capital-wire/sitemap-news.xml")[2]


def test_every_manifest_url_is_an_html_page_matching_its_expected_file(site):
    manifest = site.articles()
    assert {a["outlet"] for a in manifest} >= {"andean-post", "el-observador", "capital-wire"}
    assert {a["seed"] for a in manifest if a["seed"]} == {"000", "001", "002", "003", "004"}
    assert sum(a["kind"] == "offtopic" for a in manifest) >= 4
    for article in manifest:
        status, headers, body = get(article["url"])
        assert status == 200 and headers["Content-Type"].startswith("text/html"), article["path"]
        if article["kind"] in ("thin", "private"):
            assert article["expected"] is None
            continue
        expected = json.loads(open(article["expected"], encoding="utf-8").read())
        page = lxml.html.fromstring(body)
        body_text = " ".join(" ".join(p.text_content().split()) for p in page.xpath(BODY_PARAGRAPHS))
        page_text = " ".join(page.text_content().split())
        assert expected["title"] == article["title"] and expected["language"] == article["language"]
        assert expected["published"] == article["published"][:10]
        assert 2 <= len(expected["must_contain"]) <= 3
        for sentence in expected["must_contain"]:
            assert sentence in body_text, (article["path"], sentence)
        for boilerplate in expected["must_not_contain"]:
            assert boilerplate in page_text, (article["path"], boilerplate)  # really on the page...
            assert boilerplate.casefold() not in body_text.casefold(), (article["path"], boilerplate)  # ...not in the story


def test_syndicated_story_runs_verbatim_on_two_outlets_under_different_templates(site):
    copies = [a for a in site.articles() if a["kind"] == "syndicated"]
    assert len({a["outlet"] for a in copies}) == 2 and len({a["url"] for a in copies}) == 2
    pages = [lxml.html.fromstring(get(a["url"])[2]) for a in copies]
    bodies = [[p.text_content() for p in page.xpath(BODY_PARAGRAPHS)] for page in pages]
    assert bodies[0] == bodies[1] and "(AP) —" in bodies[0][0]
    assert pages[0].xpath("//html/@lang") != pages[1].xpath("//html/@lang")


def test_market_wraps_share_a_template_but_not_their_text(site):
    wraps = [a for a in site.articles() if a["path"].startswith("/capital-wire/markets/")]
    assert len(wraps) == 2
    texts = [" ".join(p.text_content() for p in lxml.html.fromstring(get(a["url"])[2]).xpath(BODY_PARAGRAPHS))
             for a in wraps]
    shingles = [{tuple(t.split()[i:i + 5]) for i in range(len(t.split()) - 4)} for t in texts]
    overlap = len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])
    assert all(t.startswith("The COLCAP index closed at") for t in texts)
    assert overlap < 0.3


def test_section_page_links_articles_and_links_the_source_rules_exclude(site):
    section = next(s for s in site.sources() if s["name"] == "andean-post")["sections"][0]
    page = lxml.html.fromstring(get(section["url"])[2])
    page.make_links_absolute(section["url"])
    links = set(page.xpath("//a/@href"))
    followed = {canonicalize_url(link) for link in links
                if urlsplit(link).hostname == "127.0.0.1"
                and any(re.search(p, link) for p in section["allow"])
                and not any(re.search(p, link) for p in section["deny"])}
    expected = {a["url"] for a in site.articles() if "section" in a["listed_in"]}
    assert followed == expected
    assert any("/tag/" in link for link in links) and any("/login" in link for link in links)
    assert any(urlsplit(link).hostname not in ("127.0.0.1", None) for link in links)
    # without the deny rules the login link (its ?next= names an article) would be followed
    assert any("/login" in link and any(re.search(p, link) for p in section["allow"]) for link in links)


def test_source_declarations_are_valid_newsmon_config(site):
    config = parse_config({"sources": site.sources() + site.bad_sources()}, "<localsite>")
    names = [s.name for s in config.sources]
    assert names[:3] == ["andean-post", "el-observador", "capital-wire"]
    assert names[3:] == [f"bad-{case}" for case in BAD_CASES]


def test_malformed_feed_is_not_well_formed_xml(site):
    status, headers, body = get(site.base_url + "/bad/malformed/feed.xml")
    assert status == 200 and "rss" in headers["Content-Type"]
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(body)
    parsed = feedparser.parse(body)
    assert parsed.bozo and parsed.entries == []


def test_latin1_feed_lies_about_utf8_but_titles_keep_their_accents(site):
    _, headers, body = get(site.base_url + "/bad/latin1/feed.xml")
    assert "charset=utf-8" in headers["Content-Type"] and b'encoding="utf-8"' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    titles = {e.title for e in feedparser.parse(body).entries}
    assert "Atlético Nacional remonta y se queda con el clásico paisa" in titles
    assert any("descertificación" in t for t in titles)


def test_empty_feed_is_valid_with_no_items(site):
    parsed = feedparser.parse(get(site.base_url + "/bad/empty/feed.xml")[2])
    assert not parsed.bozo and parsed.feed.title and parsed.entries == []


def test_entities_feed_and_pages_encode_titles_as_html_entities(site):
    body = get(site.base_url + "/bad/entities/feed.xml")[2]
    for entity in (b"&amp;", b"&#8217;", b"&quot;"):
        assert entity in body
    expected = {a["title"] for a in site.articles() if a["outlet"] == "bad-entities"}
    assert {e.title for e in feedparser.parse(body).entries} == expected
    assert expected == {"Colombia & Ecuador sign border pact", "Petro’s envoy says \"total peace\" talks will continue"}
    page = get(site.base_url + "/bad/entities/petro-envoy-total-peace")[2]
    assert b"<title>Petro&#8217;s envoy says &quot;total peace&quot;" in page


def test_broken_links_feed_points_at_404_and_500_pages(site):
    links = [e.link for e in feedparser.parse(get(site.base_url + "/bad/broken-links/feed.xml")[2]).entries]
    assert sorted(get(link)[0] for link in links) == [404, 500]
    assert get(site.base_url + "/no/such/page")[0] == 404


def test_redirect_loop_bounces_between_two_urls(site):
    link = feedparser.parse(get(site.base_url + "/bad/redirect-loop/feed.xml")[2]).entries[0].link
    status, headers, _ = get(link)
    assert status == 301
    status_b, headers_b, _ = get(site.base_url + headers["Location"])
    assert status_b == 301 and site.base_url + headers_b["Location"] == link
    with pytest.raises(urllib.error.HTTPError, match="infinite loop"):
        urllib.request.urlopen(link, timeout=5)


def test_slow_story_outlasts_a_short_timeout(site):
    link = feedparser.parse(get(site.base_url + "/bad/slow/feed.xml")[2]).entries[0].link
    with pytest.raises(OSError):  # socket.timeout / URLError: the story is slower than the client's limit
        urllib.request.urlopen(link, timeout=0.5).read()
    assert site.count("/bad/slow/story") >= 1


def test_stop_does_not_wait_for_a_sleeping_slow_handler():
    site = LocalNewsSite(slow_seconds=600).start()
    url = site.base_url + "/bad/slow-feed/feed.xml"
    worker = threading.Thread(target=lambda: get_quietly(url), daemon=True)
    worker.start()
    deadline = time.monotonic() + 5
    while site.count("/bad/slow-feed/") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    site.stop()  # the handler sleeps 600 s: waiting for it would hang here (pytest-timeout fails it)
    worker.join(timeout=60)
    assert not worker.is_alive()


def get_quietly(url: str) -> None:
    try:
        get(url)
    except OSError:
        pass


@pytest.mark.parametrize("case,content_type,magic", [("pdf", "application/pdf", b"%PDF-"),
                                                     ("png", "image/png", b"\x89PNG\r\n\x1a\n")])
def test_binary_responses_at_article_urls(site, case, content_type, magic):
    link = feedparser.parse(get(site.base_url + f"/bad/{case}/feed.xml")[2]).entries[0].link
    status, headers, body = get(link)
    assert status == 200 and headers["Content-Type"] == content_type and body.startswith(magic)


def test_oversized_page_has_the_configured_size(site):
    link = feedparser.parse(get(site.base_url + "/bad/oversized/feed.xml")[2]).entries[0].link
    status, headers, body = get(link)
    assert status == 200 and int(headers["Content-Length"]) == len(body) == 300_000
    assert body.startswith(b"<!DOCTYPE html>") and body.endswith(b"</html>")
    with LocalNewsSite() as default:
        _, headers, body = get(default.base_url + "/bad/oversized/story", method="HEAD")
        assert int(headers["Content-Length"]) == 12 * 1024 * 1024 and body == b""


def test_no_text_page_has_almost_no_visible_words(site):
    status, headers, body = get(site.base_url + "/bad/no-text/story")
    page = lxml.html.fromstring(body)
    for script in page.xpath("//script"):
        script.drop_tree()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert len(page.text_content().split()) < 10


def test_offsite_sitemap_lists_only_other_domains(site):
    body = get(site.base_url + "/bad/offsite-sitemap/sitemap.xml")[2]
    hosts = {urlsplit(loc.text).hostname for loc in ElementTree.fromstring(body).findall("sm:url/sm:loc", NS)}
    assert hosts == {"other.example"}


def test_request_log_counts_by_prefix_and_status_and_resets(site):
    site.reset_log()
    get(site.base_url + "/andean-post/feed.xml", {"User-Agent": "newsmon-test"})
    get(site.base_url + "/andean-post/nothing-here")
    assert site.count() == 2 and site.count("/andean-post/") == 2
    assert site.count("/andean-post/", status=404) == 1 and site.count(status=200) == 1
    record = site.requests[0]
    assert (record.method, record.path, record.status) == ("GET", "/andean-post/feed.xml", 200)
    assert record.headers["User-Agent"] == "newsmon-test" and record.time <= time.time()
    site.reset_log()
    assert site.requests == [] and site.count() == 0


def test_readme_names_every_bad_case():
    readme = (SITE_DIR / "README.md").read_text(encoding="utf-8")
    assert all(f"bad-{case}" in readme for case in BAD_CASES)
