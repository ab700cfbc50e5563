"""File-system faults on the real CLI: full disks, unwritable outputs, odd names, links, few descriptors."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest
from PIL import Image

from faultkit import assert_accounted, assert_clean, make_tree, parse_report, read_report


def run_limited(args, limits: dict, cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m imgq ARGS`` with resource limits set in the child."""

    def apply_limits():
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))

    return subprocess.run(
        [sys.executable, "-m", "imgq", *map(str, args)],
        preexec_fn=apply_limits,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=300,
        cwd=cwd,
    )


def noise(path, size=64):
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(path)


def test_disk_full_mid_write_fails_per_file(tmp_path):
    small = make_tree(tmp_path / "src", 3)
    for name in ("big0.png", "big1.png"):
        noise(tmp_path / "src" / name)
    inputs = sorted((tmp_path / "src").iterdir())

    # Files may grow to 4 KiB: the 8x8 outputs fit, the 12 KiB noise does not.
    run = run_limited(["rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-j", "2", "--report", "-"],
                      {resource.RLIMIT_FSIZE: 4096})

    assert run.returncode == 1
    failures = [line for line in run.stderr.splitlines() if "File too large" in line]
    assert len(failures) == 2
    assert all(line.startswith("imgq: ") and "cannot write" in line for line in failures)
    images, summary = parse_report(run.stdout)
    assert_accounted(images, summary, inputs)
    assert (summary["written"], summary["failed"]) == (3, 2)
    assert sorted(path.name for path in (tmp_path / "out").glob("*.png")) == [path.name for path in small]
    assert_clean(tmp_path)


def test_unwritable_output_root_is_fatal(tmp_path):
    make_tree(tmp_path / "src", 2)

    run = run_limited(["rotate", "90", tmp_path / "src", "-o", tmp_path / "out"], {resource.RLIMIT_FSIZE: 0})

    assert run.returncode == 3
    assert run.stderr.splitlines() == [f"imgq: fatal: cannot write into output folder {tmp_path / 'out'}: File too large"]
    assert list((tmp_path / "out").iterdir()) == []


def test_output_root_under_a_file_is_fatal(imgq, tmp_path):
    make_tree(tmp_path / "src", 2)
    (tmp_path / "file").write_text("x")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "file" / "out")

    assert run.returncode == 3
    assert len(run.stderr.splitlines()) == 1
    assert "cannot create output folder" in run.stderr


def test_read_only_output_folder_is_fatal(imgq, tmp_path):
    make_tree(tmp_path / "src", 2)
    if os.geteuid() == 0:
        # Root may write into any folder with mode 500, but not into sysfs,
        # which refuses to create files even for root.
        if not os.path.isdir("/sys/kernel"):
            pytest.skip("running as root without /sys/kernel, so no folder refuses writes")
        output = "/sys/kernel"
    else:
        output = tmp_path / "out"
        output.mkdir(mode=0o500)

    run = imgq("rotate", "90", tmp_path / "src", "-o", output)

    assert run.returncode == 3
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Permission denied" in run.stderr
    assert "cannot write into output folder" in run.stderr


def test_odd_names_keep_their_bytes(imgq, tmp_path):
    source = os.fsencode(tmp_path / "src")
    os.mkdir(source)
    names = [b"with space.png", b"new\nline.png", b"-dash.png", "caf\u00e9 \u6f22\u5b57.png".encode(), b"latin1-\xe9\xff.png"]
    for number, name in enumerate(names):
        Image.new("RGB", (4, 2), (number * 40, 0, 0)).save(os.path.join(source, name), format="PNG")
    with open(os.path.join(source, b"bad\nname\xff.png"), "wb") as stream:
        stream.write(b"not an image")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "--report", tmp_path / "r.jsonl")

    assert run.returncode == 1
    assert run.error_lines == [f"imgq: {tmp_path}/src/bad\\nname\\xff.png: not an image, or a format Pillow cannot read"]
    out = os.fsencode(tmp_path / "out")
    assert sorted(name for name in os.listdir(out) if name.endswith(b".png")) == sorted(names)
    for number, name in enumerate(names):
        with Image.open(os.path.join(out, name)) as image:
            assert image.size == (2, 4)
            assert image.convert("RGB").getpixel((0, 0)) == (number * 40, 0, 0)
    images, summary = read_report(tmp_path / "r.jsonl")
    assert sorted(os.fsencode(item["input"]) for item in images) == sorted(
        os.path.join(source, name) for name in names + [b"bad\nname\xff.png"]
    )
    assert_clean(tmp_path)


def test_symlink_loop_does_not_hang(imgq, tmp_path):
    inputs = make_tree(tmp_path / "src" / "a", 2)
    os.symlink("..", tmp_path / "src" / "a" / "up")
    os.symlink("self.png", tmp_path / "src" / "self.png")

    for extra in ([], ["--follow-links"]):
        out = tmp_path / f"out{len(extra)}"
        run = imgq("rotate", "90", tmp_path / "src", "-o", out, *extra, "-v")

        assert run.returncode == 1
        assert sorted(path.name for path in out.rglob("*.png")) == [path.name for path in inputs]
        assert len(run.error_lines) == 1
        assert "self.png" in run.error_lines[0]


def test_links_out_of_root_need_follow_links(imgq, tmp_path):
    make_tree(tmp_path / "src", 1)
    make_tree(tmp_path / "elsewhere", 1, prefix="outside")
    os.symlink(tmp_path / "elsewhere" / "outside0000.png", tmp_path / "src" / "linked.png")
    os.symlink(tmp_path / "elsewhere", tmp_path / "src" / "folder")

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "out", "-v")
    assert run.returncode == 0
    assert sorted(path.name for path in (tmp_path / "out").rglob("*.png")) == ["img0000.png"]
    assert "link to a file outside the input folder" in run.stderr

    run = imgq("rotate", "90", tmp_path / "src", "-o", tmp_path / "followed", "--follow-links")
    assert run.returncode == 0
    found = sorted(str(path.relative_to(tmp_path / "followed")) for path in (tmp_path / "followed").rglob("*.png"))
    assert found == ["folder/outside0000.png", "img0000.png", "linked.png"]


def test_five_thousand_images_with_256_descriptors(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    data = (tmp_path / "seed.png")
    Image.new("L", (8, 8), 99).save(data)
    payload = data.read_bytes()
    for number in range(5000):
        (source / f"{number // 500:02d}").mkdir(exist_ok=True)
        (source / f"{number // 500:02d}" / f"i{number:04d}.png").write_bytes(payload)

    run = run_limited(["grayscale", source, "-o", tmp_path / "out", "-j", "2", "--report", tmp_path / "r.jsonl"],
                      {resource.RLIMIT_NOFILE: 256})

    assert run.returncode == 0, run.stderr[-2000:]
    images, summary = read_report(tmp_path / "r.jsonl")
    assert summary["written"] == 5000
    assert len(list((tmp_path / "out").rglob("*.png"))) == 5000
    assert_clean(tmp_path)
