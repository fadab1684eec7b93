"""init, sql (read-only), sources, stats and --help, through the real command line."""
from sqlalchemy import text

from cli_helpers import run_newsmon
from storage.db import session_scope
from storage.models import Source


def test_init_then_sql_counts_articles_without_a_config_file(empty_db_url, tmp_path):
    env = {"NEWSMON_DATABASE_URL": empty_db_url}
    first = run_newsmon("init", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    again = run_newsmon("init", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    # The test server's only role is a superuser (tests/test_security_sql.py covers the read-only role).
    result = run_newsmon("sql", "select count(*) as n from v_articles", "--json", "--allow-superuser",
                         cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert '"n": 0' in result.stdout


def test_sql_cannot_delete_or_drop_and_data_is_untouched(db_url, tmp_path):
    with session_scope(db_url) as session:
        session.add(Source(name="kept"))
    env = {"NEWSMON_DATABASE_URL": db_url}
    for statement in ("DELETE FROM sources", "DROP TABLE sources", "UPDATE sources SET name = 'x'"):
        result = run_newsmon("sql", statement, "--allow-superuser", cwd=tmp_path, env=env)
        assert result.returncode == 2  # refused before it reaches the database
        assert "read-only" in result.stderr
        assert "Traceback" not in result.stderr
    with session_scope(db_url) as session:
        assert session.execute(text("SELECT name FROM sources")).scalars().all() == ["kept"]


def test_sql_outputs_csv(db_url, tmp_path):
    with session_scope(db_url) as session:
        session.add_all([Source(name="one"), Source(name="two")])
    result = run_newsmon("sql", "select name from sources order by name", "--csv", "--allow-superuser", cwd=tmp_path,
                         env={"NEWSMON_DATABASE_URL": db_url})
    assert result.stdout.splitlines() == ["name", "one", "two"]


def test_sql_error_is_one_line(sqlite_url, tmp_path):
    result = run_newsmon("sql", "select * from no_such_table", cwd=tmp_path, env={"NEWSMON_DATABASE_URL": sqlite_url})
    assert result.returncode == 1
    assert result.stderr.startswith("newsmon: SQL error:") and "no_such_table" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_commands_refuse_an_archive_not_initialised(tmp_path):
    result = run_newsmon("stats", cwd=tmp_path, env={"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"})
    assert result.returncode == 2
    assert "run 'newsmon init'" in result.stderr


def test_init_writes_the_example_config_where_asked(tmp_path):
    target = tmp_path / "conf" / "newsmon.yaml"
    result = run_newsmon("init", "--config", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "us-colombia" in target.read_text() or "colombia" in target.read_text()
    assert (tmp_path / "conf" / "newsmon.db").exists()
    assert (tmp_path / "conf" / "events.example.yaml").exists()  # the config names it
    listed = run_newsmon("--config", str(target), "sources", cwd=tmp_path)
    assert listed.returncode == 0 and "el-espectador" in listed.stdout


def test_every_command_help_has_an_example():
    import argparse

    from newsmon.cli import build_parser

    top = run_newsmon("--help")
    assert top.returncode == 0 and "Example:" in top.stdout
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = sorted(subparsers.choices)
    assert {"init", "sql", "sources", "stats"} <= set(commands)
    for command in commands:
        result = run_newsmon(command, "--help")
        assert result.returncode == 0, command
        assert "Example:" in result.stdout, command


def test_unknown_command_is_one_line_exit_2():
    result = run_newsmon("frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def _modules_loaded_by_building_the_parser() -> set[str]:
    """Build the full parser in a fresh interpreter (as every `newsmon` call and
    the `newsmon run` daemon do) and return the top-level packages it imported."""
    import subprocess
    import sys

    code = ("import sys\nfrom newsmon.cli import build_parser\n"
            "parser = build_parser()\nparser.format_help()\n"
            "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "newsmon" in loaded  # the parser was really built in that process
    return loaded


def test_help_does_not_import_scrapy_or_trafilatura():
    assert not {"scrapy", "twisted", "trafilatura"} & _modules_loaded_by_building_the_parser()


def test_help_does_not_import_the_database_config_or_console_libraries():
    # Each is imported by the command that needs it; `newsmon --help` and the daemon stay light.
    heavy = {"sqlalchemy", "alembic", "pydantic", "rich", "jinja2", "luqum", "dateparser", "yaml", "apscheduler"}
    assert not heavy & _modules_loaded_by_building_the_parser()
