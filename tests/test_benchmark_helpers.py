"""The benchmark's helpers with exact expected values: the corpus and the size fitting.

No timing is asserted here; the benchmark itself is ``make bench``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from corpus import ORIENTATION_TAG, CorpusSpec, generate  # noqa: E402
from pillow_jobs import fit_size  # noqa: E402

# A corpus of tiny images: the generator's logic without its cost.
SPEC = CorpusSpec(large_jpegs=3, small_jpegs=3, pngs=2, tiny_jpegs=5, seed=7, scale=0.02)


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "COMPLETE"
    }


def test_corpus_is_deterministic(tmp_path):
    generate(str(tmp_path / "a"), SPEC)
    generate(str(tmp_path / "b"), SPEC)

    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(first) == 3 + 3 + 2 + 5
    assert first == second


def test_corpus_sizes_and_orientations(tmp_path):
    corpus = generate(str(tmp_path), SPEC)

    assert len(corpus.jpegs) == 6
    assert len(corpus.pngs) == 2
    assert len(corpus.tiny) == 5
    for info in corpus.jpegs + corpus.pngs + corpus.tiny:
        with Image.open(info.path) as image:
            assert image.size == info.size, info.path
            assert image.getexif().get(ORIENTATION_TAG, 1) == info.orientation, info.path
    assert [info.orientation for info in corpus.jpegs] == [1, 1, 6, 1, 1, 8]
    assert corpus.jpegs[0].size == (80, 60)
    assert corpus.jpegs[1].size == (60, 80)


def test_corpus_pngs_with_and_without_alpha(tmp_path):
    corpus = generate(str(tmp_path), SPEC)

    modes = []
    for info in corpus.pngs:
        with Image.open(info.path) as image:
            modes.append(image.mode)
    assert modes == ["RGB", "RGBA"]


def test_corpus_reused_when_complete(tmp_path):
    generate(str(tmp_path), SPEC)
    marker = tmp_path / "jpeg" / "photo-000.jpg"
    stamp = marker.stat().st_mtime_ns

    generate(str(tmp_path), SPEC)

    assert marker.stat().st_mtime_ns == stamp


def test_fit_size_table():
    cases = {
        ((4000, 3000), (1600, 1600)): (1600, 1200),
        ((3000, 4000), (1600, 1600)): (1200, 1600),
        ((1632, 1224), (1600, 1600)): (1600, 1200),
        ((100, 100), (1600, 1600)): (1600, 1600),
    }
    for (size, box), expected in cases.items():
        assert fit_size(size, box) == expected, (size, box)


def test_tiny_images_in_folders_of_100(tmp_path):
    spec = CorpusSpec(large_jpegs=0, small_jpegs=0, pngs=0, tiny_jpegs=101, seed=1)
    corpus = generate(str(tmp_path), spec)

    folders = sorted(os.listdir(corpus.tiny_dir))
    assert folders == ["000", "001"]
    assert len(os.listdir(os.path.join(corpus.tiny_dir, "001"))) == 1


def test_corpus_regenerated_without_stale_files(tmp_path):
    generate(str(tmp_path), SPEC)
    smaller = CorpusSpec(large_jpegs=1, small_jpegs=0, pngs=0, tiny_jpegs=0, seed=7, scale=0.02)

    corpus = generate(str(tmp_path), smaller)

    assert os.listdir(corpus.jpeg_dir) == ["photo-000.jpg"]
    assert os.listdir(corpus.png_dir) == []
    assert os.listdir(corpus.tiny_dir) == []
