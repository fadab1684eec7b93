"""The crawl process the service starts: ``python -P -m newsmon.crawlchild``.

The daemon (scheduler.py) starts it with its own interpreter and ``-P``, so
no directory can shadow newsmon's modules (``-P``: the working directory is
not put on ``sys.path``), and hands it, on stdin, the exact config text it
validated — the last good version, even when the file on disk has since been
edited into something invalid.

First thing, before any heavy import, it asks Linux to SIGKILL it when the
daemon dies (``PR_SET_PDEATHSIG``) and then checks the daemon did not die
before that request was made: a killed daemon never leaves a crawl running
beside the next one. (The archive's per-source lease makes sure of that on
any platform: see scheduler.run_source_job.)

Usage: python -P -m newsmon.crawlchild PARENT_PID CONFIG_PATH NEWSMON-ARGS...
(config text on stdin; NEWSMON-ARGS as for ``newsmon``, e.g. ``crawl SOURCE``).
"""
from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)  # the daemon is gone already


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: python -P -m newsmon.crawlchild PARENT_PID CONFIG_PATH NEWSMON-ARGS... "
              "(started by 'newsmon run')", file=sys.stderr)
        return 2
    die_with_parent(int(argv[0]))
    config_path, rest = argv[1], argv[2:]
    text = sys.stdin.read()
    from pathlib import Path

    from newsmon.cli import main as cli_main
    from crawler.config import parse_config
    from crawler.errors import parse_yaml_text

    config = None
    if config_path != "-":
        config = parse_config(parse_yaml_text(text, config_path), config_path, Path(config_path).resolve())
        rest = ["--config", config_path, *rest]
    return cli_main(rest, config=config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
