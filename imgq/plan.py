"""Planning: decide every image's output path before any image is processed.

The plan mirrors each input folder's tree under the output folder, finds
outputs that two inputs would share, and passes over outputs that already
exist, all before the first worker starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from imgq.discover import TEMP_PREFIX, TEMP_SUFFIX, Found, temp_token
from imgq.formats import format_for_extension, output_name
from imgq.variants import Variant, VariantOutput, output_format, output_path


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One image to process: where it comes from, where it goes, and in which format."""

    index: int
    source: str
    output: str
    output_format: str
    token: str
    variants: tuple[VariantOutput, ...] = ()

    @property
    def temp(self) -> str:
        """Return the temporary file that the output is written to before it is renamed."""
        return temp_path(self.output, self.token, self.index)

    @property
    def temps(self) -> tuple[str, ...]:
        """Return every temporary file this job may write: one, or one per variant."""
        return tuple(variant.temp for variant in self.variants) or (self.temp,)


class JobList(Sequence[ImageJob]):
    """The planned jobs, kept as lists of paths; an ``ImageJob`` is made when one is read.

    A job object and its index cost about 110 bytes per image on top of
    the paths, which the main process would keep for the whole run. An
    output path is kept as its folder, one string shared by the folder's
    jobs, and its name, None when it is the input's name. Item ``i`` is the
    job with index ``i``, and a slice is a list of jobs.
    """

    def __init__(self, token: str = ""):
        self.token = token
        self._sources: list[str] = []
        self._output_folders: list[str] = []
        self._output_names: list[str | None] = []
        self._formats: list[str] = []
        self._variants: dict[int, tuple[VariantOutput, ...]] = {}
        self._folders: dict[str, str] = {}

    def add(self, source: str, outputs: list[tuple[str, str]], variants: tuple[Variant, ...] = ()) -> None:
        """Append the job for ``source`` with its (output, format) pairs: one, or one per variant."""
        index = len(self._sources)
        output, fmt = outputs[0]
        folder, name = os.path.split(output)
        self._sources.append(source)
        self._output_folders.append(self._folders.setdefault(folder, folder))
        self._output_names.append(None if name == os.path.basename(source) else name)
        self._formats.append(fmt)
        if variants:
            self._variants[index] = tuple(
                VariantOutput(variant.geometry, path, path_format, temp_path(path, self.token, index, number))
                for number, (variant, (path, path_format)) in enumerate(zip(variants, outputs))
            )

    def __len__(self) -> int:
        return len(self._sources)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._job(position) for position in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._job(index)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(mine == theirs for mine, theirs in zip(self, other))

    __hash__ = None

    def output_folders(self) -> set[str]:
        """Return the folders that the outputs go to (of the first variant for --variant)."""
        return set(self._folders)

    @property
    def output_formats(self) -> Sequence[str]:
        """Return the output format of every job, without making jobs."""
        return self._formats

    def _job(self, index: int) -> ImageJob:
        source = self._sources[index]
        output = os.path.join(self._output_folders[index], self._output_names[index] or os.path.basename(source))
        return ImageJob(index, source, output, self._formats[index], self.token, self._variants.get(index, ()))


@dataclass
class Plan:
    """The planned jobs, plus the inputs passed over or rejected while planning."""

    jobs: JobList = field(default_factory=JobList)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[Found] = field(default_factory=list)

    @property
    def planned(self) -> int:
        """Return how many images the run accounts for: jobs, skips and failures."""
        return len(self.jobs) + len(self.skipped) + len(self.failed)


@dataclass(frozen=True)
class Placement:
    """Output placement: a folder tree, next to the inputs, or one named file."""

    output_root: str | None = None
    in_place: bool = False
    output_file: str | None = None
    output_format: str | None = None
    overwrite: bool = False
    shard: tuple[int, int] | None = None
    variants: tuple[Variant, ...] = ()


