"""The Dask executor against a real LocalCluster on 127.0.0.1, and deterministic shards."""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from conftest import run_imgq, temp_files
from imgq.discover import discover
from imgq.plan import Placement, in_shard, make_plan


@pytest.fixture(scope="module")
def cluster():
    """Start a LocalCluster with 2 worker processes; skip where Dask is not installed."""
    distributed = pytest.importorskip("distributed", reason="Dask is not installed: pip install 'imgq[dask]'")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as local_cluster, distributed.Client(local_cluster) as client:
        yield local_cluster, client


def make_images(folder, count, size=(120, 80)):
    folder.mkdir(parents=True)
    for index in range(count):
        image = Image.new("RGB", size, (index * 7 % 256, 100, 200 - index % 200))
        image.putpixel((0, 0), (255, 255, 255))
        sub = folder / f"part{index % 3}"
        sub.mkdir(exist_ok=True)
        image.save(sub / f"img{index:03d}.png")
    return folder


def same_trees(left, right) -> bool:
    names = sorted(str(path.relative_to(left)) for path in left.rglob("*") if path.is_file())
    others = sorted(str(path.relative_to(right)) for path in right.rglob("*") if path.is_file())
    if names != others:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    return not mismatch and not errors


@pytest.mark.parametrize("write_on", ["client", "workers"])
def test_dask_outputs_match_local_engine(tmp_path, cluster, write_on):
    local_cluster, _ = cluster
    source = make_images(tmp_path / "in", 30)

    local = run_imgq("rotate", "90", source, "-o", tmp_path / "local", "-j", "2")
    remote = run_imgq(
        "rotate", "90", source, "-o", tmp_path / "dask", "--chunk-size", "4",
        "--scheduler", local_cluster.scheduler_address, "--write-on", write_on,
    )

    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert "30 written, 0 skipped, 0 failed" in remote.stderr
    assert same_trees(tmp_path / "local", tmp_path / "dask")
    assert temp_files(tmp_path / "dask") == []


def test_dask_reports_bad_files_like_local(tmp_path, cluster):
    local_cluster, _ = cluster
    source = make_images(tmp_path / "in", 4)
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    run = run_imgq("flip", source, "-o", tmp_path / "out", "--scheduler", local_cluster.scheduler_address)

    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "broken.png" in run.error_lines[0]
    assert "4 written, 0 skipped, 1 failed" in run.stderr


def test_scheduler_from_environment(tmp_path, cluster):
    local_cluster, _ = cluster
    source = make_images(tmp_path / "in", 3)
    environment = dict(os.environ, IMGQ_SCHEDULER=local_cluster.scheduler_address)

    run = run_imgq("flop", source, "-o", tmp_path / "out", env=environment)

    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "out").rglob("*.png"))) == 3


def test_dask_worker_killed_mid_run(tmp_path, cluster):
    local_cluster, client = cluster
    source = tmp_path / "in"
    source.mkdir()
    noise = Image.effect_noise((500, 500), 50).convert("RGB")
    for index in range(24):
        noise.rotate(index).save(source / f"n{index:02d}.png", compress_level=1)

    command = [sys.executable, "-m", "imgq", "run", str(source), "-o", str(tmp_path / "out"),
               "--chunk-size", "1", "--op", "rotate=31", "--scheduler", local_cluster.scheduler_address]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    _wait_for_outputs(tmp_path / "out", 2)
    victim = sorted(client.run(os.getpid).values())[0]
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=180)

    assert process.returncode == 0, stderr
    assert "24 written, 0 skipped, 0 failed" in stderr
    local = run_imgq("run", source, "-o", tmp_path / "local", "--op", "rotate=31")
    assert local.returncode == 0, local.stderr
    assert same_trees(tmp_path / "local", tmp_path / "out")
    assert temp_files(tmp_path / "out") == []


def _wait_for_outputs(folder, count):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if folder.exists() and len([path for path in folder.iterdir() if path.suffix == ".png"]) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} outputs in {folder} after 60 s")


