"""The ``imgq`` command line: parse and validate the job, then plan and run it."""

from __future__ import annotations

import dataclasses
import inspect
import os
import signal
import sys
import time
from typing import Iterator

import click
from PIL import ImageColor

from imgq import __version__, lock
from imgq.collect import OutputSettings
from imgq.config import ConfigError, load_preset
from imgq.discover import Found, discover
from imgq.dispatch import EngineSettings, FatalError, SchedulerError, run_jobs
from imgq.formats import writable_format
from imgq.geometry import parse_geometry
from imgq.inputs import listed, read_list
from imgq.jsonreport import JsonReport
from imgq.manifest import Freshness
from imgq.memory import parse_size
from imgq.outroot import probe, remove_stale_temporary_files
from imgq.photo_options import photo_options, pipeline_settings, pop_variants
from imgq.pipeline import OPERATION_HELP, Operation, Pipeline, parse_angle, parse_operation
from imgq.plan import Placement, make_plan
from imgq.report import (
    EXIT_FATAL, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_TERMINATED, EXIT_UNAVAILABLE, EXIT_USAGE,
    ImageResult, Outcome, Report, display_path,
)
from imgq.single import OUTPUT_HELP, one_file_placement
from imgq.streams import STDIN, STDOUT, copy_to_stdout

EXIT_CODES_HELP = """\b
Exit codes:
  0    every image was written, or skipped as asked
  1    one or more images failed (one line each on stderr)
  2    usage error: an invalid option or value
  3    fatal error: the output folder cannot be written, or the engine failed
  69   the Dask scheduler given by --scheduler cannot be reached
  75   another run holds the --lock file; nothing was done
  130  interrupted (SIGINT, Ctrl-C)
  143  terminated (SIGTERM)
"""

DEFAULT_MAX_PIXELS = 178_956_970


class Terminated(BaseException):
    """SIGTERM arrived; unwinds the run like Ctrl-C does."""


# ---------------------------------------------------------------- parameter types


class _ParsedType(click.ParamType):
    """A click type that wraps a parse function raising ValueError."""

    def __init__(self, name: str, parse):
        self.name = name
        self._parse = parse

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self._parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _parse_colour(text: str) -> tuple[int, ...]:
    try:
        return ImageColor.getrgb(text)
    except ValueError:
        raise ValueError(
            f"invalid colour {text!r}: use a name (white), #rrggbb, #rrggbbaa or rgb(r,g,b)"
        ) from None


SIZE = _ParsedType("SIZE", parse_size)
GEOMETRY = _ParsedType("GEOMETRY", parse_geometry)
ANGLE = _ParsedType("DEGREES", parse_angle)
OPERATION = _ParsedType("OP", parse_operation)
FORMAT = _ParsedType("FORMAT", writable_format)
COLOUR = _ParsedType("COLOUR", _parse_colour)


def _parse_shard(text: str) -> tuple[int, int]:
    index, slash, count = text.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = None
    if not slash or shard is None or shard[1] < 1 or not 0 <= shard[0] < shard[1]:
        raise ValueError(f"invalid shard {text!r}: expected K/N with 0 <= K < N, such as 0/4")
    return shard


SHARD = _ParsedType("K/N", _parse_shard)


# ---------------------------------------------------------------- shared options


