"""Article extraction on real pages: the seed articles inside boilerplate-heavy
templates, and the pages that trip extractors up (Spanish text, paywall
teasers, index pages, conflicting and impossible dates, mislabelled charsets,
entity-laden titles, non-HTML payloads, pathological HTML)."""
from __future__ import annotations

import json
import signal
import sys
import threading
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest

from crawler.decode import compress_html, decode_html, decompress_html
from crawler.extract import extract_article
from crawler.extracted import ExtractionTimeout, Hints, NotArticle
from crawler.text import normalize_text
from newsmon.localsite import EXPECTED_DIR

HTML = Path(__file__).parent / "fixtures" / "html"
sys.path.insert(0, str(HTML))
from seed_pages import seed_pages  # noqa: E402

FETCHED = datetime(2025, 10, 22, 12, 0)
SEED_PAGES = seed_pages()


def page(name: str) -> bytes:
    return (HTML / name).read_bytes()


def extract(name: str, **kwargs):
    kwargs.setdefault("fetched_at", FETCHED)
    kwargs.setdefault("encoding", "utf-8")
    return extract_article(page(name), f"https://andes.example/news/{name.removesuffix('.html')}", **kwargs)


def not_article_reason(name: str, **kwargs) -> str:
    with pytest.raises(NotArticle) as caught:
        extract(name, **kwargs)
    return caught.value.reason


# --- the seed articles in three templates ----------------------------------------------


@pytest.mark.parametrize("seed_page", SEED_PAGES, ids=[p.name for p in SEED_PAGES])
def test_seed_article_text_keeps_every_paragraph_and_no_boilerplate(seed_page):
    result = extract_article(seed_page.html.encode("utf-8"), f"https://news.example/world/{seed_page.name}",
                             fetched_at=datetime(2025, 11, 1), encoding="utf-8")
    text = normalize_text(result.text)
    missing = [p[:60] for p in seed_page.paragraphs if normalize_text(p) not in text]
    leaked = [b for b in seed_page.boilerplate if b.lower() in result.text.lower()]
    assert missing == []
    assert leaked == []
    assert result.title == seed_page.title
    assert result.author == seed_page.author


@pytest.mark.parametrize("template", ["heavy_news", "blog_sidebar", "clean_amp"])
def test_seed_article_metadata_is_read_from_the_page(template):
    seed_page = next(p for p in SEED_PAGES if p.name == f"000-{template}")
    result = extract_article(seed_page.html, f"https://news.example/world/{seed_page.name}?utm_source=x",
                             fetched_at=datetime(2025, 11, 1))
    # 2025-10-14T09:30:00-05:00 on every template, stored as naive UTC
    assert result.published_at == datetime(2025, 10, 14, 14, 30)
    assert result.language == "en"
    assert result.paywalled is False
    # the structured headline when the template has one, else og:title / <title>
    assert result.origins["title"] == ("page" if template == "blog_sidebar" else "json-ld")
    expected_canonical = {
        "heavy_news": "https://news.example/world/seed-000",              # relative href made absolute
        "blog_sidebar": "https://hemisphere-watch.example/seed-000/",     # tracking parameter dropped
        "clean_amp": "https://www.wirenews.example/story/seed-000.html",
    }[template]
    assert result.canonical_url == expected_canonical
    assert result.site_name == {"heavy_news": "The Daily Meridian", "blog_sidebar": "Hemisphere Watch",
                                "clean_amp": "WireNews"}[template]
    assert result.extractor.startswith("trafilatura ")


def test_declared_tags_come_from_article_metadata_not_sidebar_tag_clouds():
    heavy = next(p for p in SEED_PAGES if p.name == "001-heavy_news")
    amp = next(p for p in SEED_PAGES if p.name == "001-clean_amp")
    assert extract_article(heavy.html, "https://news.example/a", fetched_at=FETCHED).tags == [
        "World", "Colombia", "United States"]
    assert extract_article(amp.html, "https://news.example/b", fetched_at=FETCHED).tags == ["Colombia", "diplomacy"]


def test_text_is_paragraphs_separated_by_blank_lines_without_the_headline():
    seed_page = next(p for p in SEED_PAGES if p.name == "003-heavy_news")
    result = extract_article(seed_page.html, "https://news.example/world/x", fetched_at=FETCHED)
    paragraphs = result.text.split("\n\n")
    assert paragraphs[0] == seed_page.paragraphs[0]
    assert "Mounting Tensions and Diplomatic Fallout" in paragraphs  # subheadings stay, as their own paragraph
    assert all(p.strip() == p and "\n" not in p for p in paragraphs)
    assert not result.text.startswith(seed_page.title)