def make_plan(found: Iterable[Found], placement: Placement, freshness=None) -> Plan:
    """Plan an output for every discovered image.

    ``freshness`` (a ``manifest.Freshness``) decides which existing outputs
    are up to date and which are stale and may be replaced.
    """
    plan = Plan()
    candidates: list[tuple[str, str, str, str]] = []
    seen_sources: set[str] = set()
    absolute = _AbsolutePaths()
    relative_folders: dict[tuple[str, str], str] = {}

    for item in found:
        if item.error:
            plan.failed.append((item.path, item.error))
            continue
        if item.skip_reason:
            plan.ignored.append(item)
            continue
        key = absolute(item.path)
        if key in seen_sources:
            continue
        seen_sources.add(key)
        # Only a shard needs the path under the input root, so other runs keep no copy.
        relative = _relative(item, relative_folders) if placement.shard is not None else ""
        try:
            outputs = _outputs_for(item, placement, relative_folders)
        except ValueError as exc:
            if placement.shard is None or in_shard(relative, placement.shard):
                plan.failed.append((item.path, str(exc)))
            continue
        candidates.extend((item.path, output, fmt, relative) for output, fmt in outputs)

    if placement.in_place:
        candidates = _drop_earlier_outputs(candidates, seen_sources, plan)

    # Conflicts are found over the whole tree, so that every shard agrees on them.
    rejected = _find_conflicts(candidates, seen_sources, placement.in_place, absolute)
    del seen_sources
    if placement.shard is not None:
        candidates = [candidate for candidate in candidates if in_shard(candidate[3], placement.shard)]

    plan.jobs = JobList(temp_token())
    for source, outputs in _group_by_source(candidates, bool(placement.variants)):
        present = [output for output, _ in outputs if _exists(output)]
        existing = [output for output in present if not _may_replace(source, output, placement)]
        up_to_date, stale = _freshness(freshness, source, outputs, placement, bool(present))
        if source in rejected:
            plan.failed.append((source, rejected[source]))
        elif up_to_date:
            plan.skipped.append((source, f"{up_to_date}: {outputs[0][0]}"))
        elif existing and not stale:
            plan.skipped.append((source, f"output exists: {existing[0]} (use --overwrite)"))
        else:
            plan.jobs.add(source, outputs, placement.variants)
    return plan


def _freshness(
    freshness, source: str, outputs: list[tuple[str, str]], placement: Placement, present: bool
) -> tuple[str, bool]:
    """Return ``(skip reason, may replace)`` from the manifest and --update, for one existing output.

    NOTE: images with several outputs (--variant) are not tracked this way.
    """
    if freshness is None or placement.overwrite or len(outputs) != 1 or not present:
        return "", False
    output, fmt = outputs[0]
    return freshness.check(source, output, fmt)


def _drop_earlier_outputs(candidates, seen_sources: set[str], plan: Plan) -> list:
    """Pass over inputs that are another input's in-place output, as from an earlier run.

    Converting a folder in place twice would otherwise read ``a.webp``, made
    from ``a.jpg`` the first time, as an input of its own, and report the
    pair as a name collision.
    """
    producers = {}
    for source, output, *_ in candidates:
        target = os.path.abspath(output)
        if target != os.path.abspath(source):
            producers.setdefault(target, source)

    kept = []
    for candidate in candidates:
        source = candidate[0]
        key = os.path.abspath(source)
        producer = producers.get(key)
        if producer is None:
            kept.append(candidate)
            continue
        # A source with several variant outputs appears once per output; report it once.
        if key in seen_sources:
            seen_sources.discard(key)
            plan.ignored.append(Found(source, os.path.dirname(source), f"the in-place output of {producer}"))
    return kept


def temp_path(output: str, token: str, index: int, number: int = 0) -> str:
    """Return the temporary file beside ``output`` for output ``number`` of job ``index``."""
    suffix = f"-{number}" if number else ""
    return os.path.join(os.path.dirname(output) or ".", f"{TEMP_PREFIX}{token}-{index}{suffix}{TEMP_SUFFIX}")


def _group_by_source(candidates: list[tuple[str, str, str, str]], variants: bool) -> Iterator[tuple[str, list]]:
    """Yield each source with its (output, format) pairs: one pair, or one per variant.

    Without variants, this empties ``candidates`` as it goes, so that each
    candidate is freed once its job exists instead of at the end of planning.
    """
    if not variants:
        candidates.reverse()
        while candidates:
            source, output, fmt, _ = candidates.pop()
            yield source, [(output, fmt)]
        return
    grouped: dict[str, list[tuple[str, str]]] = {}
    for source, output, fmt, _ in candidates:
        grouped.setdefault(source, []).append((output, fmt))
    yield from grouped.items()


