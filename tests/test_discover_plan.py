"""Discovery (recursion, filtering, order) and planning (tree, collisions, skips)."""

from __future__ import annotations

import os
import pickle

from PIL import Image

from imgq.collect import IndexSet, WorkerLost
from imgq.discover import discover
from imgq.dispatch import MAX_AUTO_CHUNK, auto_chunk_size
from imgq.pipeline import Pipeline, parse_operation
from imgq.plan import Placement, make_plan
from imgq.report import ImageResult, Outcome, Report


def touch_image(path, colour=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), colour).save(path)


def test_discover_recurses_in_sorted_order(tmp_path):
    for name in ["b/z.png", "b/a.png", "a/c/d.jpg", "top.gif", "a/b.png"]:
        touch_image(tmp_path / name)

    found = [item.path for item in discover([str(tmp_path)]) if not item.skip_reason]

    relative = [os.path.relpath(path, tmp_path) for path in found]
    assert relative == ["top.gif", "a/b.png", "a/c/d.jpg", "b/a.png", "b/z.png"]


def test_discover_filters_by_extension_and_keeps_named_files(tmp_path):
    touch_image(tmp_path / "photo.PNG")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "README").write_text("no extension")
    (tmp_path / ".imgq-1a2b-3.tmp").write_bytes(b"left over")
    named = tmp_path / "named.dat"
    named.write_text("named on the command line")

    found = {os.path.basename(item.path): item.skip_reason for item in discover([str(tmp_path), str(named)])}

    assert found["photo.PNG"] == ""
    assert found["notes.txt"] == "not an image extension"
    assert found["README"] == "not an image extension"
    assert found[".imgq-1a2b-3.tmp"] == "temporary file of an imgq run"
    assert found["named.dat"] == ""


def test_discover_does_not_follow_directory_links(tmp_path):
    touch_image(tmp_path / "root" / "a.png")
    os.symlink(tmp_path / "root", tmp_path / "root" / "loop")

    found = list(discover([str(tmp_path / "root")]))

    assert [os.path.basename(item.path) for item in found if not item.skip_reason] == ["a.png"]
    assert [item.skip_reason for item in found if item.skip_reason] == [
        "link to a folder, not followed (use --follow-links)"
    ]


def plan_for(tmp_path, inputs, **placement):
    placement.setdefault("output_root", str(tmp_path / "out"))
    return make_plan(discover([str(path) for path in inputs]), Placement(**placement))


def test_plan_mirrors_tree_and_renames_for_format(tmp_path):
    touch_image(tmp_path / "in" / "2024" / "a.png")
    touch_image(tmp_path / "in" / "b.png")

    plan = plan_for(tmp_path, [tmp_path / "in"], output_format="WEBP")

    outputs = sorted(os.path.relpath(job.output, tmp_path / "out") for job in plan.jobs)
    assert outputs == ["2024/a.webp", "b.webp"]
    assert {job.output_format for job in plan.jobs} == {"WEBP"}


def test_plan_keeps_input_extension_spelling(tmp_path):
    source = tmp_path / "in" / "IMG.JPG"
    source.parent.mkdir()
    Image.new("RGB", (4, 4)).save(source, "JPEG")

    plan = plan_for(tmp_path, [tmp_path / "in"], output_format="JPEG")

    assert os.path.basename(plan.jobs[0].output) == "IMG.JPG"


def test_plan_rejects_collisions_case_insensitively(tmp_path):
    for name in ["photo.png", "photo.jpg", "Photo.gif", "other.png"]:
        touch_image(tmp_path / "in" / name)

    plan = plan_for(tmp_path, [tmp_path / "in"], output_format="WEBP")

    assert [os.path.basename(job.source) for job in plan.jobs] == ["other.png"]
    failed = dict(plan.failed)
    assert len(failed) == 3
    for reason in failed.values():
        assert "output name collision" in reason
        assert "photo.png" in reason
        assert "photo.jpg" in reason
        assert "Photo.gif" in reason


def test_plan_skips_existing_output_unless_overwrite(tmp_path):
    touch_image(tmp_path / "in" / "a.png")
    touch_image(tmp_path / "out" / "a.png")

    skipping = plan_for(tmp_path, [tmp_path / "in"])
    overwriting = plan_for(tmp_path, [tmp_path / "in"], overwrite=True)

    assert len(skipping.jobs) == 0
    assert "output exists" in skipping.skipped[0][1]
    assert len(overwriting.jobs) == 1