def job_options(command):
    """Add the sources argument and the options every processing command shares."""
    options = [
        # A missing input fails alone, as a damaged one does, so that a file
        # deleted between the shell's glob and the run does not stop the batch.
        click.argument("sources", nargs=-1, type=click.Path(allow_dash=True)),
        click.option("-o", "--output", metavar="PATH", help=OUTPUT_HELP),
        click.option("--in-place", is_flag=True, help="Write next to the inputs, replacing an input when the output has its name."),
        click.option("-f", "--format", "output_format", type=FORMAT, help="Output format (jpg, png, webp, tif, gif, ...); default: the input's."),
        click.option("--quality", type=click.IntRange(1, 100), help="Encoder quality 1-100 for JPEG, WebP and AVIF [default: 90 for JPEG and WebP]."),
        click.option("--background", type=COLOUR, default="white", show_default=True, help="Colour that transparent pixels are blended onto for formats without alpha."),
        click.option("--overwrite", is_flag=True, help="Replace outputs that already exist (default: skip them)."),
        click.option("--no-auto-orient", "auto_orient", is_flag=True, flag_value=False, default=True, help="Do not apply the EXIF Orientation tag before the operations."),
        click.option("--max-pixels", type=click.IntRange(0), default=DEFAULT_MAX_PIXELS, show_default=True, help="Reject images with more pixels than this (0: no limit)."),
        click.option("--max-memory", type=SIZE, help="Memory that images being decoded may use together, such as 2G [default: 80% of the memory available at start]."),
        click.option("--timeout", type=click.FloatRange(0, min_open=True), metavar="SECONDS", help="End a worker stuck on one image for longer than this, and fail that image."),
        click.option("-j", "--jobs", type=click.IntRange(1), help="Worker processes [default: the CPUs this process may use]. 1 runs in one process."),
        click.option("--chunk-size", type=click.IntRange(1), help="Images per chunk handed to a worker [default: automatic]."),
        click.option("--dry-run", is_flag=True, help="Print the planned outputs on stdout and write nothing."),
        click.option("--shard", type=SHARD, metavar="K/N", help="Process only shard K of N (K from 0), by a stable hash of each image's path under its input folder."),
        click.option("--scheduler", envvar="IMGQ_SCHEDULER", metavar="ADDRESS", help="Run on the Dask cluster at ADDRESS, such as tcp://host:8786 [env: IMGQ_SCHEDULER]."),
        click.option("--write-on", type=click.Choice(["client", "workers"]), default="client", show_default=True, help="With --scheduler: who writes outputs; 'workers' needs a filesystem they share."),
        click.option("--progress/--no-progress", default=None, help="Show the progress bar [default: when stderr is a terminal and there is more than one image]."),
        click.option("-q", "--quiet", is_flag=True, help="Print only failures."),
        click.option("-v", "--verbose", is_flag=True, help="Also say why each path was skipped."),
        click.option("--manifest", "use_manifest", is_flag=True, help="Keep a manifest in the output folder: re-runs skip up-to-date outputs and redo those whose input or options changed."),
        click.option("--update", is_flag=True, help="Skip an image whose output is newer than the input, as make does; replace older outputs."),
        click.option("--follow-links", is_flag=True, help="Follow symbolic links that lead out of an input folder."),
        click.option("--files-from", metavar="FILE", help="Also read input paths from FILE, one a line (- for stdin)."),
        click.option("--null", "null_separated", is_flag=True, help="Paths in --files-from are separated by NUL bytes, as find -print0 writes them (also -0)."),
        click.option("--report", "report_path", metavar="FILE", help="Write a JSON Lines report to FILE (- for stdout): one object per image, then a summary."),
        click.option("--lock", "lock_path", metavar="FILE", help=f"Hold a lock on FILE for the run; if another run holds it, exit {EXIT_LOCKED} at once."),
    ]
    for option in reversed(options):
        command = option(command)
    return photo_options(command)


# ---------------------------------------------------------------- commands


class _Group(click.Group):
    """The command group: builds each command on first use, and reads a lone ``-0`` as ``--null``.

    ``-0`` is not a click short option, because click would then read a
    negative angle such as ``rotate -90`` as the flags ``-9`` and ``-0``.
    """

    def list_commands(self, ctx):
        return list(_COMMANDS)

    def get_command(self, ctx, name):
        if name not in self.commands and name in _COMMANDS:
            self.add_command(_COMMANDS[name](), name)
        return self.commands.get(name)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.NoSuchCommand as exc:
            # Click suggests from the commands built so far, and none is built yet.
            raise click.NoSuchCommand(exc.command_name, possibilities=list(_COMMANDS), ctx=ctx) from None

    def parse_args(self, ctx, args):
        if "--" in args:
            end = args.index("--")
            args = [("--null" if arg == "-0" else arg) for arg in args[:end]] + args[end:]
        else:
            args = [("--null" if arg == "-0" else arg) for arg in args]
        return super().parse_args(ctx, args)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.version_option(__version__, prog_name="imgq")
def main():
    """Batch image processor: rotate, auto-orient, resize and convert many images in parallel.

    \b
    Examples:
      imgq rotate 90 photos/ -o rotated/
      imgq resize '1600x1600>' photos/ -o web/ --format webp
      imgq run photos/ -o out/ --op rotate=90 --op 'resize=800x600>'
      imgq rotate 90 src/a.jpg -o out/a.webp        (one file in, one file out)
      curl -s URL | imgq resize 800 - -o - --format webp > a.webp
    """


def _example(text: str):
    """Append an example block to a command's help."""

    def decorate(function):
        # Dedented first: the commands are defined inside functions, and
        # their docstrings are indented deeper than the example lines.
        function.__doc__ = f"{inspect.cleandoc(function.__doc__)}\n\n\b\nExample:\n  {text}"
        return function

    return decorate


