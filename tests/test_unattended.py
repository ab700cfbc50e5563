"""Running from cron and make: locks, incremental runs, reports, input lists, presets, logs."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys

from PIL import Image

from faultkit import assert_accounted, assert_clean, finish, make_tree, parse_report, read_report, start_imgq

MANIFEST = ".imgq.manifest.jsonl"


def snapshot(folder):
    """Return every file under ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_lock_held_exits_at_once(imgq, tmp_path):
    make_tree(tmp_path / "src", 2)
    lock = tmp_path / "imgq.lock"
    with open(lock, "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--lock", lock)

    assert run.returncode == 75
    assert run.stderr.splitlines() == [f"imgq: another imgq run holds the lock {lock}; not starting"]
    assert not (tmp_path / "out").exists()

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--lock", lock)
    assert run.returncode == 0


def test_rerun_of_unchanged_tree_writes_nothing(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src" / "sub", 20)
    first = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "--manifest")
    assert first.returncode == 0
    before = snapshot(tmp_path / "out")
    assert MANIFEST in before

    again = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "-v", "--manifest")

    assert again.returncode == 0
    assert snapshot(tmp_path / "out") == before
    assert again.stderr.count("up to date") == len(inputs)
    assert again.stderr.splitlines()[-1].startswith("imgq: 0 written, 20 skipped, 0 failed")


def test_changed_options_and_inputs_are_redone(imgq, tmp_path):
    make_tree(tmp_path / "src", 4, size=(4, 2))
    assert imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--manifest").returncode == 0

    changed = imgq("rotate", "180", tmp_path / "src", "-o", tmp_path / "out", "--manifest")
    assert changed.returncode == 0
    assert changed.stderr.splitlines()[-1].startswith("imgq: 4 written, 0 skipped")
    with Image.open(tmp_path / "out" / "img0000.png") as image:
        assert image.size == (4, 2)

    Image.new("RGB", (6, 2), (1, 2, 3)).save(tmp_path / "src" / "img0001.png")
    edited = imgq("rotate", "180", tmp_path / "src", "-o", tmp_path / "out", "--manifest")
    assert edited.stderr.splitlines()[-1].startswith("imgq: 1 written, 3 skipped")
    with Image.open(tmp_path / "out" / "img0001.png") as image:
        assert image.size == (6, 2)


def test_without_manifest_existing_outputs_stay(imgq, tmp_path):
    make_tree(tmp_path / "src", 2, size=(4, 2))
    assert imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out").returncode == 0

    again = imgq("rotate", "180", tmp_path / "src", "-o", tmp_path / "out")

    assert again.stderr.splitlines()[-1].startswith("imgq: 0 written, 2 skipped")
    assert not (tmp_path / "out" / MANIFEST).exists()


def test_update_compares_modification_times(imgq, tmp_path):
    make_tree(tmp_path / "src", 2)
    (tmp_path / "out").mkdir()
    Image.new("RGB", (1, 1)).save(tmp_path / "out" / "img0000.png")
    Image.new("RGB", (1, 1)).save(tmp_path / "out" / "img0001.png")
    os.utime(tmp_path / "out" / "img0000.png", (1, 1))

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--update", "-v")

    assert run.returncode == 0
    assert "img0001.png: output is newer than input (--update)" in run.stderr
    with Image.open(tmp_path / "out" / "img0000.png") as image:
        assert image.size == (8, 8)
    with Image.open(tmp_path / "out" / "img0001.png") as image:
        assert image.size == (1, 1)


def test_report_lists_every_image(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src", 3, size=(6, 4))
    (tmp_path / "src" / "broken.png").write_bytes(b"not a png")
    inputs.append(tmp_path / "src" / "broken.png")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--report", "-", "-j", "2")

    assert run.returncode == 1
    images, summary = parse_report(run.stdout)
    assert_accounted(images, summary, inputs)
    by_name = {os.path.basename(item["input"]): item for item in images}
    good = by_name["img0001.png"]
    assert good["outcome"] == "written"
    assert (good["width"], good["height"]) == (4, 6)
    assert good["bytes_out"] == (tmp_path / "out" / "img0001.png").stat().st_size
    assert good["bytes_in"] == inputs[1].stat().st_size
    assert good["milliseconds"] >= 0
    assert by_name["broken.png"]["outcome"] == "failed"
    assert by_name["broken.png"]["reason"]
    assert summary["exit_code"] == 1


def test_files_from_stdin_null_separated(tmp_path):
    make_tree(tmp_path / "photos" / "2024", 2)
    odd = tmp_path / "photos" / "new\nline.png"
    Image.new("RGB", (2, 2), (9, 9, 9)).save(odd, format="PNG")
    listing = subprocess.run(["find", "photos", "-name", "*.png", "-print0"], cwd=tmp_path, capture_output=True).stdout

    run = subprocess.run(
        [sys.executable, "-m", "imgq", "grayscale", "--files-from", "-", "-0", "-o", "out"],
        input=listing, cwd=tmp_path, capture_output=True, timeout=120,
    )

    assert run.returncode == 0, run.stderr
    found = sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.png"))
    assert found == ["photos/2024/img0000.png", "photos/2024/img0001.png", "photos/new\nline.png"]


def test_files_from_file_one_a_line(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src", 3)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{inputs[0]}\n{inputs[2]}\n")

    run = imgq("grayscale", "--files-from", listing, "-o", tmp_path / "out")

    assert run.returncode == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if path.suffix == ".png") == [
        "img0000.png", "img0002.png",
    ]


