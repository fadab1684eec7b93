"""Two services on one archive, a shadowing working directory, and a config
edited under a running service — real daemons, real crawls over loopback."""
from __future__ import annotations

import os
import signal

import pytest

from service_harness import (
    DedupWebhook,
    GrowingSite,
    archive_report,
    child_pids,
    log_events,
    newsmon,
    overlapping_crawls,
    pid_alive,
    soak_config,
    start_daemon,
    status,
    stop_daemon,
    wait_for,
    write_config,
)

# Long-running service processes: two groups (service, service-b), each run one test after another on one xdist
# worker (`make test` uses -n 3 --dist loadgroup), the rest of the suite spread beside them.
pytestmark = pytest.mark.xdist_group("service-b")

STANDBY = "holds the archive; waiting as standby"


@pytest.fixture
def site():
    running = GrowingSite()
    yield running
    running.close()


@pytest.fixture
def hook():
    receiver = DedupWebhook()
    yield receiver
    receiver.close()


@pytest.fixture
def reaper():
    procs = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def roles(config) -> dict[int, str]:
    return {m["pid"]: m["role"] for m in status(config)["service"]["members"]}


def finished_runs(url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import session_scope
    from storage.models import CrawlRun

    with session_scope(url) as session:
        return session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.status == "ok"))


def settled(url, site, hook):
    report = archive_report(url)
    return report["urls"] >= site.urls() and set(hook.times_delivered()) >= site.titles()


def test_a_second_service_waits_as_standby_and_takes_over_when_the_leader_is_killed(db_url, tmp_path, site, hook,
                                                                                     reaper):
    from storage.db import migrate

    migrate(db_url)
    site.publish(6)
    config = soak_config(tmp_path, db_url, site, hook)
    first = start_daemon(config, tmp_path / "first.log")
    reaper.append(first)
    wait_for(lambda: roles(config).get(first.pid) == "leader", 60, "the first service to lead")
    second = start_daemon(config, tmp_path / "second.log")
    reaper.append(second)
    wait_for(lambda: any(STANDBY in e["msg"] for e in log_events(tmp_path / "second.log")), 60,
             "the second service to say it waits")
    runs = finished_runs(db_url)
    wait_for(lambda: finished_runs(db_url) >= runs + 4, 90, "the leader to crawl while the standby waits")
    both = roles(config)
    text = newsmon(config, "status").stdout

    standby_lines = [e["msg"] for e in log_events(tmp_path / "second.log") if STANDBY in e["msg"]]
    assert both == {first.pid: "leader", second.pid: "standby"}
    assert f"leader: pid {first.pid}" in text and f"standby: pid {second.pid}" in text
    assert standby_lines == [f"another newsmon service (pid {first.pid}, host {os.uname().nodename}) {STANDBY}"]
    assert not [e for e in log_events(tmp_path / "second.log") if "crawl" in e["msg"] and "starting" in e["msg"]]

    crawls = child_pids(first.pid)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    wait_for(lambda: roles(config) == {second.pid: "leader"}, 60, "the standby to take over")
    site.publish(4)
    wait_for(lambda: settled(db_url, site, hook), 120, "every article archived and delivered by the new leader")
    code = stop_daemon(second)

    report = archive_report(db_url)
    assert not any(pid_alive(pid) for pid in crawls)
    assert report["articles"] == report["distinct_urls"] == len(site.urls())
    assert set(hook.times_delivered().values()) == {1}
    assert overlapping_crawls(db_url) == []
    second_log = " ".join(e["msg"] for e in log_events(tmp_path / "second.log"))
    assert "newsmon service leading" in second_log and "No job by the id" not in second_log
    assert code == 0
    assert status(config)["service"]["members"] == []  # a clean stop hands the lease back


