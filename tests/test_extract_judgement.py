"""What real pages do to an extractor, on synthetic pages built like them
(tests/fixtures/html): articles that single signals wrongly refused, boxes
inside the article element, decorated titles, datelines, and the reasons a
refusal keeps."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crawler.extract import extract_article
from crawler.extracted import NotArticle
from crawler.refusal import quality
from crawler.text import normalize_text
from crawler.titles import choose_title, strip_decoration

HTML = Path(__file__).parent / "fixtures" / "html"
FETCHED = datetime(2025, 11, 1)


def extract(name: str, url: str, **kwargs):
    return extract_article((HTML / name).read_bytes(), url, fetched_at=FETCHED, **kwargs)


def paragraphs_of(name: str, tag: str = "p") -> list[str]:
    from lxml import html

    tree = html.fromstring((HTML / name).read_bytes())
    return [" ".join(p.text_content().split()) for p in tree.iter(tag)]


# --- articles that a single signal used to refuse ---------------------------------------------------


def test_an_article_marked_og_type_website_with_a_rail_of_headlines_is_kept():
    result = extract("website_type_article.html",
                     "https://andesbiz.example/markets/coffee-exporters-brace-for-thinner-harvest")
    assert [p for p in paragraphs_of("website_type_article.html") if p not in result.text] == []
    assert result.title == "Coffee exporters brace for a thinner harvest"  # the <h1>, without " | Andes Business Wire"
    assert result.origins["title"] == "h1"


def test_the_same_page_as_a_section_front_is_an_index_and_the_reason_names_the_evidence():
    html = (HTML / "website_type_article.html").read_text(encoding="utf-8")
    start, end = html.index("<main>"), html.index("</main>")
    teasers = "".join(f'<article><h2><a href="/m/{i}">{line}</a></h2><p>{line}.</p></article>'
                      for i, line in enumerate(["Peso slips as oil prices fall for a third straight session today",
                                                "Central bank holds rates steady and signals caution on inflation",
                                                "Ecopetrol shares jump after the company announces a gas discovery",
                                                "Flower exporters count the cost of the new tariff threat"]))
    front = html[:start] + "<main><h1>Markets</h1>" + teasers + html[end:]
    with pytest.raises(NotArticle) as caught:
        extract_article(front.encode(), "https://andesbiz.example/markets/", fetched_at=FETCHED)
    reason = caught.value.reason
    assert reason.startswith("index page (og:type website; ")
    assert "headline links" in reason and "section-like URL" in reason


def test_a_japanese_article_counts_characters_not_spaces():
    result = extract("japanese_article.html", "https://andes.example.jp/a/123")
    assert result.language == "ja"
    assert [p for p in paragraphs_of("japanese_article.html") if p not in result.text] == []


def test_an_article_laid_out_in_a_table_is_kept_as_plain_paragraphs():
    result = extract("table_layout_article.html", "https://diariodelvalle.example/ciudad/plan-movilidad.html")
    cells = [c for c in paragraphs_of("table_layout_article.html", "td") if len(c.split()) > 15]
    assert len(cells) == 4
    assert result.text.split("\n\n") == cells  # no menu row, no headline row, no "|" table markup


def test_a_list_style_article_survives_and_an_undeclared_list_does_not():
    result = extract("list_article.html", "https://x.example/ten-dates")
    items = paragraphs_of("list_article.html", "li")
    assert len(items) == 10 and all(normalize_text(i) in normalize_text(result.text) for i in items)
    undeclared = (HTML / "list_article.html").read_text(encoding="utf-8").replace('"NewsArticle"', '"Thing"')
    with pytest.raises(NotArticle) as caught:
        extract_article(undeclared.encode(), "https://x.example/ten-dates", fetched_at=FETCHED)
    assert caught.value.reason.startswith("too little text (0 chars of prose, ")
    assert "in 10 list lines" in caught.value.reason


# --- boxes inside the article, the dateline ------------------------------------------------------------


def test_comments_key_points_pull_quote_and_pointer_lines_leave_the_text_and_the_dateline_goes_to_metadata():
    result = extract("boxes_es.html", "https://elobservador.example/politica/reforma-servicio-exterior")
    text = result.text
    for leaked in ("Puntos clave", "La carrera diplomática tendrá concursos públicos", "comentarios",
                   "Por fin alguien se atreve", "Muy buen artículo", "Deja un comentario",
                   "Los comentarios son responsabilidad", "Lee también", "MADRID, 20 oct"):
        assert leaked not in text, leaked
    assert text.count("Queremos una diplomacia de Estado") == 1  # the pull quote is not a paragraph of its own
    assert text.startswith("El Gobierno colombiano presentó este lunes ante el Congreso")
    assert len(text.split("\n\n")) == 4
    assert result.origins["dateline"] == "MADRID, 20 oct (EFE)"
    assert "comments" in result.origins["pruned"] and "key points" in result.origins["pruned"]
    assert result.title == "El Gobierno presenta la reforma del servicio exterior"


# --- titles -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("declared, site, host, expected", [
    ("Mining blasts shatter homes - Lesotho Times", "Lesotho Times", "lestimes.co.ls", "Mining blasts shatter homes"),
    ("Severe storms escalate in Gauteng | The Citizen", None, "www.citizen.co.za", "Severe storms escalate in Gauteng"),
    ("Russia hits Kyiv with a ballistic missile | Globalnews.ca", None, "globalnews.ca",
     "Russia hits Kyiv with a ballistic missile"),
    ("New twist in the case * The Gateway Pundit * by Cristina Laila", None, "www.thegatewaypundit.com",
     "New twist in the case"),
    ("BBC News | Colombia votes", "BBC News", "www.bbc.com", "Colombia votes"),
    # a dash inside the headline is not decoration
    ("Far-right protesters throw stones - updates on the night", None, "www.mirror.co.uk",
     "Far-right protesters throw stones - updates on the night"),
])
def test_site_name_decoration_is_stripped_from_declared_titles(declared, site, host, expected):
    assert strip_decoration(declared, site, host) == expected


def test_the_printed_h1_picks_the_declared_title_up_to_decoration_and_typography_follows_the_declaration():
    assert choose_title(None, ["Palestinians wait | CBC News"], ["Palestinians wait"], "CBC News", "www.cbc.ca") \
        == ("Palestinians wait", "h1")
    # equal up to curly quotes: the declared text is kept as it is
    assert choose_title(None, ["Mexico's economy grew"], ["Mexico’s economy grew"], None, "apnews.com") \
        == ("Mexico's economy grew", "page")
    # an unrelated <h1> (a logo, "Log In") does not replace the headline
    assert choose_title(None, ["Inside a Teamster rebellion"], ["Log In", "The Nation"], None, "thenation.com") \
        == ("Inside a Teamster rebellion", "page")
    # two declared headlines (JSON-LD for search, og:title for cards): the one the page prints wins
    assert choose_title("Starmer suggests he will keep taking gifts", ["Starmer defiant over gifts | The Telegraph"],
                        ["Starmer defiant over gifts"], "The Telegraph", "www.telegraph.co.uk") \
        == ("Starmer defiant over gifts", "h1")
    assert choose_title("Your $1 bill could be worth thousands - how to check yours", ["Your $1 bill could be worth"],
                        ["Your $1 bill could be worth thousands - how to check yours"], None, "dailymail.co.uk") \
        == ("Your $1 bill could be worth thousands - how to check yours", "json-ld")
    # when the <h1> settles nothing, the structured headline comes first
    assert choose_title("King's speech summary", ["Five key policies"], ["Menu"], None, "metro.co.uk") \
        == ("King's speech summary", "json-ld")
    # a live blog prints the running blog's name; its card title names the story
    assert choose_title("UK riots LIVE: stand-off in Plymouth", ["Protesters throw stones in Plymouth | Mirror"],
                        ["UK riots LIVE: stand-off in Plymouth"], "Mirror", "www.mirror.co.uk", live_blog=True) \
        == ("Protesters throw stones in Plymouth", "page")


# --- the fallback retry is decided by quality -------------------------------------------------------------


def test_a_text_that_is_mostly_chrome_is_poor_even_with_enough_prose():
    article = ("The federation said on Tuesday that output for the twelve months to September would probably "
               "reach eleven million bags, the lowest figure in more than a decade, and exporters warned buyers. ")
    chrome = [f"Section {i} · Markets · Sport · Weather" for i in range(300)]
    text = "\n\n".join([article * 3, *chrome])
    measured = quality(text)
    assert measured.prose >= 300
    assert measured.poor(300) == f"{measured.boilerplate_share:.0%} not prose"
    assert quality(article * 3).poor(300) is None
    repeated = "\n\n".join([article] * 4)
    assert quality(repeated).poor(300) == "100% repeated"
