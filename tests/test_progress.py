"""Progress bars show on a terminal only: a pty gets the crawl's and reextract's bars (counts and an ETA),
a pipe gets none."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from cli_helpers import REPO, run_newsmon
from conftest import SEEDS, StaticSite, crawl, rss, write_config


def on_a_terminal(args: list[str], cwd) -> str:
    """What `newsmon ARGS` shows on a terminal (a pty, 160 columns), without its colour and cursor codes;
    asserts exit 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({"TERM": "xterm", "COLUMNS": "160", "PYTHONPATH": str(REPO)})
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "newsmon.cli", *args], cwd=cwd, env=env,
                               stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.wait(timeout=300) == 0, b"".join(chunks)[-2000:]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))


def story(seed: str) -> bytes:
    text = sorted(SEEDS.glob(f"{seed}_*.txt"))[0].read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
            f"</article></body></html>").encode()


def test_crawl_shows_articles_pages_and_an_eta_on_a_terminal_only(sqlite_url, tmp_path):
    with StaticSite() as site:
        for n, seed in enumerate(("001", "002", "003")):
            site.routes[f"/{n}.html"] = (200, "text/html; charset=utf-8", story(seed))
        site.routes["/feed.xml"] = (200, "application/rss+xml",
                                    rss(site.base_url, [(f"S{n}", f"/{n}.html") for n in range(3)]))
        config = write_config(tmp_path, sqlite_url, [{"name": "outlet", "feeds": [f"{site.base_url}/feed.xml"],
                                                       "allow_private_addresses": True}],
                              crawl={"obey_robots_txt": False})
        shown = on_a_terminal(["--config", config, "crawl"], tmp_path)
        site.routes["/feed.xml"] = (200, "application/rss+xml",
                                    rss(site.base_url, [(f"S{n}", f"/{n}.html") for n in range(4)]))
        site.routes["/3.html"] = (200, "text/html; charset=utf-8", story("004"))
        piped = crawl(config)
    # The last frame: 3 of 3 article pages, 4 pages fetched (the feed too), 3 new; then the table.
    assert "outlet: starting" in shown and "outlet: 4 pages, 3 new" in shown, shown[-3000:]
    assert "3/3 articles · ETA" in shown, shown[-3000:]
    assert "outlet" in shown and "ok" in shown
    assert "ETA" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout
    assert "1 new" in piped.stderr  # the log says it instead


def test_reextract_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    assert run_newsmon("demo", cwd=tmp_path, timeout=300).returncode == 0
    piped = run_newsmon("--config", "newsmon-demo.yaml", "reextract", cwd=tmp_path, timeout=300)
    assert piped.returncode == 0 and "Re-extracted" in piped.stdout
    assert "re-extracting" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout

    shown = on_a_terminal(["--config", "newsmon-demo.yaml", "reextract"], tmp_path)
    assert "re-extracting" in shown and "Re-extracted" in shown and "ETA" in shown