def test_a_folder_named_newsmon_in_the_working_directory_changes_nothing(sqlite_url, tmp_path, site, hook, reaper):
    trap = tmp_path / "cwd"
    for package in ("newsmon", "storage", "crawler", "spiders"):
        (trap / package).mkdir(parents=True)
        (trap / package / "__init__.py").write_text("raise ImportError('shadowed by the working directory')\n")
    (trap / "scheduler.py").write_text("raise ImportError('shadowed by the working directory')\n")
    site.publish(4)
    config = soak_config(tmp_path, sqlite_url, site, hook)
    daemon = start_daemon(config, tmp_path / "service.log", cwd=trap)
    reaper.append(daemon)
    wait_for(lambda: settled(sqlite_url, site, hook), 120, "the crawls and the digest")
    code = stop_daemon(daemon)

    messages = " ".join(e["msg"] for e in log_events(tmp_path / "service.log"))
    assert "shadowed" not in messages and "exit status 1" not in messages
    assert archive_report(sqlite_url)["articles"] == 4
    assert code == 0


def test_an_invalid_config_keeps_the_last_good_one_running_until_a_valid_one_appears(sqlite_url, tmp_path, site,
                                                                                     hook, reaper):
    import yaml

    site.publish(2)
    config = soak_config(tmp_path, sqlite_url, site, hook)
    good = config.read_text()
    one_source = yaml.safe_load(good)
    one_source["sources"] = one_source["sources"][:1]
    write_config(config, one_source)
    log = tmp_path / "service.log"
    daemon = start_daemon(config, log)
    reaper.append(daemon)
    # `newsmon status` itself needs a readable config: ask through a copy while the file is broken.
    viewer = tmp_path / "viewer"
    viewer.mkdir()
    viewer_config = write_config(viewer / "newsmon.yaml", yaml.safe_load(good))
    wait_for(lambda: finished_runs(sqlite_url) >= 2, 90, "crawls on the first version")
    first_version = status(viewer_config)["service"]["members"][0]["config_version"]

    config.write_text(good.replace("sources:", "sources: [unclosed", 1))
    wait_for(lambda: any("is invalid" in e["msg"] for e in log_events(log)), 60, "the invalid config to be noticed")
    runs = finished_runs(sqlite_url)
    wait_for(lambda: finished_runs(sqlite_url) >= runs + 3, 90, "crawls going on with the last good config")
    during = status(viewer_config)["service"]["members"][0]
    broken = newsmon(config, "status")
    invalid_lines = [e["msg"] for e in log_events(log) if "is invalid" in e["msg"]]

    config.write_text(good)  # valid again, now with the second source
    wait_for(lambda: status(viewer_config)["service"]["members"][0]["config_version"] != first_version, 60,
             "the new version to be picked up")
    wait_for(lambda: settled(sqlite_url, site, hook), 120, "the second source's articles")
    after = status(viewer_config)["service"]["members"][0]
    code = stop_daemon(daemon)

    assert len(invalid_lines) == 1 and f"still running on version {first_version}" in invalid_lines[0]
    assert during["config_version"] == first_version and "invalid YAML" in during["config_error"]
    assert broken.returncode == 2 and "invalid YAML" in broken.stderr and len(broken.stderr.splitlines()) == 1
    assert after["config_error"] is None and after["config_mtime"]
    assert archive_report(sqlite_url)["articles"] == 2
    assert daemon.returncode == 0 and code == 0


def test_a_job_store_that_cannot_save_run_times_does_not_stop_the_scheduler(sqlite_url):
    """APScheduler 3 ends its thread when saving a job's next run time fails;
    the service's job store logs it and goes on (this notices an APScheduler change)."""
    import threading

    from apscheduler.events import EVENT_JOB_EXECUTED
    from sqlalchemy import text

    import scheduler
    from storage.db import get_engine

    runs = []
    done = threading.Event()
    sched = scheduler.build_scheduler(sqlite_url)
    sched.add_listener(lambda event: (runs.append(event.job_id), len(runs) >= 4 and done.set()), EVENT_JOB_EXECUTED)
    sched.start(paused=True)
    try:
        sched.add_job("time:sleep", "interval", args=(0,), seconds=0.5, id="tick", replace_existing=True)
        with get_engine(sqlite_url).begin() as conn:  # every later write of the job's run time fails
            conn.execute(text("CREATE TRIGGER refuse BEFORE UPDATE ON apscheduler_jobs "
                              "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
        sched.resume()
        finished = done.wait(60)
    finally:
        sched.shutdown(wait=False)
    assert finished, f"the scheduler stopped after {len(runs)} runs"
