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

A ``newsmon worker`` forks the same child from its warm template instead
(:func:`forked_main`; docs/scale.md, "Child start-up").
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
    return run(argv[1], argv[2:], sys.stdin.read())


def run(config_path: str, rest: list[str], text: str) -> int:
    """``newsmon REST`` on the config text handed over (``config_path`` "-": none)."""
    from pathlib import Path

    from newsmon.cli import main as cli_main
    from crawler.config import parse_config
    from crawler.errors import parse_yaml_text

    config = None
    if config_path != "-":
        config = parse_config(parse_yaml_text(text, config_path), config_path, Path(config_path).resolve())
        rest = ["--config", config_path, *rest]
    return cli_main(rest, config=config)


def forked_main(worker_pid: int, argv: list[str], text: str, stdout, stderr, lifeline) -> None:
    """The same child, forked from a worker's warm template (newsmon/crawlwarm.py,
    started by newsmon/crawlproc.py ``start_warm_child``) instead of started
    from a fresh interpreter. Its parent is the template process, not the
    worker, so it dies with the worker by ``lifeline``: the read end of a pipe
    whose only write end the worker holds — end of file means the worker is
    gone (killed too), and a thread waits for it (SIGKILL, as the kernel kills
    a cold child). It is also killed with the template (``PR_SET_PDEATHSIG``).
    ``stdout``/``stderr``: the write ends of the worker's pipes
    (multiprocessing connections), made fds 1 and 2."""
    import threading

    template = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_die_at_end_of, args=(lifeline,), daemon=True, name="newsmon-lifeline").start()
    try:
        os.kill(worker_pid, 0)
    except OSError:
        os._exit(1)
    if os.getppid() != template:
        os._exit(1)
    os.setpgid(0, 0)  # as the cold child (process_group=0): a terminal's Ctrl-C goes to the worker only
    for conn, fd in ((stdout, 1), (stderr, 2)):
        if conn is None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        else:
            os.dup2(conn.fileno(), fd)
            conn.close()
    code = run(argv[0], argv[1:], text)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


def _die_at_end_of(lifeline) -> None:
    try:
        while os.read(lifeline.fileno(), 64):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
