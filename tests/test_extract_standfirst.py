"""Fourth extraction pass (stop 21), on synthetic pages built like the real ones it was found on
(newspaper4k's real test pages, measured once unseen, and ../shared/realpages): a standfirst
outside the body's container, a "More ... From" list of partly linked headlines, a reporter's
contact line at the end. The three tests of the new rules fail on the code before the pass; the
other three are its guards (a description only in the head, one that repeats the first paragraph, a
bulleted rail) and pass on both."""
from __future__ import annotations

from datetime import datetime

from crawler.extract import extract_article
from newsmon.crawlcmd import explain_extraction

FETCHED = datetime(2025, 11, 1)
URL = "https://andespost.example/world/2025/10/30/landslide-buries-houses-in-mountain-village"
BODY = [
    "Rescue teams searched through the night on Thursday after a landslide buried eleven houses on the edge of "
    "the mountain village, the regional emergency service said in a statement released before dawn.",
    "Officials said the slope had been soaked by three weeks of rain. Residents had been warned twice this month "
    "that the hillside above the school was moving, and some families had already left for the valley.",
    "Volunteers from neighbouring towns brought generators and food, and the army sent two helicopters to carry "
    "the injured to the hospital in the provincial capital, about ninety kilometres to the south.",
    "The mayor said the village would need months to rebuild the road, which was cut in four places, and asked "
    "the national government for emergency funds to house the families who lost their homes.",
]
LEAD = ("Four people are still missing two days after the hillside gave way above the village, and rescuers "
        "say the weather is against them.")


def page(*, lead_on_page: bool = True, description: str = LEAD, extra_body: str = "", after: str = "") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY)
    lead = f'<div class="story__lead">{LEAD}</div>' if lead_on_page else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Landslide buries houses in mountain village | Andes Post</title>
<meta property="og:type" content="article">
<meta property="og:title" content="Landslide buries houses in mountain village">
<meta property="og:description" content="{description}">
<meta name="description" content="{description}">
<meta property="article:published_time" content="2025-10-30T08:00:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/world/">World</a></nav>
<article><header><h1>Landslide buries houses in mountain village</h1>{lead}
<p class="byline">By Ana Ruiz</p></header>
<div class="story__body">{paragraphs}{extra_body}</div>{after}</article>
<footer><p>© Andes Post</p></footer></body></html>""".encode()


def extract(html: bytes):
    return extract_article(html, URL, fetched_at=FETCHED)


def test_a_standfirst_outside_the_body_container_opens_the_text_and_is_explained():
    result = extract(page())
    assert result.text.split("\n\n")[0] == LEAD
    assert all(p in result.text for p in BODY)
    assert result.text.count("rescuers say the weather") == 1
    assert "standfirst" in result.origins
    assert "standfirst from page" in explain_extraction(result)  # what `newsmon reextract --explain` prints


def test_a_description_that_is_only_in_the_head_is_not_added_to_the_text():
    result = extract(page(lead_on_page=False))
    assert LEAD not in result.text
    assert result.text.split("\n\n")[0] == BODY[0]
    assert "standfirst" not in result.origins


def test_a_description_that_repeats_the_first_paragraph_is_not_added_again_even_after_its_dateline():
    first = "QUITO (Reuters) — " + BODY[0]
    html = page(lead_on_page=False, description=first).replace(f"<p>{BODY[0]}</p>".encode(),
                                                              f"<p>{first}</p>".encode())
    result = extract(html)
    assert result.text.count("Rescue teams searched through the night") == 1


def test_a_more_from_list_of_partly_linked_headlines_leaves_with_its_heading():
    stories = ["The Struggle to Keep a Mountain Road Open", "Why the Andes Are Sliding Faster This Decade",
               "Inside the Valley Hospital That Never Closes", "The Farmers Who Moved Their Village Twice"]
    items = "".join(f'<li><span>{s.split(" ", 2)[0]} {s.split(" ", 2)[1]} </span>'
                    f'<a href="/story/{i}">{s.split(" ", 2)[2]}</a></li>' for i, s in enumerate(stories))
    after = f'<div class="roundup"><h2>More Must-Reads From Andes Post</h2><ul>{items}</ul></div>'
    result = extract(page(extra_body=after))
    assert "Must-Reads" not in result.text
    assert not any(s.split(" ", 2)[2] in result.text for s in stories)
    assert all(p in result.text for p in BODY)


def test_a_bulleted_list_of_linked_headlines_goes_and_its_heading_with_it():
    links = ["Why the Andes are sliding faster this decade, explained", "The farmers who moved their village twice in ten years",
             "Inside the valley hospital that never closes its doors"]
    rail = "<h3>Elsewhere on the site</h3><ul>" + "".join(f'<li><a href="/s/{i}">{t}</a></li>'
                                                          for i, t in enumerate(links)) + "</ul>"
    result = extract(page(extra_body=rail))
    assert not any(t in result.text for t in links)
    assert "Elsewhere on the site" not in result.text
    assert BODY[-1] in result.text


def test_a_contact_line_at_the_end_is_not_the_story_but_an_address_in_the_story_is():
    quoted = ("Families can register missing relatives by writing to ayuda@andesrescue.example, the service said, "
              "and a hotline will stay open until every house has been searched.")
    tail = f"<p>{quoted}</p><p>Write to Ana Ruiz at ana.ruiz@andespost.example</p><p>(END)</p>"
    result = extract(page(extra_body=tail))
    assert "Write to Ana Ruiz" not in result.text
    assert quoted in result.text
    assert BODY[-1] in result.text
