"""The wheel works outside the checkout: package data (migrations, templates,
demo site, example config) travels inside it and is found with importlib.resources."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# What the wheel is built from (a copy, so the build leaves nothing in the checkout).
SOURCES = ("pyproject.toml", "README.md", "alembic.ini", "alembic", "newsmon", "crawler", "spiders", "storage",
           "scheduler.py")


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{cmd}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def test_wheel_installed_in_a_fresh_venv_runs_init_and_demo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        kwargs = {"ignore": shutil.ignore_patterns("__pycache__", "*.pyc")} if (REPO / name).is_dir() else {}
        copy(REPO / name, src / name, **kwargs)
    # Offline: the build uses this venv's setuptools instead of downloading one.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
          str(tmp_path / "dist"), str(src)])
    (wheel,) = (tmp_path / "dist").glob("newsmon-*.whl")

    # A fresh venv without pip; its dependencies come from this venv's site-packages via a .pth
    # (a path line only: the checkout's editable-install hook there is not run).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    fresh_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                      .stdout.strip())
    (fresh_site / "newsmon-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
          str(wheel)])

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PYTHON"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    where = _run([str(python), "-c", "import json, newsmon, storage.db, sys; print(newsmon.__file__); "
                                     "print(storage.db.migrations_dir()); print(json.dumps(sys.path))"],
                 cwd=work, env=env).stdout.splitlines()
    assert where[0].startswith(str(fresh_site)) and where[1].startswith(str(fresh_site)), where
    # The checkout itself is not importable (the dependencies' site-packages may live inside it).
    entries = {str((work / p).resolve()) for p in json.loads(where[2])}  # "" is the working directory
    assert str(REPO) not in entries, entries

    newsmon = str(venv / "bin" / "newsmon")
    result = _run([newsmon, "init", "--config", "conf/newsmon.yaml"], cwd=work, env=env)
    from storage.db import SCHEMA_HEAD

    assert f"schema {SCHEMA_HEAD}" in result.stdout
    assert (work / "conf" / "newsmon.yaml").exists() and (work / "conf" / "events.example.yaml").exists()
    assert (work / "conf" / "newsmon.db").exists()  # beside the config, not in the working directory
    result = _run([newsmon, "--config", "conf/newsmon.yaml", "events"], cwd=work, env=env)

    result = _run([newsmon, "demo"], cwd=work, env=env)
    assert "Contradictions" in result.stdout and (work / "newsmon-demo.db").exists()
    result = _run([newsmon, "--config", "newsmon-demo.yaml", "search", "visa", "--json"], cwd=work, env=env)
    assert '"<mark>' in result.stdout or "<mark>" in result.stdout