# Each command is built on first use: making the options of all eight
# commands took about 3 ms, a twentieth of a one-image call.
_COMMANDS: dict = {}


def _lazy_command(name: str):
    """Register a function that builds the command ``name`` when it is first used."""

    def register(build):
        _COMMANDS[name] = build
        return build

    return register


@_lazy_command("rotate")
def _rotate_command():
    @click.command(context_settings={"ignore_unknown_options": True})
    @click.argument("degrees", type=ANGLE)
    @job_options
    @click.option("--fill", type=COLOUR, help="Corner colour for angles that are not multiples of 90 [default: white, or transparent with alpha].")
    @_example("imgq rotate 90 photos/ -o rotated/")
    def rotate(degrees, fill, **options):
        """Rotate clockwise by DEGREES (negative: counter-clockwise)."""
        _execute([Operation("rotate", degrees)], fill=fill, **options)

    return rotate


@_lazy_command("flip")
def _flip_command():
    @click.command()
    @job_options
    @_example("imgq flip scans/ -o flipped/")
    def flip(**options):
        """Mirror top to bottom."""
        _execute([Operation("flip")], **options)

    return flip


@_lazy_command("flop")
def _flop_command():
    @click.command()
    @job_options
    @_example("imgq flop scans/ -o mirrored/")
    def flop(**options):
        """Mirror left to right."""
        _execute([Operation("flop")], **options)

    return flop


@_lazy_command("auto-orient")
def _auto_orient_command():
    @click.command(name="auto-orient")
    @job_options
    @_example("imgq auto-orient phone/ -o upright/")
    def auto_orient(**options):
        """Apply the EXIF Orientation tag to the pixels and reset the tag (all 8 values)."""
        if not options["auto_orient"]:
            raise click.UsageError("auto-orient and --no-auto-orient contradict each other; drop one")
        _execute([], **options)

    return auto_orient


@_lazy_command("resize")
def _resize_command():
    @click.command()
    @click.argument("geometry", type=GEOMETRY)
    @job_options
    @_example("imgq resize '1600x1600>' photos/ -o web/")
    def resize(geometry, **options):
        """Resize to an ImageMagick GEOMETRY.

        \b
        W       width W, aspect ratio kept
        xH      height H, aspect ratio kept
        WxH     fit inside W by H
        WxH^    fill W by H (the smaller side fits)
        WxH!    exactly W by H
        WxH>    fit inside, only ever shrink
        WxH<    fit inside, only ever enlarge
        N%      scale by N percent
        """
        _execute([Operation("resize", geometry)], **options)

    return resize


@_lazy_command("grayscale")
def _grayscale_command():
    @click.command()
    @job_options
    @_example("imgq grayscale photos/ -o grey/")
    def grayscale(**options):
        """Convert to grey, keeping alpha."""
        _execute([Operation("grayscale")], **options)

    return grayscale


@_lazy_command("convert")
def _convert_command():
    @click.command(name="convert")
    @click.argument("target_format", metavar="FORMAT", type=FORMAT)
    @job_options
    @_example("imgq convert webp photos/ -o webp/ --quality 80")
    def convert_command(target_format, output_format, **options):
        """Convert to FORMAT (jpg, png, webp, tif, gif, bmp, ...)."""
        if output_format is not None and output_format != target_format:
            raise click.UsageError(f"FORMAT {target_format} and --format {output_format} disagree; give one of them")
        _execute([], output_format=target_format, **options)

    return convert_command


@_lazy_command("run")
def _run_command():
    @click.command()
    @click.option("--op", "operations", type=OPERATION, multiple=True, metavar="OP", help="An operation; repeat to chain them in order (see below).")
    @click.option("--fill", type=COLOUR, help="Colour of corners that rotations uncover, and of the canvas of extent, pad and fit.")
    @click.option("--preset", metavar="NAME", help="Take operations and options from preset NAME in imgq.toml; the command line overrides them.")
    @click.option("--config", metavar="FILE", type=click.Path(dir_okay=False), help="Read presets from FILE [default: imgq.toml in the current folder].")
    @job_options
    @_example("imgq run photos/ -o out/ --op rotate=90 --op 'resize=800x600>' --format webp")
    @click.pass_context
    def run(ctx, preset, config, **options):
        """Apply a chain of operations, in the order given.

        \b
        Operations:
        """
        if preset:
            _apply_preset(ctx, preset, config, options)
        elif config:
            raise click.UsageError("--config needs --preset NAME")
        operations = options.pop("operations")
        _execute(list(operations), **options)

    # The list goes under the "Operations:" heading, above the example that
    # _example appended. A "\b" line makes click keep the line breaks of its block.
    summary, _, example = run.help.partition("Operations:")
    operation_lines = "\n".join(f"  {name:<17} {text}" for name, text in OPERATION_HELP.items())
    run.help = "\n\n".join([
        summary.replace("\b", "").rstrip(),
        "\b\nOperations:\n" + operation_lines,
        example.strip(),
    ])
    return run


