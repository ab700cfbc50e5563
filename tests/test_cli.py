"""The CLI end to end, in subprocesses, on trees of good and bad files."""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from conftest import RUN_TIMEOUT, temp_files

GOOD = ["a.jpg", "nested/b.png", "nested/deeper/c.gif", "nested/alpha.png"]
BAD = ["nested/truncated.jpg", "text_named.jpg", "empty.png", "nested/bomb.png"]


def make_tree(root):
    """Write four good images and four bad files under ``root``."""
    for name in GOOD + BAD:
        (root / name).parent.mkdir(parents=True, exist_ok=True)

    gradient = Image.linear_gradient("L").resize((120, 80)).convert("RGB")
    gradient.save(root / "a.jpg", quality=90)
    Image.new("RGB", (60, 40), (200, 30, 30)).save(root / "nested/b.png")
    gradient.convert("P", palette=Image.Palette.ADAPTIVE).save(root / "nested/deeper/c.gif")
    Image.new("RGBA", (30, 20), (0, 0, 255, 128)).save(root / "nested/alpha.png")

    full = (root / "a.jpg").read_bytes()
    (root / "nested/truncated.jpg").write_bytes(full[: len(full) // 2])
    (root / "text_named.jpg").write_text("this is not an image\n")
    (root / "empty.png").write_bytes(b"")
    # A valid PNG header claiming 30000x30000 pixels, over the default limit.
    header = Image.new("L", (1, 1))
    header.save(root / "nested/bomb.png")
    data = bytearray((root / "nested/bomb.png").read_bytes())
    data[16:24] = (30000).to_bytes(4, "big") * 2
    import zlib

    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    (root / "nested/bomb.png").write_bytes(bytes(data))
    (root / "nested/notes.txt").write_text("ignored: not an image extension")


def outputs(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_mixed_tree_reports_each_bad_file(tmp_path, imgq):
    make_tree(tmp_path / "in")

    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out", "-j", "2")

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert outputs(tmp_path / "out") == sorted(GOOD)
    assert len(run.error_lines) == len(BAD)
    for name in BAD:
        matching = [line for line in run.error_lines if str(tmp_path / "in" / name) in line]
        assert len(matching) == 1, (name, run.stderr)
    assert "4 written, 0 skipped, 4 failed" in run.stderr
    assert temp_files(tmp_path / "out") == []


def test_bad_file_reasons_are_specific(tmp_path, imgq):
    make_tree(tmp_path / "in")

    run = imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out")

    reasons = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in run.error_lines}
    by_name = {os.path.basename(path): reason for path, reason in reasons.items()}
    assert by_name["truncated.jpg"].startswith("truncated image")
    assert by_name["text_named.jpg"].startswith("not an image")
    assert by_name["empty.png"] == "empty file (0 bytes)"
    assert "900,000,000 pixels" in by_name["bomb.png"] or "pixels" in by_name["bomb.png"]


def test_outputs_have_rotated_pixels(tmp_path, imgq):
    make_tree(tmp_path / "in")

    imgq("rotate", "90", tmp_path / "in", "-o", tmp_path / "out")

    with Image.open(tmp_path / "out/nested/b.png") as rotated:
        assert rotated.size == (40, 60)
        assert rotated.getpixel((20, 30)) == (200, 30, 30)
    with Image.open(tmp_path / "out/nested/alpha.png") as rotated:
        assert rotated.mode == "RGBA"
        assert rotated.getpixel((0, 0)) == (0, 0, 255, 128)
    with Image.open(tmp_path / "out/a.jpg") as rotated:
        assert rotated.size == (80, 120)
        # The gradient runs dark to light downwards; a clockwise turn puts
        # the dark top on the right.
        assert rotated.getpixel((77, 60))[0] < 20
        assert rotated.getpixel((2, 60))[0] > 235


def test_serial_and_parallel_outputs_identical(tmp_path, imgq):
    make_tree(tmp_path / "in")

    serial = imgq("run", tmp_path / "in", "-o", tmp_path / "j1", "-j", "1", "--op", "rotate=90", "--op", "resize=50%")
    parallel = imgq(
        "run", tmp_path / "in", "-o", tmp_path / "j4", "-j", "4", "--chunk-size", "1",
        "--op", "rotate=90", "--op", "resize=50%",
    )

    assert serial.returncode == parallel.returncode == 1
    assert outputs(tmp_path / "j1") == outputs(tmp_path / "j4") == sorted(GOOD)
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "j1", tmp_path / "j4", GOOD, shallow=False)
    assert mismatch == []
    assert errors == []


def test_good_tree_exits_zero_and_second_run_skips(tmp_path, imgq):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(5):
        Image.new("RGB", (16, 8), (index * 40, 0, 0)).save(source / f"img{index}.png")

    def mtimes():
        return {name: (tmp_path / "out" / name).stat().st_mtime_ns for name in outputs(tmp_path / "out")}

    first = imgq("flip", source, "-o", tmp_path / "out")
    before = mtimes()
    second = imgq("flip", source, "-o", tmp_path / "out")
    after_second = mtimes()
    third = imgq("flip", source, "-o", tmp_path / "out", "--overwrite")

    assert first.returncode == 0, first.stderr
    assert "5 written, 0 skipped, 0 failed" in first.stderr
    assert second.returncode == 0
    assert "0 written, 5 skipped, 0 failed" in second.stderr
    assert before == after_second
    assert "5 written" in third.stderr


def test_convert_chain_sizes_and_format(tmp_path, imgq):
    source = tmp_path / "in"
    source.mkdir()
    Image.new("RGB", (1000, 500), (0, 128, 0)).save(source / "wide.png")

    run = imgq(
        "run", source, "-o", tmp_path / "out", "--op", "rotate=90", "--op", "resize=300x300>", "--format", "webp",
    )

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / "wide.webp") as result:
        assert result.format == "WEBP"
        assert result.size == (150, 300)


