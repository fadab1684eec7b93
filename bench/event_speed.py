"""diff_text per sentence, today's code beside the event diff before issue 13.

    python bench/event_speed.py [BASELINE_COMMIT]

Issue 13 (lemmas, modality, evidence, follow-up candidates) allowed the
analysis to cost at most twice as much per sentence. The baseline is the
single-module ``crawler/events.py`` (and ``crawler/facts.py``) of commit
9cfc2f4, read out of git into a temporary directory, run on the same texts
(the labelled, held-out and blind sets and the unrelated pages) against the
timeline of that commit. Both are timed text by text, interleaved, in CPU
time (other processes on a loaded machine do not count), best of 7 rounds.
Prints both costs and the ratio. Needs the git history (a clone, not an sdist).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import event_quality  # noqa: E402
from crawler.events.diff import diff_text  # noqa: E402
from crawler.events.timeline import read_timeline  # noqa: E402
from crawler.facts import split_sentences  # noqa: E402

BASELINE = "9cfc2f4"


def _git_show(commit: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, check=True, capture_output=True,
                          text=True).stdout


def load_baseline(commit: str, where: Path):
    """The old event diff as a module (its facts module beside it), and its timeline."""
    (where / "old_facts.py").write_text(_git_show(commit, "crawler/facts.py"))
    events = _git_show(commit, "crawler/events.py").replace("from crawler.facts import", "from old_facts import")
    # The config helpers it imported have moved since (the error formatter is crawler/errors.py now).
    events = events.replace("from newsmon.config import ConfigError", "from crawler.errors import ConfigError")
    (where / "old_events.py").write_text(events)
    (where / "timeline.yaml").write_text(_git_show(commit, "tests/fixtures/events/timeline.yaml"))
    sys.path.insert(0, str(where))
    spec = importlib.util.spec_from_file_location("old_events", where / "old_events.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_events"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module, module.read_timeline(where / "timeline.yaml")


def main(argv: list[str]) -> int:
    commit = argv[0] if argv else BASELINE
    texts = list(event_quality.unrelated_pages())
    for path in (event_quality.DEFAULT, event_quality.HELDOUT, event_quality.BLIND):
        import yaml

        texts += [(i["text"], event_quality._as_date(i.get("published")))
                  for i in yaml.safe_load(path.read_text())["items"]]
    sentences = sum(len(split_sentences(text)) for text, _p in texts)
    with tempfile.TemporaryDirectory() as tmp:
        old, old_timeline = load_baseline(commit, Path(tmp))
        timeline = read_timeline(event_quality.FIXTURES / "timeline.yaml")
        best_old = best_new = float("inf")
        for _round in range(8):
            spent_old = spent_new = 0.0
            for text, published in texts:
                started = time.process_time()
                old.diff_text(text, old_timeline, published, None, None, published)
                spent_old += time.process_time() - started
                started = time.process_time()
                diff_text(text, timeline, published, None, None, published)
                spent_new += time.process_time() - started
            if _round:  # the first round warms caches (lemma dictionaries, regexes)
                best_old, best_new = min(best_old, spent_old), min(best_new, spent_new)
    print(f"{sentences} sentences, best of 7 rounds (CPU time)")
    print(f"  before issue 13 ({commit}): {best_old / sentences * 1e6:7.0f} µs per sentence")
    print(f"  now:                         {best_new / sentences * 1e6:7.0f} µs per sentence")
    print(f"  ratio: {best_new / best_old:.2f}× (the budget: 2×)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