def _apply_preset(ctx: click.Context, name: str, config: str | None, options: dict) -> None:
    """Fill the options not given on the command line from preset ``name``."""
    try:
        preset = load_preset(name, config)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None

    by_key = {}
    for param in ctx.command.params:
        for opt in param.opts:
            if opt.startswith("--"):
                by_key[opt[2:]] = param
    by_key.pop("preset", None)
    by_key.pop("config", None)

    for key, value in preset.items():
        param = by_key.get(key)
        if param is None:
            known = ", ".join(sorted(by_key))
            raise click.UsageError(f"unknown option {key!r} in preset {name!r}; use one of: {known}")
        if ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT:
            continue
        if getattr(param, "is_flag", False) and not param.secondary_opts:
            if not isinstance(value, bool):
                raise click.UsageError(f"invalid value for {key!r} in preset {name!r}: expected true or false")
            # A false flag keeps the option's default, which options already holds.
            if value:
                options[param.name] = param.flag_value
            continue
        try:
            options[param.name] = param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise click.UsageError(f"invalid value for {key!r} in preset {name!r}: {exc.message}") from None


# ---------------------------------------------------------------- running a job


def _execute(operations, *, sources, output, in_place, output_format, quality, background,
             overwrite, auto_orient, max_pixels, jobs, chunk_size, dry_run, progress,
             quiet, verbose, shard, scheduler, write_on, max_memory, timeout, update, follow_links,
             files_from, null_separated, report_path, lock_path, use_manifest, fill=None, **photo):
    if lock_path:
        _take_lock(lock_path)
    if not sources and not files_from:
        raise click.UsageError("missing SOURCES: give files or folders, or --files-from FILE")
    _reject_unknown_options(sources)
    if report_path == "-" and output == STDOUT:
        raise click.UsageError("--report - and -o - both write to stdout; give --report FILE")
    if null_separated and not files_from:
        raise click.UsageError("-0 (--null) applies to --files-from; give --files-from FILE too")
    dask = _dask_settings(scheduler, write_on)
    if dask is not None:
        # Dask workers run in folders of their own, so relative paths would
        # point elsewhere there.
        sources = tuple(source if source == "-" else os.path.abspath(source) for source in sources)
        if output and output != "-":
            output = os.path.join(os.path.abspath(output), "") if output.endswith(os.sep) else os.path.abspath(output)
    variants = pop_variants(photo, output_format)
    photo_fields = pipeline_settings(photo, operations)
    placement = one_file_placement(sources, output, in_place, output_format, dry_run, shard, remote=dask is not None)
    if placement is not None and variants:
        raise click.UsageError("--variant names its own files; give -o FOLDER, not a file or '-'")
    if placement is not None and files_from:
        raise click.UsageError("--files-from can list several images; give -o FOLDER, not a file or '-'")
    if placement is None:
        placement = _placement(output, in_place, output_format, overwrite, dry_run, shard)
    placement = dataclasses.replace(placement, variants=variants)
    pipeline = Pipeline(
        operations=tuple(operations),
        auto_orient=auto_orient,
        output_format=output_format,
        quality=quality,
        background=tuple(background[:3]),
        fill=fill,
        max_pixels=max_pixels or None,
        **photo_fields,
    )
    if use_manifest and not placement.output_root:
        raise click.UsageError("--manifest needs -o/--output FOLDER, where the manifest is kept")
    manifest_root = placement.output_root if use_manifest else None
    settings = OutputSettings(
        quiet=quiet, verbose=verbose, progress=progress, in_place=in_place,
        report=report_path, manifest_root=manifest_root, pipeline=pipeline,
    )

    started = time.perf_counter()
    plan = _plan_with_signals(
        lambda: make_plan(
            _find_inputs(sources, files_from, null_separated, follow_links, placement.output_root),
            placement,
            Freshness(manifest_root, pipeline, update),
        ),
        started,
    )
    if dry_run:
        _print_plan(plan)
        # As the real run would: 1 when some image would fail.
        sys.exit(1 if plan.failed else 0)

    report = Report(planned=plan.planned)
    if plan.planned == 0 and not quiet:
        click.echo("imgq: no images found in the inputs (-v lists the paths passed over)", err=True)
    _report_plan(plan, report, settings)
    _warn_without_jpegtran(plan, pipeline, settings)
    remove_stale_temporary_files({folder or "." for folder in plan.jobs.output_folders()})
    engine = EngineSettings(jobs, chunk_size, timeout=timeout, max_memory=max_memory, dask=dask)
    _run_with_signals(plan, pipeline, engine, settings, report)
    report.elapsed = time.perf_counter() - started
    if output == STDOUT and report.written:
        _send_to_stdout(placement.output_file)

    if not quiet or report.exit_code != 0:
        click.echo(f"imgq: {report.summary()}", err=True)
    if report_path:
        _append_summary(report_path, report)
    sys.exit(report.exit_code)