def test_convert_command_names_by_format(tmp_path, imgq):
    source = tmp_path / "in"
    source.mkdir()
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(source / "clear.png")

    run = imgq("convert", "jpg", source, "-o", tmp_path / "out")

    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "out" / "clear.jpg") as result:
        assert result.format == "JPEG"
        assert all(channel > 247 for channel in result.getpixel((10, 10)))


def test_dry_run_writes_nothing(tmp_path, imgq):
    make_tree(tmp_path / "in")

    run = imgq("resize", "10x10", tmp_path / "in", "-o", tmp_path / "out", "--dry-run")

    assert run.returncode == 0
    assert not (tmp_path / "out").exists()
    planned = [line for line in run.stdout.splitlines() if " -> " in line]
    assert len(planned) == len(GOOD) + len(BAD)
    assert f"{tmp_path / 'in' / 'a.jpg'} -> {tmp_path / 'out' / 'a.jpg'}" in run.stdout


def test_in_place_replaces_input(tmp_path, imgq):
    source = tmp_path / "photo.png"
    Image.new("RGB", (30, 10), (1, 2, 3)).save(source)

    refused = imgq("rotate", "90", source, "-o", tmp_path, "--overwrite")
    allowed = imgq("rotate", "90", source, "--in-place")

    assert refused.returncode == 1
    assert "would replace an input file" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    with Image.open(source) as result:
        assert result.size == (10, 30)


def test_negative_angle_parses(tmp_path, imgq):
    source = tmp_path / "in.png"
    Image.new("RGB", (30, 10)).save(source)

    run = imgq("rotate", "-90", source, "-o", f"{tmp_path / 'out'}/")

    assert run.returncode == 0, run.stderr
    assert Image.open(tmp_path / "out" / "in.png").size == (10, 30)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["resize", "10y10", "IN", "-o", "OUT"], "invalid geometry '10y10'"),
        (["rotate", "ninety", "IN", "-o", "OUT"], "invalid angle 'ninety'"),
        (["rotate", "90", "IN", "-o", "OUT", "-j", "0"], "0 is not in the range x>=1"),
        (["rotate", "90", "IN"], "missing -o/--output"),
        (["convert", "doc", "IN", "-o", "OUT"], "unknown or unwritable format 'doc'"),
        (["run", "IN", "-o", "OUT", "--op", "spin=3"], "unknown operation 'spin=3'"),
        (["rotate", "90", "IN", "-o", "OUT", "--quality", "101"], "101 is not in the range 1<=x<=100"),
        (["rotate", "90", "IN", "-o", "OUT", "--background", "nocolour"], "invalid colour 'nocolour'"),
        (["rotate", "90", "IN", "-o", "IN/a.png"], "is not a folder"),
    ],
)
def test_usage_errors_exit_2(tmp_path, imgq, args, expected):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "in" / "a.png")
    mapping = {"IN": str(tmp_path / "in"), "OUT": str(tmp_path / "out")}
    resolved = [mapping.get(arg, arg).replace("IN/", str(tmp_path / "in") + "/") for arg in args]

    run = imgq(*resolved)

    assert run.returncode == 2
    assert expected in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "command", ["rotate", "flip", "flop", "auto-orient", "resize", "grayscale", "convert", "run"]
)
def test_every_command_help_has_example(imgq, command):
    run = imgq(command, "--help")

    assert run.returncode == 0
    assert "Example:" in run.stdout
    assert "imgq " + command in run.stdout