def test_structured_author_beats_a_byline_that_names_the_agency():
    amp = next(p for p in SEED_PAGES if p.name == "002-clean_amp")
    result = extract_article(amp.html, "https://news.example/a", fetched_at=FETCHED)
    assert result.author == "Tom Whitfield"
    assert result.origins["author"] == "json-ld"


# --- language -----------------------------------------------------------------------------


def test_spanish_article_is_extracted_as_spanish():
    result = extract("spanish_article.html", expected_language="es")
    assert result.language == "es"
    assert result.title == "Colombia y Estados Unidos: una alianza en su peor momento"
    assert "la cooperación en materia de seguridad" in result.text
    assert result.published_at == datetime(2025, 10, 21, 13, 15)


def test_spanish_article_is_rejected_for_a_source_that_expects_english():
    assert not_article_reason("spanish_article.html", expected_language="en") == "language es, source expects en"


def test_language_comes_from_the_text_even_when_the_page_claims_another():
    spanish_in_english_template = page("spanish_article.html").replace(b'lang="es"', b'lang="en"').replace(
        b'content="es_CO"', b'content="en_US"')
    with pytest.raises(NotArticle, match="language es, source expects en"):
        extract_article(spanish_in_english_template, "https://x.example/a", expected_language="en",
                        fetched_at=FETCHED)


# --- paywalls, index pages, short and non-HTML pages --------------------------------------------


def test_paywall_teaser_is_flagged_and_keeps_the_free_teaser_without_the_prompt():
    result = extract("paywall_teaser.html")
    assert result.paywalled is True
    assert result.text == ("When American and Colombian officials met in Cartagena last spring, both sides still spoke "
                           "of a partnership that had survived six presidents and two peace processes. By the autumn, "
                           "the joint task forces had been stood down.")
    assert result.title == "Inside the collapse of US-Colombia drug cooperation"
    assert result.description == "How two decades of counternarcotics partnership unravelled in nine months."
    assert result.origins["paywalled"] == "isAccessibleForFree=false"


def test_spanish_paywall_prompt_is_recognised():
    result = extract("paywall_teaser_es.html")
    assert result.paywalled is True
    assert result.text.startswith("Durante semanas, la Cancillería")
    assert "Suscríbete" not in result.text and "1 euro" not in result.text
    assert "suscribete para seguir leyendo" in result.origins["paywalled"]


def test_full_article_with_a_subscription_box_is_not_a_teaser():
    seed_page = next(p for p in SEED_PAGES if p.name == "002-heavy_news")
    html = seed_page.html.replace("<h3>Sign up for our newsletter</h3>",
                                  "<h3>Already a subscriber? Subscribe to read more</h3>")
    result = extract_article(html, "https://news.example/a", fetched_at=FETCHED)
    assert result.paywalled is False
    assert normalize_text(seed_page.paragraphs[-1]) in normalize_text(result.text)


@pytest.mark.parametrize("name, reason_start", [
    ("index_page.html", "index page (og:type website; 18 headline links, 0 long paragraphs"),
    ("listing_no_metadata.html", "index page (18 headline links"),
])
def test_index_pages_are_not_articles(name, reason_start):
    assert not_article_reason(name).startswith(reason_start)


def test_page_with_too_little_text_is_not_an_article():
    html = ("<html><head><title>Photo: sunset over Bogotá</title><meta property='og:type' content='article'></head>"
            "<body><article><h1>Photo: sunset over Bogotá</h1><p>The sun sets behind Monserrate on Tuesday "
            "evening, seen from the Candelaria district.</p></article></body></html>")
    with pytest.raises(NotArticle) as caught:
        extract_article(html, "https://x.example/photo", fetched_at=FETCHED)
    assert caught.value.reason.startswith("too little text (")
    assert caught.value.reason == "too little text (0 chars of prose)"


@pytest.mark.parametrize("body, content_type, reason", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>", None, "not HTML (application/pdf)"),
    (b'{"articles": [{"title": "x"}]}', "text/html", "not HTML (application/json)"),
    (b"<html><body><p>whatever</p></body></html>", "image/png", "not HTML (image/png)"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', None,
     "not HTML (application/xml (feed or sitemap))"),
])
def test_non_html_payloads_are_not_articles(body, content_type, reason):
    with pytest.raises(NotArticle) as caught:
        extract_article(body, "https://x.example/file", content_type=content_type, fetched_at=FETCHED)
    assert caught.value.reason == reason