def test_plan_never_replaces_input_without_in_place(tmp_path):
    touch_image(tmp_path / "in" / "a.png")

    same_folder = plan_for(tmp_path, [tmp_path / "in"], output_root=str(tmp_path / "in"), overwrite=True)
    in_place = plan_for(tmp_path, [tmp_path / "in"], output_root=None, in_place=True)

    assert len(same_folder.jobs) == 0
    assert "would replace an input file" in same_folder.failed[0][1]
    assert [job.output for job in in_place.jobs] == [str(tmp_path / "in" / "a.png")]


def test_plan_deduplicates_sources_named_twice(tmp_path):
    touch_image(tmp_path / "in" / "a.png")

    plan = plan_for(tmp_path, [tmp_path / "in", tmp_path / "in" / "a.png"])

    assert len(plan.jobs) == 1
    assert plan.planned == 1


def test_plan_temp_files_sit_in_output_folder(tmp_path):
    touch_image(tmp_path / "in" / "deep" / "a.png")

    job = plan_for(tmp_path, [tmp_path / "in"]).jobs[0]

    assert os.path.dirname(job.temp) == os.path.dirname(job.output)
    assert os.path.basename(job.temp).startswith(".imgq-")


def test_everything_sent_between_processes_pickles(tmp_path):
    touch_image(tmp_path / "in" / "a.png")
    job = plan_for(tmp_path, [tmp_path / "in"]).jobs[0]
    pipeline = Pipeline(
        operations=(parse_operation("rotate=90"), parse_operation("resize=800x600>"), parse_operation("flip")),
        output_format="WEBP",
        quality=80,
    )
    result = ImageResult(0, "a.png", "out/a.png", Outcome.FAILED, "truncated image", notes=("n",))
    report = Report(planned=3, written=1, failures=[("a.png", "bad")])
    lost = WorkerLost(((0, "a.png", "out/a.png"),), "worker process died (signal 9)")

    for value in (job, pipeline, result, report, lost):
        assert pickle.loads(pickle.dumps(value)) == value

    restored = pickle.loads(pickle.dumps(pipeline))
    image = Image.new("RGB", (1000, 500))
    assert restored.transform(image).size == pipeline.transform(image).size == (300, 600)


def test_discover_passes_over_hidden_and_output(tmp_path):
    touch_image(tmp_path / "in" / "a.png")
    touch_image(tmp_path / "in" / ".b.png")
    touch_image(tmp_path / "in" / ".cache" / "c.png")
    touch_image(tmp_path / "in" / "web" / "a.png")

    found = {
        os.path.relpath(item.path, tmp_path / "in"): item.skip_reason
        for item in discover([str(tmp_path / "in")], exclude=str(tmp_path / "in" / "web"))
    }

    assert found["a.png"] == ""
    assert found[".b.png"].startswith("hidden file")
    assert found[".cache"].startswith("hidden folder")
    assert found["web"] == "the output folder"
    assert "web/a.png" not in found
    assert ".cache/c.png" not in found


def test_in_place_rerun_skips_earlier_outputs(tmp_path):
    touch_image(tmp_path / "a.jpg")
    touch_image(tmp_path / "a.webp")

    plan = make_plan(discover([str(tmp_path)]), Placement(in_place=True, output_format="WEBP"))

    assert plan.jobs == []
    assert plan.failed == []
    assert [source for source, _ in plan.skipped] == [str(tmp_path / "a.jpg")]
    assert [item.skip_reason for item in plan.ignored] == [f"the in-place output of {tmp_path / 'a.jpg'}"]


def _jobs_of_size(folder, count: int, size: int) -> list:
    folder.mkdir()
    for number in range(count):
        (folder / f"{number:03d}.jpg").write_bytes(b"\0" * size)
    return make_plan(discover([str(folder)]), Placement(output_root=str(folder.parent / "out"))).jobs


def test_auto_chunk_large_inputs_one_each(tmp_path):
    jobs = _jobs_of_size(tmp_path / "large", 40, 2_000_000)

    assert auto_chunk_size(jobs, workers=2) == 1


def test_auto_chunk_small_inputs_grouped(tmp_path):
    jobs = _jobs_of_size(tmp_path / "small", 1000, 1500)

    assert auto_chunk_size(jobs, workers=2) == MAX_AUTO_CHUNK


def test_auto_chunk_few_inputs_spread_over_workers(tmp_path):
    jobs = _jobs_of_size(tmp_path / "few", 16, 1500)

    # 16 images over 2 workers, 4 chunks each.
    assert auto_chunk_size(jobs, workers=2) == 2


def test_index_set_counts_each_index_once():
    received = IndexSet(4)

    for index in (0, 3, 3, 7, 7, -1):
        received.add(index)

    assert len(received) == 4
    assert 3 in received
    assert 7 in received
    assert -1 in received
    assert 1 not in received
