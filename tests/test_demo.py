"""`newsmon demo` on a fresh directory: the whole pipeline runs offline on the
bundled site, the edit is caught, and the archive it leaves can be queried
with the command it prints."""
from __future__ import annotations

from collections import Counter

from cli_helpers import run_newsmon
from newsmon.localsite import LocalNewsSite


def test_demo_crawls_twice_reports_each_section_and_leaves_a_queryable_archive(tmp_path):
    result = run_newsmon("demo", cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Traceback" not in result.stderr and "failed:" not in out
    filed = Counter(a["outlet"] for a in LocalNewsSite().articles()
                    if a["expected"] and a["outlet"] in ("andean-post", "el-observador", "capital-wire"))
    for outlet, count in filed.items():
        assert f"{outlet}: {count} articles" in out
    # the second crawl caught the corrected figure as a new version
    assert "version 1 → 2" in out
    assert "+The suspended disbursements total about $320 million" in out
    assert "-The suspended disbursements total about $230 million" in out
    for heading in ("Incremental crawling", "Duplicates", "Topics and themes", "Event diff", "Digest preview",
                    "Query it"):
        assert heading in out
    assert (tmp_path / "newsmon-demo.db").exists() and (tmp_path / "newsmon-demo.yaml").exists()

    query = run_newsmon("--config", "newsmon-demo.yaml", "sql", "select title, source from v_articles",
                        cwd=tmp_path)
    assert query.returncode == 0, query.stderr
    assert "US halts aid payments to Colombia" in query.stdout and "capital-wire" in query.stdout