# --- dates ----------------------------------------------------------------------------------


def test_json_ld_date_wins_over_a_conflicting_visible_date():
    result = extract("jsonld_vs_visible_date.html")
    assert result.published_at == datetime(2025, 10, 21, 2, 30)  # 2025-10-20T21:30-05:00 in UTC
    assert result.published_at.tzinfo is None
    assert result.origins["published_at"] == "json-ld"


def test_future_date_is_rejected_with_the_reason_recorded():
    result = extract("future_date.html")
    assert result.published_at is None
    assert "2031-06-01 10:00 is after the fetch time" in result.origins["published_at_rejected"]


def test_feed_date_fills_in_when_the_page_date_is_impossible():
    result = extract("future_date.html", hints=Hints(published=datetime.fromisoformat("2025-10-20T08:00:00+02:00")))
    assert result.published_at == datetime(2025, 10, 20, 6, 0)
    assert result.origins["published_at"] == "feed"
    assert "published_at_rejected" in result.origins


def test_date_before_the_earliest_plausible_date_is_rejected():
    result = extract("jsonld_vs_visible_date.html", earliest=date(2025, 10, 22))
    assert result.published_at is None
    assert "before the earliest plausible date 2025-10-22" in result.origins["published_at_rejected"]


def test_visible_date_is_used_when_the_page_has_no_structured_date():
    result = extract("visible_date_only.html")
    assert result.published_at == datetime(2025, 10, 20)
    assert result.origins["published_at"].startswith("htmldate")


def test_ambiguous_structured_date_is_read_in_the_source_date_order():
    html = page("visible_date_only.html").replace(
        b"<title>", b'<meta name="date" content="03/04/2025"><title>').replace(b"Published 20 October 2025", b"")
    dmy = extract_article(html, "https://x.example/a", fetched_at=FETCHED, date_order="DMY")
    mdy = extract_article(html, "https://x.example/a", fetched_at=FETCHED, date_order="MDY")
    assert dmy.published_at.date() == date(2025, 4, 3)
    assert mdy.published_at.date() == date(2025, 3, 4)


# --- hints, titles, URLs, encodings --------------------------------------------------------------


def test_hints_fill_only_what_the_page_lacks():
    hints = Hints(title="Feed title that differs", author="Feed Author", language="en",
                  published=datetime(2020, 1, 1))
    result = extract("jsonld_vs_visible_date.html", hints=hints)
    assert result.title == "Colombia summons US envoy over remarks"
    assert result.author == "Feed Author"
    assert result.published_at == datetime(2025, 10, 21, 2, 30)
    assert result.origins["title"] == "json-ld"
    assert result.origins["author"] == "feed"
    assert result.origins["published_at"] == "json-ld"


def test_entities_in_titles_and_names_are_decoded_even_when_double_escaped():
    result = extract("entities_title.html")
    assert result.title == "Petro & Trump: the \u2018war criminal\u2019 row"
    assert result.author == "Ana María Quintero"
    assert result.site_name == "Andes Dispatch"


def test_latin1_bytes_declared_as_utf8_are_decoded_correctly():
    result = extract("latin1_declared_utf8.html", encoding="utf-8")
    assert result.title == "Cancillería cita al encargado de negocios"
    assert "la reunión duró menos de una hora" in result.text
    assert "\ufffd" not in result.text


def test_utf8_bytes_declared_as_latin1_are_not_turned_into_mojibake():
    assert decode_html("Cancillería, reunión".encode("utf-8"), "iso-8859-1") == "Cancillería, reunión"


def test_decoding_honours_a_byte_order_mark_and_survives_unknown_charset_names():
    assert decode_html(b"\xef\xbb\xbf<p>Bogot\xc3\xa1</p>", "latin-1") == "<p>Bogotá</p>"
    spanish = '<html lang="es"><p>Bogotá, España</p></html>'
    assert decode_html(spanish.encode("cp1252"), "x-unknown-charset") == spanish


def test_canonical_link_to_the_home_page_is_ignored():
    html = page("jsonld_vs_visible_date.html").replace(b"<title>", b'<link rel="canonical" href="/"><title>')
    result = extract_article(html, "https://andes.example/news/summons", fetched_at=FETCHED)
    assert result.canonical_url is None
    assert "home page" in result.origins["canonical_url_rejected"]