def test_unreachable_scheduler_exits_69(tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed: pip install 'imgq[dask]'")
    source = make_images(tmp_path / "in", 2)

    started = time.monotonic()
    run = run_imgq("flip", source, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")

    assert time.monotonic() - started < 60  # a hang guard: the connect timeout is 10 s
    assert run.returncode == 69
    lines = [line for line in run.stderr.splitlines() if "Dask scheduler" in line]
    assert len(lines) == 1
    assert "tcp://127.0.0.1:9" in lines[0]
    assert "Traceback" not in run.stderr


def test_missing_extra_named_in_one_line(tmp_path):
    # A package named "distributed" that fails to import stands in for a
    # machine without the extra.
    stub = tmp_path / "stub" / "distributed"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('distributed is not installed')\n")
    source = make_images(tmp_path / "in", 1)
    environment = dict(os.environ, PYTHONPATH=str(tmp_path / "stub"))

    run = run_imgq("flip", source, "-o", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", env=environment)

    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "imgq: --scheduler needs the Dask extra, which is not installed: pip install 'imgq[dask]'"
    ]


# ---------------------------------------------------------------- shards


@pytest.mark.parametrize("count", [1, 3, 7])
def test_shards_partition_the_plan(tmp_path, count):
    source = make_images(tmp_path / "in", 40, size=(2, 2))
    whole = {job.source for job in make_plan(discover([str(source)]), Placement(str(tmp_path / "out"))).jobs}

    shards = []
    for index in range(count):
        placement = Placement(str(tmp_path / "out"), shard=(index, count))
        shards.append({job.source for job in make_plan(discover([str(source)]), placement).jobs})

    assert set().union(*shards) == whole
    assert sum(len(shard) for shard in shards) == len(whole)
    if count > 1:
        assert all(shard for shard in shards)


def test_shard_of_a_path_is_fixed():
    # Fixed values: a shard must not depend on the machine, the run or PYTHONHASHSEED.
    assert [in_shard("photos/2024/a.jpg", (index, 7)) for index in range(7)].count(True) == 1
    assert in_shard("photos/2024/a.jpg", (1, 7))
    assert in_shard("photos/2024/a.jpg", (2, 3))
    assert in_shard("b.png", (1, 3))
    assert in_shard("deep/é/c.gif", (1, 3))


def test_cli_shards_disjoint_and_complete(tmp_path):
    source = make_images(tmp_path / "in", 20, size=(4, 4))

    outputs = []
    for index in range(3):
        out = tmp_path / f"shard{index}"
        run = run_imgq("flip", source, "-o", out, "--shard", f"{index}/3")
        assert run.returncode == 0, run.stderr
        outputs.append({str(path.relative_to(out)) for path in out.rglob("*.png")})

    assert set().union(*outputs) == {str(path.relative_to(source)) for path in source.rglob("*.png")}
    assert sum(len(names) for names in outputs) == 20


@pytest.mark.parametrize("value", ["3/3", "1", "a/b", "-1/2", "0/0"])
def test_invalid_shard_rejected(tmp_path, value):
    source = make_images(tmp_path / "in", 1)

    run = run_imgq("flip", source, "-o", tmp_path / "out", "--shard", value)

    assert run.returncode == 2
    assert "invalid shard" in run.stderr


@pytest.mark.parametrize("write_on", ["client", "workers"])
def test_dask_relative_paths_resolve_here(tmp_path, cluster, write_on):
    local_cluster, _ = cluster
    make_images(tmp_path / "in", 3)

    run = run_imgq(
        "flip", "in", "-o", "out", "--scheduler", local_cluster.scheduler_address, "--write-on", write_on,
        cwd=tmp_path,
    )

    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "out").rglob("*.png"))) == 3


def test_malformed_scheduler_address_is_usage_error(tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed: pip install 'imgq[dask]'")
    source = make_images(tmp_path / "in", 1)

    run = run_imgq("flip", source, "-o", tmp_path / "out", "--scheduler", "foo:bar")

    assert run.returncode == 2
    assert "invalid address 'foo:bar'" in run.stderr
    assert "Traceback" not in run.stderr


def test_dask_workers_rewrite_deleted_output_folder(tmp_path):
    # Dask worker processes outlive a run, so nothing they learnt about the
    # output folder may hold for the next one. One worker runs both runs.
    distributed = pytest.importorskip("distributed", reason="Dask is not installed: pip install 'imgq[dask]'")
    source = make_images(tmp_path / "in", 6)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as local_cluster:
        command = [
            "rotate", "90", source, "-o", tmp_path / "out",
            "--scheduler", local_cluster.scheduler_address, "--write-on", "workers",
        ]
        first = run_imgq(*command)
        shutil.rmtree(tmp_path / "out")
        second = run_imgq(*command)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(list((tmp_path / "out").rglob("*.png"))) == 6
