"""Units behind the fault handling: control messages, sizes, names, manifest lines, input lists."""

from __future__ import annotations

import os
import pickle

import pytest

from imgq.collect import FailJobs, Notice, Unfinished, WorkerLost
from imgq.inputs import listed, read_list
from imgq.manifest import MANIFEST_NAME, load
from imgq.memory import parse_size
from imgq.report import display_path


@pytest.mark.parametrize(
    "message",
    [
        WorkerLost(3, (1, 2, 5)),
        Unfinished(3, (2, 5)),
        FailJobs(((5, "a.png", "out/a.png", "worker process died (signal 9)"),)),
        Notice("imgq: warning: a worker ended (signal 9)"),
    ],
)
def test_control_messages_pickle(message):
    assert pickle.loads(pickle.dumps(message)) == message


@pytest.mark.parametrize("text, expected", [("512", 512), ("1K", 1024), ("2M", 2 * 2**20), ("1.5G", 3 * 2**29), ("64MiB", 64 * 2**20)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "M", "-1M", "0", "ten"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_display_path_escapes_one_line():
    name = os.fsdecode(b"a\xff b\nc-\xc3\xa9.png")

    assert display_path(name) == "a\\xff b\\nc-\u00e9.png"


def test_manifest_ignores_torn_line(tmp_path):
    good = '{"output": "a.png", "size": 1, "mtime_ns": 2, "digest": "d"}\n'
    (tmp_path / MANIFEST_NAME).write_text(good + '{"output": "b.png", "si')

    entries = load(str(tmp_path))

    assert list(entries) == ["a.png"]
    assert entries["a.png"].digest == "d"


def test_read_list_keeps_undecodable_bytes(tmp_path):
    listing = tmp_path / "list"
    listing.write_bytes(b"a b.png\0new\nline.png\0\xff.png\0")

    paths = read_list(str(listing), null_separated=True)

    assert [os.fsencode(path) for path in paths] == [b"a b.png", b"new\nline.png", b"\xff.png"]


def test_listed_roots_keep_relative_folders():
    found = list(listed(["photos/2024/a.jpg", "/abs/b.jpg", "../up/c.jpg"]))

    assert [item.root for item in found] == [".", "/abs", "../up"]