def test_raw_html_compression_round_trips_and_shrinks():
    body = SEED_PAGES[0].html.encode("utf-8")
    blob = compress_html(body)
    assert decompress_html(blob) == body
    assert len(blob) < len(body) / 2


# --- time limits ----------------------------------------------------------------------------------

# 2000 nested blocks: about a second of trafilatura work on this machine.
PATHOLOGICAL = "<html><body>" + "<div><p>word " * 2000 + "</p></div>" * 2000 + "</body></html>"


def test_extraction_stops_at_the_time_limit_in_the_main_thread():
    with pytest.raises(ExtractionTimeout) as caught:  # the page needs ~1 s: only the limit stops it
        extract_article(PATHOLOGICAL, "https://x.example/slow", timeout=0.1)
    assert caught.value.reason == "extraction timed out after 0.1s"


def test_time_limit_keeps_an_outer_alarm_timer_running():
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        extract("spanish_article.html", timeout=5)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 95 < remaining <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_extraction_from_another_thread_is_stopped_in_a_worker_process_and_the_next_page_works():
    results: dict = {}

    def crawl():
        try:
            extract_article(PATHOLOGICAL, "https://x.example/slow", timeout=0.1)
        except ExtractionTimeout as exc:
            results["timeout"] = exc.reason
        results["next"] = extract("spanish_article.html", timeout=30)

    thread = threading.Thread(target=crawl)
    thread.start()
    thread.join(60)
    assert results["timeout"] == "extraction timed out after 0.1s"
    # worker start-up (imports) is not counted against the limit, killing is immediate
    assert results["next"] == extract("spanish_article.html")


# --- the fixture news site, fetched over HTTP -------------------------------------------------------

SITE_FETCHED = datetime(2025, 11, 22, 12, 0)


@pytest.fixture(scope="module")
def site_pages():
    """Every page of the fixture site, fetched once: {path: (manifest entry, body, charset, content type)}."""
    from newsmon.localsite import LocalNewsSite

    pages = {}
    with LocalNewsSite() as site:
        paths = [a["path"] for a in site.articles()] + [
            "/bad/pdf/2025/11/annual-security-report", "/bad/png/2025/11/photo-of-the-day", "/bad/no-text/story",
            "/andean-post/world/", "/el-observador/"]
        manifest = {a["path"]: a for a in site.articles()}
        for path in paths:
            with urllib.request.urlopen(site.base_url + path, timeout=10) as response:
                pages[path] = (manifest.get(path), site.base_url + path, response.read(),
                               response.headers.get_content_charset(), response.headers.get("Content-Type"))
    return pages


def _site_extract(site_pages, path, **kwargs):
    _entry, url, body, charset, content_type = site_pages[path]
    return extract_article(body, url, encoding=charset, content_type=content_type, fetched_at=SITE_FETCHED, **kwargs)


def _expected_site_articles():
    expected = sorted(EXPECTED_DIR.glob("*/*.json"))
    return [pytest.param(json.loads(p.read_text(encoding="utf-8")), id=f"{p.parent.name}/{p.stem}") for p in expected]


@pytest.mark.parametrize("expected", _expected_site_articles())
def test_fixture_site_article_is_extracted_as_its_expected_file_says(site_pages, expected):
    result = _site_extract(site_pages, expected["url_path"])
    text = normalize_text(result.text)
    assert [m for m in expected["must_contain"] if normalize_text(m) not in text] == []
    assert [m for m in expected["must_not_contain"] if normalize_text(m) in text] == []
    assert result.title == expected["title"]
    assert result.author == expected["author"]
    assert result.language == expected["language"]
    assert result.published_at is not None and result.published_at.date().isoformat() == expected["published"]
    # "BOGOTÁ, Colombia (AP) — " opens the wire story: metadata, not text
    assert result.origins.get("dateline") == expected.get("dateline")


