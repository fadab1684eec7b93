"""The HTML digest in a real browser: runs the demo into a temporary folder,
renders the digest it would send now (a dry run: nothing recorded) as HTML,
and has headless Chromium take a screenshot of it, so a person can look at
what a subscriber's mail client or browser shows.

    apt-get install chromium                     # Debian's package (not a browser download)
    python bench/digest_screenshot.py --out /tmp/digest.png

Not a test (Chromium is not part of the test setup); it exits 2 with one line
when no Chromium is installed. It prints the PNG's path, its size, and what
the page holds (stories, sections), read back from the HTML.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/newsmon-digest.png")
    parser.add_argument("--width", type=int, default=900)
    parser.add_argument("--height", type=int, default=2200)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("digest_screenshot: no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsmon-digest-") as tmp:
        demo = subprocess.run([sys.executable, "-m", "newsmon.cli", "demo"], cwd=tmp, capture_output=True, text=True,
                              timeout=900)
        if demo.returncode != 0:
            print(demo.stderr[-2000:], file=sys.stderr)
            return 1
        from crawler.config import read_config
        from newsmon.digests import run_digest
        from newsmon.digests.render import render_html

        config = read_config(Path(tmp) / "newsmon-demo.yaml")
        results = run_digest(config, config.effective_database_url(), config.digests[0].name, dry_run=True)
        content = next((r.content for r in results if r.content is not None), None)
        if content is None:
            print("digest_screenshot: the demo's digest has nothing to send", file=sys.stderr)
            return 1
        html = render_html(content)
        page = Path(tmp) / "digest.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp}/profile", f"--window-size={args.width},{args.height}",
                        f"--screenshot={args.out}", page.as_uri()],
                       capture_output=True, text=True, timeout=120, check=True)
    stories = len(re.findall(r"<h3\b", html))
    sections = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    print(f"{args.out}: {Path(args.out).stat().st_size} bytes; {len(html)} bytes of HTML, inline styles: "
          f"{html.count('style=')}; sections: {', '.join(re.sub('<[^>]+>', '', s) for s in sections)}; "
          f"story headings: {stories}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
