"""Run the real `newsmon` command line in a subprocess, as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_newsmon(*args: str, cwd: Path | str | None = None, env: dict | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
    """`newsmon ARGS…` with a clean environment (no inherited NEWSMON_* settings)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