def test_preset_with_command_line_override(imgq, tmp_path):
    make_tree(tmp_path / "src", 1, size=(4, 2))
    (tmp_path / "imgq.toml").write_text('[preset.web]\nop = ["rotate=90"]\nformat = "webp"\nquality = 80\n')

    run = imgq("run", "--preset", "web", "src", "-o", "web", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "web" / "img0000.webp") as image:
        assert image.size == (2, 4)

    run = imgq("run", "--preset", "web", "src", "-o", "png", "--format", "png", cwd=tmp_path)
    assert run.returncode == 0
    with Image.open(tmp_path / "png" / "img0000.png") as image:
        assert image.size == (2, 4)


def test_preset_flags_apply(imgq, tmp_path):
    make_tree(tmp_path / "src", 2, size=(4, 2))
    (tmp_path / "imgq.toml").write_text(
        '[preset.t]\nop = ["rotate=90"]\nmanifest = true\nquiet = true\nno-auto-orient = false\n'
        '[preset.bad]\nquiet = "yes"\n'
    )

    run = imgq("run", "--preset", "t", "src", "-o", "out", cwd=tmp_path)
    bad = imgq("run", "--preset", "bad", "src", "-o", "out2", cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert (tmp_path / "out" / ".imgq.manifest.jsonl").exists()
    assert bad.returncode == 2
    assert "expected true or false" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_preset_errors_are_usage_errors(imgq, tmp_path):
    make_tree(tmp_path / "src", 1)
    config = tmp_path / "presets.toml"
    config.write_text('[preset.bad]\ncolour = "red"\n')

    unknown_key = imgq("run", "--preset", "bad", "--config", config, tmp_path / "src", "-o", tmp_path / "out")
    missing = imgq("run", "--preset", "nope", "--config", config, tmp_path / "src", "-o", tmp_path / "out")

    assert unknown_key.returncode == 2
    assert "unknown option 'colour' in preset 'bad'" in unknown_key.stderr
    assert missing.returncode == 2
    assert "no preset 'nope'" in missing.stderr


def test_log_without_terminal_has_no_bar(imgq, tmp_path):
    make_tree(tmp_path / "src", 5)
    (tmp_path / "src" / "bad.png").write_bytes(b"")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2")
    quiet = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "quiet", "--quiet")

    assert "\r" not in run.stderr
    lines = run.stderr.splitlines()
    assert lines == [f"imgq: {tmp_path}/src/bad.png: empty file (0 bytes)", lines[-1]]
    assert lines[-1].startswith("imgq: 5 written, 0 skipped, 1 failed")
    assert quiet.returncode == 1
    assert quiet.error_lines == [f"imgq: {tmp_path}/src/bad.png: empty file (0 bytes)"]


def test_progress_lines_are_timestamped(imgq, tmp_path):
    make_tree(tmp_path / "src", 20)
    env = dict(os.environ, IMGQ_PROGRESS_INTERVAL="0.2", IMGQ_TEST_DELAY="0.05")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "--chunk-size", "2", env=env)

    assert run.returncode == 0
    lines = run.stderr.splitlines()
    progress = [re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d imgq: (\d+)/20 images, 0 failed", line) for line in lines[:-1]]
    assert progress and all(progress)
    counts = [int(match[1]) for match in progress]
    assert counts == sorted(set(counts))
    assert lines[-1].startswith("imgq: 20 written")


def test_quiet_success_prints_nothing(imgq, tmp_path):
    make_tree(tmp_path / "src", 2)

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--quiet")

    assert run.returncode == 0
    assert run.stderr == ""


def test_help_lists_exit_codes(imgq):
    run = imgq("--help")

    for code in ("0 ", "1 ", "2 ", "3 ", "75 ", "130 ", "143 "):
        assert f"  {code}" in run.stdout


def test_memory_limit_fails_only_too_large_images(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src", 4, size=(300, 300))
    Image.new("RGB", (800, 800), (1, 1, 1)).save(tmp_path / "src" / "huge.png")
    inputs.append(tmp_path / "src" / "huge.png")

    # Each 300x300 image needs about 0.7 MiB decoded, so the two workers take
    # turns within 1 MiB; the 800x800 one needs about 4.9 MiB.
    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "--chunk-size", "1",
               "--max-memory", "1M", "--report", tmp_path / "r.jsonl")

    assert run.returncode == 1
    assert len(run.error_lines) == 1
    assert "huge.png: 800x800 needs about 4.9 MiB to decode, more than the memory limit of 1.0 MiB" in run.error_lines[0]
    images, summary = read_report(tmp_path / "r.jsonl")
    assert_accounted(images, summary, inputs)
    assert summary["written"] == 4
    assert_clean(tmp_path)


def test_parallel_shards_share_manifest(tmp_path):
    make_tree(tmp_path / "src", 40, size=(8, 8))
    processes = [
        start_imgq("flip", tmp_path / "src", "-o", tmp_path / "out", "--shard", f"{index}/4", "--manifest", "-q")
        for index in range(4)
    ]
    for process in processes:
        returncode, _, stderr = finish(process)
        assert returncode == 0, stderr

    lines = (tmp_path / "out" / MANIFEST).read_text().splitlines()

    assert len(lines) == 40
    assert len(list((tmp_path / "out").glob("*.png"))) == 40