def test_top_level_help_lists_exit_codes(imgq):
    run = imgq("--help")

    assert run.returncode == 0
    assert "130" in run.stdout
    assert "interrupted" in run.stdout


def test_killed_worker_does_not_hang_run(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    noise = Image.effect_noise((700, 700), 60).convert("RGB")
    for index in range(40):
        noise.rotate(index).save(source / f"n{index:02d}.png", compress_level=1)

    command = [sys.executable, "-m", "imgq", "run", str(source), "-o", str(tmp_path / "out"),
               "-j", "2", "--chunk-size", "2", "--op", "rotate=33"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    victim = _wait_for_worker(process)
    victim.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)

    written = set(outputs(tmp_path / "out"))
    failed = [line for line in stderr.splitlines() if "worker process died (signal 9)" in line]
    assert len(written) + len(failed) == 40, stderr
    assert process.returncode == (1 if failed else 0)
    assert temp_files(tmp_path / "out") == []


def _wait_for_worker(process) -> psutil.Process:
    """Return the youngest child of ``process`` (a worker) once two workers run."""
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = sorted(parent.children(), key=lambda child: child.create_time())
        if len(children) >= 3:
            return children[-1]
        time.sleep(0.05)
    raise AssertionError("imgq did not start its worker processes")


def test_auto_orient_with_no_auto_orient_rejected(tmp_path, imgq):
    Image.new("RGB", (2, 2)).save(tmp_path / "a.png")

    run = imgq("auto-orient", tmp_path / "a.png", "-o", tmp_path / "out/", "--no-auto-orient")

    assert run.returncode == 2
    assert "contradict" in run.stderr


def test_dry_run_exits_1_when_images_would_fail(tmp_path, imgq):
    for name in ("photo.png", "photo.jpg"):
        Image.new("RGB", (4, 4)).save(tmp_path / name)

    run = imgq("convert", "webp", tmp_path, "-o", tmp_path / "out", "--dry-run")

    assert run.returncode == 1
    assert "2 failing" in run.stderr
    assert not (tmp_path / "out").exists()


def test_empty_input_folder_says_so(tmp_path, imgq):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")

    run = imgq("flip", tmp_path / "empty", "-o", tmp_path / "out", "-q")

    assert run.returncode == 0
    assert run.stderr == ""
    loud = imgq("flip", tmp_path / "empty", "-o", tmp_path / "out")
    assert "no images found" in loud.stderr


def test_output_inside_input_rerun_is_clean(tmp_path, imgq):
    source = tmp_path / "photos"
    source.mkdir()
    for index in range(3):
        Image.new("RGB", (8, 8), (index, 0, 0)).save(source / f"p{index}.png")

    first = imgq("flip", source, "-o", source / "web")
    second = imgq("flip", source, "-o", source / "web")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "0 written, 3 skipped, 0 failed" in second.stderr
    assert not (source / "web" / "web").exists()


def test_in_place_convert_runs_twice(tmp_path, imgq):
    for index in range(3):
        Image.new("RGB", (8, 8), (0, index, 0)).save(tmp_path / f"p{index}.jpg")

    first = imgq("convert", "webp", tmp_path, "--in-place")
    second = imgq("convert", "webp", tmp_path, "--in-place")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "0 written, 3 skipped, 0 failed" in second.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "p0.jpg", "p0.webp", "p1.jpg", "p1.webp", "p2.jpg", "p2.webp",
    ]


