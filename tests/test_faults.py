"""Fault injection on the real CLI: dead and stuck workers, signals, a killed run.

Each test provokes the fault for real, in subprocesses, and checks that
every input is accounted for in the JSON report, that no temporary file is
left, and the exact exit code. The ``IMGQ_TEST_*`` hooks make a worker die
or hang on a chosen image (see ``imgq/testhooks.py``).
"""

from __future__ import annotations

import filecmp
import os
import random
import signal
import time

import pytest

from faultkit import (
    assert_accounted,
    assert_clean,
    assert_outputs_complete,
    children,
    finish,
    gone,
    image_lines,
    make_tree,
    read_report,
    start_imgq,
    wait_for,
)


def test_image_that_kills_worker_twice_fails(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src", 12)
    report = tmp_path / "report.jsonl"
    env = dict(os.environ, IMGQ_TEST_CRASH_ON="img0005")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2",
               "--chunk-size", "4", "--report", report, env=env)

    assert run.returncode == 1
    assert run.error_lines == [f"imgq: {inputs[5]}: worker process died (signal 9)"]
    assert "retrying its" in run.stderr
    images, summary = read_report(report)
    assert_accounted(images, summary, inputs)
    assert (summary["written"], summary["failed"]) == (11, 1)
    assert assert_outputs_complete(tmp_path / "out", inputs) == 11
    assert_clean(tmp_path)


def test_worker_killed_mid_chunk_is_replaced(tmp_path):
    inputs = make_tree(tmp_path / "src", 24)
    report = tmp_path / "report.jsonl"
    process = start_imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2",
                         "--chunk-size", "6", "--report", report, env_extra={"IMGQ_TEST_DELAY": "0.1"})

    wait_for(lambda: image_lines(report) >= 2, "the first results")
    workers = children(process, "imgq-worker")
    assert workers, "no worker process found"
    workers[0].send_signal(signal.SIGKILL)
    code, _, stderr = finish(process)

    assert code == 0, stderr
    assert "imgq: warning: a worker ended (signal 9); retrying its" in stderr
    images, summary = read_report(report)
    assert_accounted(images, summary, inputs)
    assert summary["written"] == 24
    assert assert_outputs_complete(tmp_path / "out", inputs) == 24
    assert_clean(tmp_path)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_stuck_image_times_out(imgq, tmp_path, jobs):
    inputs = make_tree(tmp_path / "src", 8)
    report = tmp_path / "report.jsonl"
    env = dict(os.environ, IMGQ_TEST_HANG_ON="img0003")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", jobs,
               "--chunk-size", "3", "--timeout", "1", "--report", report, env=env)

    assert run.returncode == 1
    assert run.error_lines == [f"imgq: {inputs[3]}: timed out after 1 s (--timeout)"]
    images, summary = read_report(report)
    assert_accounted(images, summary, inputs)
    assert (summary["written"], summary["failed"]) == (7, 1)
    assert_clean(tmp_path)


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signal_stops_run_cleanly(tmp_path, signum, code, word):
    inputs = make_tree(tmp_path / "src", 40, size=(64, 64))
    report = tmp_path / "report.jsonl"
    process = start_imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2",
                         "--chunk-size", "5", "--report", report, env_extra={"IMGQ_TEST_DELAY": "0.2"})

    wait_for(lambda: image_lines(report) >= 1 and len(children(process)) >= 3, "a run in progress")
    spawned = children(process)
    process.send_signal(signum)
    returncode, _, stderr = finish(process)

    assert returncode == code
    assert stderr.strip().splitlines()[-1].endswith(word)
    wait_for(lambda: gone(spawned), "the children to end", limit=10)
    images, summary = read_report(report)
    assert summary["interrupted"] is True
    assert summary["exit_code"] == code
    assert_accounted(images, summary, inputs)
    written = assert_outputs_complete(tmp_path / "out", inputs)
    assert written == summary["written"]
    assert_clean(tmp_path)


def test_group_sigterm_keeps_counts(tmp_path):
    # timeout(1) and service managers signal the whole process group.
    inputs = make_tree(tmp_path / "src", 40, size=(64, 64))
    report = tmp_path / "report.jsonl"
    process = start_imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2",
                         "--chunk-size", "5", "--report", report, env_extra={"IMGQ_TEST_DELAY": "0.2"},
                         start_new_session=True)

    wait_for(lambda: image_lines(report) >= 1 and len(children(process)) >= 3, "a run in progress")
    os.killpg(process.pid, signal.SIGTERM)
    returncode, _, stderr = finish(process)

    assert returncode == 143
    assert "Traceback" not in stderr
    images, summary = read_report(report)
    written = assert_outputs_complete(tmp_path / "out", inputs)
    assert written == summary["written"]
    assert written >= 1
    assert f"{written} written" in stderr
    assert_clean(tmp_path)


def test_second_interrupt_ends_at_once(tmp_path):
    inputs = make_tree(tmp_path / "src", 40)
    process = start_imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2",
                         "--chunk-size", "5", env_extra={"IMGQ_TEST_DELAY": "0.2"})

    wait_for(lambda: len(children(process)) >= 3, "workers and collector")
    spawned = children(process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    returncode, _, stderr = finish(process)

    assert returncode == 130
    assert "Traceback" not in stderr
    wait_for(lambda: gone(spawned), "the children to end", limit=10)
    assert_outputs_complete(tmp_path / "out", inputs)
    assert_clean(tmp_path)


def test_killed_run_rerun_matches_clean_run(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src", 60, size=(48, 32))
    options = ["run", tmp_path / "src", "--op", "rotate=90", "--op", "resize=50%", "-j", "2", "--chunk-size", "4",
               "--manifest"]
    clean = imgq(*options, "-o", tmp_path / "clean")
    assert clean.returncode == 0

    process = start_imgq(*options, "-o", tmp_path / "out", env_extra={"IMGQ_TEST_DELAY": "0.02"})
    wait_for(lambda: len(children(process)) >= 2, "the run to start")
    spawned = children(process)
    # Any moment of the run will do; the run takes about a second.
    time.sleep(random.uniform(0.0, 1.0))
    process.kill()
    process.communicate()
    wait_for(lambda: gone(spawned), "the orphaned children to end", limit=10)

    rerun = imgq(*options, "-o", tmp_path / "out")
    assert rerun.returncode == 0, rerun.stderr
    assert_clean(tmp_path)
    again = imgq(*options, "-o", tmp_path / "out")
    assert again.stderr.splitlines()[-1].startswith("imgq: 0 written, 60 skipped")
    names = sorted(path.name for path in (tmp_path / "clean").glob("*.png"))
    assert names == sorted(path.name for path in (tmp_path / "out").glob("*.png"))
    assert len(names) == len(inputs)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "clean", tmp_path / "out", names, shallow=False)
    assert (mismatch, errors) == ([], [])
