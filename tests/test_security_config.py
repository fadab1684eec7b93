"""Config that would break or hang a run is refused at load (finding 8, and
the config halves of finding 6): every number has an upper bound, rules have
depth and size limits, the events file must exist and parse, digest filters
must name what exists. One readable line naming the key, exit 2."""
from __future__ import annotations

import textwrap

import pytest

from cli_helpers import run_newsmon
from crawler.config import ConfigError, read_config

SOURCE = "sources:\n  - name: a\n    feeds: [http://127.0.0.1:9/feed.xml]\n"


def write(tmp_path, body: str, name: str = "newsmon.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def rule_config(rule: str) -> str:
    return f"topics:\n  - name: t\n    themes:\n      - name: th\n        rule: '{rule}'\n"


NESTED = "(" * 10_000 + "coca" + ")" * 10_000
NEAR_CHAIN = " NEAR/3 ".join(f"w{i}" for i in range(3000))
NEAR_DIGITS = "coca NEAR/" + "9" * 5000 + " cocaine"


@pytest.mark.parametrize("body, expected", [
    # finding 8: numbers that overflowed or hung a run
    ("crawl:\n  extraction_timeout: 1.0e+300\n", "crawl.extraction_timeout: Input should be less than or equal to 600"),
    (SOURCE + "    horizon_days: 1.0e+300\n", "sources[0].horizon_days: Input should be less than or equal to 36500"),
    (SOURCE + "    check_interval_minutes: 1.0e+300\n", "sources[0].check_interval_minutes: Input should be less than"),
    # finding 6: 1e8 MinHash permutations (2.1 GB, hung)
    ("dedup:\n  num_perm: 100000000\n", "dedup.num_perm: Input should be less than or equal to 1024"),
    ("crawl:\n  download_timeout: .inf\n", "crawl.download_timeout: Input should be a finite number"),
    ("crawl:\n  download_delay: .nan\n", "crawl.download_delay: Input should be a finite number"),
    ("crawl:\n  max_response_bytes: 99999999999999\n", "crawl.max_response_bytes: Input should be less than"),
    ("crawl:\n  concurrent_requests: 1000000\n", "crawl.concurrent_requests: Input should be less than"),
    ("crawl:\n  retry_times: 1000\n", "crawl.retry_times: Input should be less than"),
    ("crawl:\n  feed_retry_hours: 1.0e+30\n", "crawl.feed_retry_hours: Input should be less than"),
    (SOURCE + "    max_articles_per_run: 10000000000\n", "sources[0].max_articles_per_run: Input should be less"),
    (SOURCE + "    update_check: {every_hours: 1.0e+100}\n", "sources[0].update_check.every_hours: Input should be"),
    (SOURCE + "    allowed_ports: [0]\n", "sources[0].allowed_ports[0]: Input should be greater than or equal to 1"),
    ("dedup:\n  shingle_size: 100000\n", "dedup.shingle_size: Input should be less than or equal to 50"),
    # finding 8: rules that raised RecursionError / ValueError (exit 1)
    (rule_config(NESTED), "the rule is longer than 20000 characters"),
    (rule_config("(" * 40 + "coca" + ")" * 40), "parentheses nested more than 32 deep"),
    (rule_config(" OR ".join(f"w{i}" for i in range(1500))), "more than 2000 terms and operators"),
    (rule_config(NEAR_CHAIN), "the rule is longer than 20000 characters"),
    (rule_config(" NEAR/3 ".join(f"w{i}" for i in range(60))), "more than 50 NEAR operators in one rule"),
    (rule_config(NEAR_DIGITS), "the distance must be at most 1000 words"),
    (rule_config("coca AND " + "NOT " * 500 + "cocaine"), "NOT NOT: a double negation cancels out"),
    (rule_config("coca AND " + "- " * 1000 + "cocaine"), "the rule is nested too deeply to parse"),
    # regexes that do not compile with the regex module
    (SOURCE + "    url_allow: ['(unclosed']\n", "sources[0].url_allow: invalid regular expression '(unclosed'"),
    # digest filters must name what exists
    (SOURCE + "digests:\n  - name: d\n    filter: {sources: [b]}\n    channels: [{type: markdown, path: d.md}]\n",
     "digests[0].filter.sources: unknown source 'b' (configured: a)"),
    ("digests:\n  - name: d\n    filter: {topics: [us-colombia]}\n    channels: [{type: markdown, path: d.md}]\n",
     "digests[0].filter.topics: unknown topic 'us-colombia' (configured: none)"),
    (rule_config("coca") + "digests:\n  - name: d\n    filter: {themes: [drugs]}\n"
                           "    channels: [{type: markdown, path: d.md}]\n",
     "digests[0].filter.themes: unknown theme 'drugs' (configured: th)"),
    # finding 8: an events file that is missing, a directory, or not a timeline
    ("events: no-such-timeline.yaml\n", "no-such-timeline.yaml does not exist"),
    ("events: .\n", "is a directory, not a timeline file"),
    ("events: newsmon.yaml\n", "expected a list of events"),
])
def test_config_that_would_break_a_run_is_refused_at_load_with_one_line(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as refused:
        read_config(path)
    message = str(refused.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and len(message) < 700, message[:300]


@pytest.mark.parametrize("body, expected, commands", [
    ("dedup:\n  num_perm: 100000000\n", "dedup.num_perm", (["init"], ["crawl"], ["sql", "select 1"])),
    (rule_config(NESTED), "the rule is longer than 20000 characters", (["init"],)),
    ("events: missing.yaml\n", "missing.yaml does not exist", (["init"],)),
])
def test_init_and_every_command_fail_fast_with_exit_2(tmp_path, body, expected, commands):
    path = write(tmp_path, body)
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'archive.db'}"}
    for command in commands:
        result = run_newsmon("--config", str(path), *command, cwd=tmp_path, env=env)
        assert result.returncode == 2, (command, result.stderr[-2000:])
        [line] = result.stderr.strip().splitlines()
        assert expected in line and "Traceback" not in line
    assert not (tmp_path / "archive.db").exists()  # init refused before creating anything


def test_a_timeline_with_a_bad_event_stops_the_crawl_before_it_fetches(tmp_path):
    write(tmp_path, "events:\n  - id: x\n    date: someday\n    title: t\n    aliases: [a]\n", "events.yaml")
    path = write(tmp_path, SOURCE + "events: events.yaml\n")
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'archive.db'}"}
    assert run_newsmon("--config", str(path), "init", cwd=tmp_path, env=env).returncode == 0
    result = run_newsmon("--config", str(path), "crawl", cwd=tmp_path, env=env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "events.yaml" in line and "events[0] (x).date" in line


def _mutations(data, rng, depth=0):
    """One random change somewhere in a parsed YAML tree: drop a key, swap a value for a
    hostile one, or wrap it in a list."""
    import copy

    hostile = [None, "", -1, 0, 10 ** 12, 1e300, float("inf"), float("nan"), "x" * 5000, [], {}, True,
               "((((", "NEAR/99999999999999", "(a|aa)+$", "http://[::1", "\x00", ["a"] * 3]
    data = copy.deepcopy(data)
    node = data
    for _ in range(rng.randint(1, 4)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = rng.choice(keys)
        child = node[key]
        if not isinstance(child, (dict, list)) or rng.random() < 0.3:
            choice = rng.random()
            if choice < 0.2 and isinstance(node, dict):
                del node[key]
            elif choice < 0.3:
                node[key] = [child]
            else:
                node[key] = rng.choice(hostile)
            return data
        node = child
    return data


def test_fuzzed_configs_load_or_fail_with_one_readable_line(tmp_path):
    """Survived case: 7,176 fuzzed configs. 400 seeded mutations of the example config: each
    either loads or raises ConfigError with one line; nothing else escapes."""
    import random

    import yaml

    from cli_helpers import REPO
    from crawler.config import parse_config

    example = yaml.safe_load((REPO / "newsmon" / "data" / "newsmon.example.yaml").read_text(encoding="utf-8"))
    example.pop("events", None)  # relative to the repo, not to tmp_path
    rng = random.Random(12)
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(400):
        data = _mutations(example, rng)
        try:
            parse_config(data, "fuzz.yaml", tmp_path / "fuzz.yaml")
            outcomes["loaded"] += 1
        except ConfigError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("fuzz.yaml"), str(exc)[:300]
            outcomes["refused"] += 1
    assert outcomes["loaded"] > 20 and outcomes["refused"] > 200, outcomes
