"""A wrong config exits 2 with one readable line naming the file, the key and the problem."""
import textwrap

import pytest

from cli_helpers import REPO, run_newsmon
from crawler.config import ConfigError, load_config, read_config

GOOD_SOURCE = "sources:\n  - name: a\n    feeds: [http://127.0.0.1:9/feed.xml]\n"


def write(tmp_path, body: str):
    path = tmp_path / "newsmon.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize("body, expected", [
    ("colour: blue\n", "colour: unknown key"),
    ("sources:\n  - name: a\n    feeds: http://x.org/feed\n", "sources[0].feeds: Input should be a valid list"),
    ("sources:\n  - name: a\n    feeds: [not-a-url]\n", "sources[0].feeds: 'not-a-url' is not an http(s) URL"),
    (GOOD_SOURCE + "  - name: a\n    feeds: [http://127.0.0.1:9/other.xml]\n", "sources[1].name: duplicate name 'a'"),
    ("topics:\n  - name: t\n    themes:\n      - {name: visa, rule: visa}\n      - {name: visa, rule: visas}\n",
     "topics[0].themes[1].name: duplicate name 'visa'"),
    ("crawl:\n  download_delay: soon\n", "crawl.download_delay: Input should be a valid number"),
    ("sources:\n  - name: a\n", "sources[0]: a source needs at least one of feeds, sitemaps or sections"),
    ("sources: [\n", "invalid YAML"),
    ("- just\n- a list\n", "the top level must be a mapping"),
])
def test_invalid_config_exits_2_with_one_line_naming_file_and_key(tmp_path, body, expected):
    path = write(tmp_path, body)
    result = run_newsmon("--config", str(path), "sources")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and expected in lines[0]


def test_missing_config_file_is_named(tmp_path):
    result = run_newsmon("--config", str(tmp_path / "nope.yaml"), "sources")
    assert result.returncode == 2
    assert result.stderr.strip() == f"newsmon: {tmp_path / 'nope.yaml'}: config file not found"


def test_config_is_found_by_env_then_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSMON_CONFIG", raising=False)
    assert [s.name for s in load_config().sources] == ["a"]
    other = tmp_path / "sub"
    other.mkdir()
    monkeypatch.chdir(other)
    assert load_config().sources == []  # no file: defaults
    monkeypatch.setenv("NEWSMON_CONFIG", str(path))
    assert [s.name for s in load_config().sources] == ["a"]


def test_database_defaults_beside_config_and_env_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD_SOURCE)
    monkeypatch.delenv("NEWSMON_DATABASE_URL", raising=False)
    assert read_config(path).effective_database_url() == f"sqlite:///{tmp_path.resolve() / 'newsmon.db'}"
    monkeypatch.setenv("NEWSMON_DATABASE_URL", "sqlite:////elsewhere.db")
    assert read_config(path).effective_database_url() == "sqlite:////elsewhere.db"


def test_example_config_is_valid_and_monitors_english_and_spanish_outlets():
    config = read_config(REPO / "newsmon" / "data" / "newsmon.example.yaml")
    languages = {s.language for s in config.sources}
    assert {"en", "es"} <= languages
    assert len(config.sources) >= 6


def test_unknown_source_name_is_a_config_error(tmp_path):
    config = read_config(write(tmp_path, GOOD_SOURCE))
    with pytest.raises(ConfigError, match="unknown source 'b'"):
        config.source("b")


def test_bad_topic_rule_is_a_config_error_naming_the_rule(tmp_path):
    path = write(tmp_path, GOOD_SOURCE + "topics:\n  - name: t\n    themes:\n"
                                         "      - name: visas\n        rule: 'visa AND'\n")
    result = run_newsmon("--config", str(path), "sources")
    assert result.returncode == 2
    assert str(path) in result.stderr and "'visas'" in result.stderr and "visa AND" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


DIGEST = ("digests:\n  - name: d\n    channels: [{type: markdown, path: d.md}]\n    filter: {%s}\n"
          "topics:\n  - name: rel\n    themes: [{name: trade, rule: tariffs}]\n")


@pytest.mark.parametrize("body, expected", [
    (GOOD_SOURCE + "    earliest_date: yesterday-ish\n",
     "sources[0].earliest_date: 'yesterday-ish' is not a date (write it as YYYY-MM-DD"),
    (GOOD_SOURCE + "    earliest_date: 20200101\n", "sources[0].earliest_date: 20200101 is not a date"),
    (GOOD_SOURCE + "    earliest_date: 2999-01-01\n", "sources[0].earliest_date: 2999-01-01 is in the future"),
    (GOOD_SOURCE + DIGEST % "topics: [rell]", "digests[0].filter.topics: unknown topic 'rell' (configured: rel)"),
    (GOOD_SOURCE + DIGEST % "themes: [trades]", "digests[0].filter.themes: unknown theme 'trades' (configured: trade)"),
    (GOOD_SOURCE + DIGEST % "sources: [b]", "digests[0].filter.sources: unknown source 'b' (configured: a)"),
])
def test_dates_and_digest_filters_are_checked_on_load(tmp_path, body, expected):
    path = write(tmp_path, body)
    result = run_newsmon("--config", str(path), "sources")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr, result.stderr


def test_earliest_date_as_yaml_date_or_string(tmp_path):
    from datetime import date

    for value in ("2020-01-01", '"2020-01-01"'):
        config = read_config(write(tmp_path, GOOD_SOURCE + f"    earliest_date: {value}\n"))
        assert config.sources[0].earliest_date == date(2020, 1, 1)
    config = read_config(write(tmp_path, GOOD_SOURCE + DIGEST % "topics: [rel], themes: [trade], sources: [a]"))
    assert config.digests[0].filter.themes == ["trade"]


def test_relative_sqlite_url_is_beside_the_config_not_the_working_directory(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "newsmon.yaml").write_text("database_url: sqlite:///data/archive.db\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_newsmon("--config", str(conf / "newsmon.yaml"), "init", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (conf / "data" / "archive.db").exists()
    assert list(elsewhere.iterdir()) == []
    absolute = read_config(write(tmp_path, f"database_url: sqlite:///{tmp_path}/abs.db\n"))
    assert absolute.effective_database_url() == f"sqlite:///{tmp_path}/abs.db"