def _outputs_for(item: Found, placement: Placement, folders: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Return the (output, format) pairs of one input: one, or one per variant."""
    if not placement.variants:
        return [_output_for(item, placement, folders)]
    root = item.root or os.path.dirname(item.path) or "."
    output_root = root if placement.in_place else placement.output_root
    outputs = []
    for variant in placement.variants:
        path = output_path(variant, item.path, root, output_root)
        outputs.append((path, output_format(variant, path)))
    return outputs


def _relative_folder(item: Found, folders: dict[tuple[str, str], str]) -> str:
    """Return the path of the item's folder under its input root, one relpath per folder.

    Each relpath costs two abspath calls, each a getcwd.
    """
    key = (os.path.dirname(item.path), item.root)
    relative = folders.get(key)
    if relative is None:
        relative = folders[key] = os.path.relpath(key[0] or os.curdir, item.root or os.curdir)
    return relative


def _relative(item: Found, folders: dict[tuple[str, str], str]) -> str:
    """Return ``os.path.relpath(item.path, item.root)``, computed per folder."""
    folder = _relative_folder(item, folders)
    name = os.path.basename(item.path)
    return name if folder == os.curdir else os.path.join(folder, name)


def _output_for(item: Found, placement: Placement, folders: dict[tuple[str, str], str]) -> tuple[str, str]:
    name = os.path.basename(item.path)
    fmt = placement.output_format or format_for_extension(name) or "PNG"
    if placement.output_file is not None:
        return placement.output_file, fmt

    if placement.in_place:
        folder = os.path.dirname(item.path)
    else:
        folder = os.path.normpath(os.path.join(placement.output_root, _relative_folder(item, folders)))
    return os.path.join(folder, output_name(name, fmt)), fmt


def _find_conflicts(
    candidates: list[tuple[str, str, str, str]], sources: set[str], in_place: bool, absolute: _AbsolutePaths
) -> dict[str, str]:
    """Return a reason for each source whose output collides or replaces an input.

    Names are compared case-folded, because on macOS and Windows ``Photo.png``
    and ``photo.png`` are the same file, and an output tree is often copied
    there.
    """
    rejected: dict[str, str] = {}
    # Outputs are keyed by the hash of their folded name, an int instead of a
    # string each, which took planning 100,000 paths from 80 MB to 76 MB.
    # Two different names with one hash are compared by name.
    first_by_hash: dict[int, tuple] = {}
    first_by_name: dict[str, tuple] = {}
    collisions: dict[str, list[tuple]] = {}
    for candidate in candidates:
        folded = absolute(candidate[1]).casefold()
        first = first_by_hash.setdefault(hash(folded), candidate)
        if first is not candidate and absolute(first[1]).casefold() != folded:
            first = first_by_name.setdefault(folded, candidate)
        if first is not candidate:
            collisions.setdefault(folded, [first]).append(candidate)
    del first_by_hash, first_by_name

    for group in collisions.values():
        names = ", ".join(source for source, *_ in group)
        for source, output, *_ in group:
            rejected[source] = f"output name collision: {names} would all be written to {output}"

    # An output can replace an input only in a folder that contains inputs,
    # so the set of every input name is built only when such a folder occurs.
    source_folders = {os.path.dirname(path).casefold() for path in sources}
    folded_sources = None
    for source, output, *_ in candidates:
        target = absolute(output)
        folded = target.casefold()
        if source in rejected or os.path.dirname(folded) not in source_folders:
            continue
        if in_place and target == absolute(source):
            continue
        if folded_sources is None:
            folded_sources = {path.casefold() for path in sources}
        if folded in folded_sources:
            rejected[source] = f"output {output} would replace an input file (use --in-place to allow it)"
    return rejected


class _AbsolutePaths:
    """``os.path.abspath`` for many paths, run once per folder.

    abspath calls ``os.getcwd`` each time; planning 100,000 paths made
    600,000 such calls. The working directory must not change meanwhile.
    """

    def __init__(self):
        self.folders: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        folder, name = os.path.split(path)
        if name in ("", ".", ".."):
            return os.path.abspath(path)
        absolute = self.folders.get(folder)
        if absolute is None:
            absolute = self.folders[folder] = os.path.abspath(folder)
        joined = os.path.join(absolute, name)
        # An absolute, normalised path is kept as the same string, not a copy per image.
        return path if joined == path else joined


def in_shard(relative_path: str, shard: tuple[int, int]) -> bool:
    """Return True if the image at ``relative_path`` (under its input root) is in shard K of N.

    The hash is SHA-1 of the path's bytes with ``/`` separators, so every
    machine and every run puts an image in the same shard, unlike Python's
    salted ``hash()``.
    """
    # Imported here: hashlib loads OpenSSL, which a run without --shard never needs.
    import hashlib

    index, count = shard
    key = os.fsencode(relative_path).replace(os.fsencode(os.sep), b"/")
    return int.from_bytes(hashlib.sha1(key).digest()[:8], "big") % count == index


def _may_replace(source: str, output: str, placement: Placement) -> bool:
    if placement.overwrite:
        return True
    return placement.in_place and os.path.abspath(output) == os.path.abspath(source)


def _exists(path: str) -> bool:
    return os.path.lexists(path)