def test_fixture_site_edition_two_of_an_article_is_extracted_with_its_correction():
    from newsmon.localsite import LocalNewsSite

    path = "/andean-post/2025/11/19/us-halts-aid-payments-to-colombia"
    expected = json.loads((EXPECTED_DIR / "andean-post" /
                           "us-halts-aid-payments-to-colombia.json").read_text(encoding="utf-8"))
    with LocalNewsSite(edition=2) as site:
        body = urllib.request.urlopen(site.base_url + path, timeout=10).read()
        result = extract_article(body, site.base_url + path, fetched_at=SITE_FETCHED)
    edition_2 = expected["edition_2"]
    text = normalize_text(result.text)
    assert [m for m in edition_2["must_contain"] if normalize_text(m) not in text] == []
    assert [m for m in edition_2.get("must_not_contain", []) if normalize_text(m) in text] == []


@pytest.mark.parametrize("path, reason", [
    ("/capital-wire/news/briefs-2025-11-14", "too little text (0 chars of prose)"),
    ("/bad/pdf/2025/11/annual-security-report", "not HTML (application/pdf)"),
    ("/bad/png/2025/11/photo-of-the-day", "not HTML (image/png)"),
    ("/bad/no-text/story", "too little text (0 chars of prose)"),
])
def test_fixture_site_pages_that_are_not_articles_say_why(site_pages, path, reason):
    with pytest.raises(NotArticle) as caught:
        _site_extract(site_pages, path)
    assert caught.value.reason == reason


@pytest.mark.parametrize("path", ["/andean-post/world/", "/el-observador/"])
def test_fixture_site_section_fronts_are_index_pages(site_pages, path):
    with pytest.raises(NotArticle) as caught:
        _site_extract(site_pages, path)
    assert caught.value.reason.startswith("index page")


def test_fixture_site_spanish_story_is_rejected_for_an_english_source_and_kept_for_a_spanish_one(site_pages):
    path = "/el-observador/politica/de-los-aranceles-a-la-descertificacion"
    with pytest.raises(NotArticle, match="language es, source expects en"):
        _site_extract(site_pages, path, expected_language="en")
    assert _site_extract(site_pages, path, expected_language="es").language == "es"


def test_the_reason_a_page_is_not_an_article_is_logged_with_its_url(caplog):
    caplog.set_level("INFO", logger="crawler.extract")
    with pytest.raises(NotArticle):
        extract_article(b"%PDF-1.4 binary", "https://x.example/report.pdf")
    assert "https://x.example/report.pdf: not an article: not HTML (application/pdf)" in caplog.text


def test_short_free_article_is_not_a_teaser_because_the_menu_sells_subscriptions():
    html = page("entities_title.html").replace(
        b'<header><a href="/">Andes Dispatch</a>',
        b'<header><a href="/">Andes Dispatch</a> <nav><a href="/subscribe">Subscribe to read unlimited stories</a></nav>')
    result = extract_article(html, "https://andes.example/news/row", fetched_at=FETCHED)
    assert b"Subscribe to read unlimited stories" in html
    assert result.paywalled is False
    assert "summoned the United States" in result.text


@pytest.mark.parametrize("body, reason", [
    (b"", "empty response"),
    (b" \r\n ", "empty response"),
    (b"<html><body></body></html>", "too little text (0 chars of prose)"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03 compressed by mistake", "not HTML (application/gzip)"),
])
def test_empty_and_garbage_responses_are_not_articles(body, reason):
    with pytest.raises(NotArticle) as caught:
        extract_article(body, "https://x.example/a", fetched_at=FETCHED)
    assert caught.value.reason == reason


def test_pages_extracted_from_several_threads_at_once_each_get_their_own_result():
    names = ["spanish_article.html", "jsonld_vs_visible_date.html", "entities_title.html", "visible_date_only.html"]
    results: dict = {}

    def crawl(name):
        results[name] = extract(name, timeout=30)

    threads = [threading.Thread(target=crawl, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert {name: results[name].title for name in names} == {name: extract(name).title for name in names}
    assert all(results[name] == extract(name) for name in names)


@pytest.mark.parametrize("body, encoding, expected", [
    (b'<html><head><link rel="Canonical nofollow" href=" /a?b=1 "></head><body></body></html>', None, "/a?b=1"),
    (b'<html><head><link rel=canonical href="/caf\xe9"></head>', "cp1252", "/caf\u00e9"),
    (b"<html><head><title>t</title></head><body><link rel=canonical href=/in-body></body>", "utf-8", None),
    (b"", "utf-8", None),
    (b"<link rel=canonical href=/x>", "no-such-encoding", None),
])
def test_the_spider_reads_a_pages_canonical_link_from_its_head_as_the_extractor_does(body, encoding, expected):
    from crawler.metadata import head_canonical

    assert head_canonical(body, encoding) == expected
