"""Progress bars show on a terminal only: a pty gets the reextract bar, a pipe gets none."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

from cli_helpers import REPO, run_newsmon


def test_reextract_shows_a_progress_bar_on_a_terminal_only(tmp_path):
    assert run_newsmon("demo", cwd=tmp_path, timeout=300).returncode == 0
    piped = run_newsmon("--config", "newsmon-demo.yaml", "reextract", cwd=tmp_path, timeout=300)
    assert piped.returncode == 0 and "Re-extracted" in piped.stdout
    assert "re-extracting" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    env.update({"TERM": "xterm", "COLUMNS": "120", "PYTHONPATH": str(REPO)})
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", "newsmon-demo.yaml", "reextract"],
                               cwd=tmp_path, env=env, stdin=follower, stdout=follower, stderr=follower)
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
    assert process.wait(timeout=300) == 0
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "re-extracting" in shown and "Re-extracted" in shown