def _reject_unknown_options(sources) -> None:
    """Raise a usage error for a source that is a misspelt option, such as ``--qualty``.

    ``rotate`` passes unknown options through as arguments, so that ``rotate
    -90`` reads as an angle. A missing input fails alone instead of stopping
    the batch, but a typo must still stop the run before any work.
    """
    ctx = click.get_current_context()
    for source in sources:
        if source.startswith("-") and source != STDIN and not os.path.lexists(source):
            known = [name for param in ctx.command.params for name in param.opts if name.startswith("--")]
            raise click.NoSuchOption(source.split("=", 1)[0], possibilities=known, ctx=ctx)


def _take_lock(path: str) -> None:
    """Hold the run lock until this process exits, or exit with EXIT_LOCKED."""
    try:
        lock.acquire(path)
    except lock.LockHeld as exc:
        click.echo(f"imgq: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except OSError as exc:
        click.echo(f"imgq: cannot open lock file {path}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FATAL)


def _plan_with_signals(make, started: float):
    """Run discovery and planning; on SIGINT or SIGTERM print the summary and exit 130 or 143.

    A walk over a large or network tree can take minutes, and an interrupt
    then must end the run like one during processing, not as click's
    "Aborted!" with exit code 1.
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return make()
    except (KeyboardInterrupt, Terminated) as exc:
        report = Report()
        report.interrupted_by = EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_TERMINATED
        report.elapsed = time.perf_counter() - started
        click.echo(f"imgq: stopped while finding images; {report.summary()}", err=True)
        sys.exit(report.exit_code)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _find_inputs(sources, files_from, null_separated, follow_links, output_root) -> Iterator[Found]:
    """Yield the paths met in the inputs, then those listed in ``files_from``.

    Planning takes them one at a time, so that a walk over 10,000 images does
    not keep 10,000 ``Found`` records besides the plan.
    """
    paths = []
    if files_from:
        try:
            paths = read_list(files_from, null_separated)
        except OSError as exc:
            raise click.BadParameter(f"cannot read {files_from!r}: {exc.strerror or exc}", param_hint="'--files-from'") from None
    yield from discover(list(sources), follow_links=follow_links, exclude=output_root)
    yield from listed(paths)


def _append_summary(path: str, report: Report) -> None:
    try:
        writer = JsonReport(path)
        writer.summary(report)
        writer.close()
    except OSError as exc:
        click.echo(f"imgq: cannot write the report {path}: {exc.strerror or exc}", err=True)


def _dask_settings(scheduler, write_on):
    if not scheduler:
        return None
    from imgq.dask_engine import DaskSettings, require_dask, valid_address

    try:
        require_dask()
    except SchedulerError as exc:
        click.echo(f"imgq: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if not valid_address(scheduler):
        raise click.BadParameter(
            f"invalid address {scheduler!r}: expected tcp://HOST:PORT, such as tcp://10.0.0.5:8786",
            param_hint="'--scheduler'",
        )
    return DaskSettings(scheduler, write_on)


def _placement(output, in_place, output_format, overwrite, dry_run, shard=None) -> Placement:
    if in_place and output:
        raise click.UsageError("give either -o/--output or --in-place, not both")
    if not in_place and not output:
        raise click.UsageError("missing -o/--output PATH (or --in-place to write next to the inputs)")
    if output and os.path.exists(output) and not os.path.isdir(output):
        raise click.BadParameter(f"{output!r} exists and is not a folder", param_hint="'-o/--output'")
    if output and not dry_run:
        try:
            os.makedirs(output, exist_ok=True)
        except OSError as exc:
            click.echo(f"imgq: fatal: cannot create output folder {output}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_FATAL)
        problem = probe(output)
        if problem:
            click.echo(f"imgq: fatal: cannot write into output folder {output}: {problem}", err=True)
            sys.exit(EXIT_FATAL)
    return Placement(
        output_root=output, in_place=in_place, output_format=output_format, overwrite=overwrite, shard=shard
    )


def _send_to_stdout(path: str) -> None:
    try:
        copy_to_stdout(path)
    except BrokenPipeError:
        click.echo("imgq: stdout was closed before the whole image was written", err=True)
        sys.exit(1)


def _print_plan(plan) -> None:
    for job in plan.jobs:
        for output in [variant.output for variant in job.variants] or [job.output]:
            click.echo(f"{display_path(job.source)} -> {display_path(output)}")
    for source, reason in plan.skipped:
        click.echo(f"{display_path(source)} skipped: {display_path(reason)}")
    for source, reason in plan.failed:
        click.echo(f"{display_path(source)} failed: {display_path(reason)}")
    click.echo(
        f"imgq: dry run: {len(plan.jobs)} to write, {len(plan.skipped)} to skip, "
        f"{len(plan.failed)} failing",
        err=True,
    )


def _report_plan(plan, report: Report, settings: OutputSettings) -> None:
    """Print and count what planning already decided, before any work starts."""
    if settings.report:
        _write_plan_records(plan, settings.report)
    for source, reason in plan.failed:
        click.echo(f"imgq: {display_path(source)}: {display_path(reason)}", err=True)
        report.failures.append((source, reason))
    report.failed += len(plan.failed)
    report.skipped += len(plan.skipped)
    if settings.verbose:
        for source, reason in plan.skipped:
            click.echo(f"imgq: skipped {display_path(source)}: {display_path(reason)}", err=True)
        for item in plan.ignored:
            click.echo(f"imgq: ignored {display_path(item.path)}: {item.skip_reason}", err=True)


def _write_plan_records(plan, path: str) -> None:
    """Start the JSON report with the images that planning skipped or failed."""
    try:
        writer = JsonReport(path, truncate=True)
    except OSError as exc:
        click.echo(f"imgq: fatal: cannot write the report {path}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FATAL)
    for outcome, items in ((Outcome.SKIPPED, plan.skipped), (Outcome.FAILED, plan.failed)):
        for source, reason in items:
            writer.image(ImageResult(-1, source, "", outcome, reason))
    writer.close()


def _warn_without_jpegtran(plan, pipeline, settings: OutputSettings) -> None:
    """Say once per run when JPEG rotations will be re-encoded for want of jpegtran."""
    if settings.quiet or pipeline.lossless != "auto" or not (pipeline.operations or pipeline.auto_orient):
        return
    from imgq import lossless_jpeg

    if not lossless_jpeg.is_lossless_chain(pipeline.operations) or pipeline.quality is not None:
        return
    if "JPEG" not in plan.jobs.output_formats:
        return
    if not lossless_jpeg.has_jpegtran():
        click.echo(
            f"imgq: warning: JPEG outputs are re-encoded, not transformed losslessly: {lossless_jpeg.INSTALL_HINT}",
            err=True,
        )


def _run_with_signals(plan, pipeline, engine, settings, report: Report) -> None:
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    finished = False
    try:
        run_jobs(plan.jobs, pipeline, engine, settings, report)
        finished = True
    except KeyboardInterrupt:
        report.interrupted_by = EXIT_INTERRUPTED
    except Terminated:
        report.interrupted_by = EXIT_TERMINATED
    except FatalError as exc:
        report.fatal = str(exc)
        click.echo(f"imgq: fatal: {exc}", err=True)
    except SchedulerError as exc:
        report.fatal = str(exc)
        report.fatal_code = EXIT_UNAVAILABLE
        click.echo(f"imgq: {exc}", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        # A run that ended without failures left no temporary file: each one
        # was renamed into place, so the sweep (one unlink per image) is skipped.
        if not finished or report.failed or report.fatal:
            _remove_temporary_files(plan.jobs)


def _raise_terminated(signum, frame):
    raise Terminated()


def _remove_temporary_files(jobs) -> None:
    """Remove what workers left behind when a run stopped early."""
    for job in jobs:
        for temp in job.temps:
            try:
                os.remove(temp)
            except OSError:
                pass