def test_other_hosts_temporary_files_kept_until_stale(tmp_path, imgq):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    # A shard on another machine writing into the same folder right now.
    fresh = out / ".imgq-ffffff-2a-0.tmp"
    fresh.write_bytes(b"being written")
    abandoned = out / ".imgq-ffffff-2b-0.tmp"
    abandoned.write_bytes(b"left by a run that died an hour ago")
    hour_ago = time.time() - 3600
    os.utime(abandoned, (hour_ago, hour_ago))

    run = imgq("flip", tmp_path / "a.png", "-o", f"{out}/")

    assert run.returncode == 0, run.stderr
    assert fresh.exists()
    assert not abandoned.exists()


def test_unreadable_folder_fails_the_run(tmp_path):
    # As root, only another user is refused a folder, so the run drops to
    # "nobody" in a folder under /tmp that every user may enter.
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv, so no folder can be made unreadable")
    work = Path(tempfile.mkdtemp(prefix="imgq-unreadable-", dir="/tmp" if as_root else tmp_path))
    try:
        for name in ("ok/a.png", "locked/b.png"):
            (work / "in" / name).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (6, 4), "red").save(work / "in" / name)
        (work / "out").mkdir()
        command = [sys.executable, "-m", "imgq", "rotate", "90", "in", "-o", "out"]
        if as_root:
            for path in [work, *work.rglob("*")]:
                path.chmod(0o777 if path.is_dir() else 0o666)
            (work / "in" / "locked").chmod(0o700)
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        else:
            (work / "in" / "locked").chmod(0)

        run = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=RUN_TIMEOUT)

        assert run.returncode == 1, run.stderr
        assert "imgq: in/locked: cannot read folder: Permission denied" in run.stderr
        with Image.open(work / "out" / "ok" / "a.png") as image:
            assert image.size == (4, 6)
    finally:
        (work / "in" / "locked").chmod(0o700)
        shutil.rmtree(work, ignore_errors=True)


def test_missing_input_fails_alone(tmp_path, imgq):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (6, 4)).save(tmp_path / "in" / "a.png")

    run = imgq("rotate", "90", tmp_path / "gone.png", tmp_path / "in", "-o", tmp_path / "out")

    assert run.returncode == 1
    assert run.error_lines == [f"imgq: {tmp_path / 'gone.png'}: no such file or folder"]
    with Image.open(tmp_path / "out" / "a.png") as image:
        assert image.size == (4, 6)


def test_misspelt_option_stops_before_any_work(tmp_path, imgq):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (6, 4)).save(tmp_path / "in" / "a.png")

    run = imgq("rotate", "90", "--qualty", "5", tmp_path / "in", "-o", tmp_path / "out")

    assert run.returncode == 2
    assert "No such option '--qualty'" in run.stderr
    assert "--quality" in run.stderr
    assert not (tmp_path / "out").exists()


def test_misspelt_command_gets_a_suggestion(imgq):
    run = imgq("rotat", "90", "x")

    assert run.returncode == 2
    assert "Did you mean 'rotate'?" in run.stderr


def test_input_folder_with_doubled_slash_is_not_replaced(tmp_path, imgq):
    (tmp_path / "in").mkdir()
    Image.new("RGB", (6, 4)).save(tmp_path / "in" / "a.png")
    before = (tmp_path / "in" / "a.png").read_bytes()

    run = imgq("rotate", "90", f"{tmp_path / 'in'}//", "-o", tmp_path / "in", "--overwrite")

    assert run.returncode == 1
    assert "would replace an input file" in run.stderr
    assert (tmp_path / "in" / "a.png").read_bytes() == before


def test_files_from_with_output_file_is_usage_error(tmp_path, imgq):
    Image.new("RGB", (6, 4)).save(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text(f"{tmp_path / 'a.png'}\n")

    run = imgq("rotate", "90", "--files-from", tmp_path / "list.txt", "-o", tmp_path / "b.webp")

    assert run.returncode == 2
    assert "--files-from can list several images" in run.stderr
    assert "Traceback" not in run.stderr


def test_resize_help_keeps_geometry_table_aligned(imgq):
    run = imgq("resize", "--help")

    assert "\n  W       width W, aspect ratio kept\n" in run.stdout
