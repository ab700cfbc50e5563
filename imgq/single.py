"""The one-file form: decide whether ``-o PATH`` names the output file or a folder.

With exactly one input file (or ``-`` for standard input), ``-o PATH`` names
the output file itself, as ``cp`` and ImageMagick's ``convert`` do, unless
PATH is an existing folder or ends with a slash. The output format comes
from ``--format``, else from PATH's extension, else (PATH has none) from the
input's format; an extension imgq cannot write is a usage error. The
named file is replaced when it exists, because naming it is the request to
write it, and make reruns a recipe exactly when its target must be replaced.

With a folder or several inputs, ``-o`` is a folder. ``-o -`` writes the
one image to standard output. Calls that fit neither form are usage errors.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import click

from imgq import heif
from imgq.formats import PREFERRED_EXTENSION, format_for_extension, known_format_for_extension
from imgq.plan import Placement
from imgq.streams import STDIN, STDOUT, stdout_staging_file

OUTPUT_HELP = (
    "Output. With one input file: the output file, unless PATH is an existing folder or ends "
    "with /; the file is replaced if it exists. With a folder or several inputs: the folder "
    "to write into, mirroring the tree under each input folder. '-' writes to stdout (needs --format)."
)


def one_file_placement(
    sources, output, in_place, output_format, dry_run, shard=None, remote=False
) -> Placement | None:
    """Return the placement of a one-file or stdout call, or None for a folder call.

    ``remote`` is True when a cluster runs the job, which cannot read this
    process's stdin or write its stdout. Raises click.UsageError for a call
    that names a file but gives several inputs, and for other calls that
    could mean two different things.
    """
    reading_stdin = STDIN in sources
    if reading_stdin:
        _check_stdin(sources, in_place, dry_run)
    if remote and (reading_stdin or output == STDOUT):
        raise click.UsageError("'-' (stdin or stdout) works only locally; drop --scheduler")
    if output is None:
        return None

    if output == STDOUT:
        return dataclasses.replace(_stdout_placement(sources, output_format, dry_run), shard=shard)

    one_file = len(sources) == 1 and (reading_stdin or not os.path.isdir(sources[0]))
    if not one_file:
        _check_folder_output(sources, output)
        return None

    if _names_folder(output):
        if reading_stdin:
            raise click.UsageError(
                f"-o {output} is a folder, but input from stdin has no file name; give -o FILE"
            )
        return None

    _check_parent(output)
    fmt = _output_format(output, output_format, reading_stdin)
    return Placement(output_file=output, output_format=fmt, overwrite=True, shard=shard)


def _check_stdin(sources, in_place, dry_run) -> None:
    if len(sources) > 1:
        raise click.UsageError("'-' (stdin) must be the only input; run imgq once per image")
    if in_place:
        raise click.UsageError("--in-place cannot write back to stdin; give -o FILE or -o -")
    if not dry_run and (sys.stdin is None or sys.stdin.isatty()):
        raise click.UsageError("'-' reads an image from stdin, which is closed or a terminal; pipe an image in")


def _stdout_placement(sources, output_format, dry_run) -> Placement:
    if len(sources) != 1 or (sources[0] != STDIN and os.path.isdir(sources[0])):
        raise click.UsageError("-o - writes one image to stdout; give exactly one input file or '-'")
    if output_format is None:
        raise click.UsageError("-o - needs --format, because stdout has no file name to take it from")

    extension = PREFERRED_EXTENSION.get(output_format, "." + output_format.lower())
    path = STDOUT if dry_run else stdout_staging_file(extension)
    return Placement(output_file=path, output_format=output_format, overwrite=True)


def _check_folder_output(sources, output) -> None:
    """Reject -o naming an image file when the inputs are several images."""
    if os.path.exists(output) or format_for_extension(output) is None:
        # An existing file here is reported as "not a folder" by the folder form.
        return
    if len(sources) > 1:
        inputs = f"{len(sources)} inputs were given"
    elif not sources:
        inputs = "--files-from can list several images"
    else:
        inputs = f"{sources[0]} is a folder"
    raise click.UsageError(
        f"-o {output} names an image file, but {inputs}; give a folder to write several images into"
    )


def _names_folder(output: str) -> bool:
    """Return True if PATH means a folder: it ends with a slash, or is an existing folder."""
    if output.endswith(("/", os.sep)):
        return True
    if not os.path.isdir(output):
        return False
    if format_for_extension(output) is not None:
        raise click.UsageError(
            f"-o {output} is an existing folder, but named like an image file; "
            f"write {output}/ to put the output inside it"
        )
    return True


def _check_parent(output: str) -> None:
    """Reject an output file whose nearest existing parent is not a folder."""
    parent = os.path.dirname(os.path.abspath(output))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise click.BadParameter(
            f"cannot write {output}: {parent} exists and is not a folder", param_hint="'-o/--output'"
        )


def _output_format(output: str, requested: str | None, reading_stdin: bool) -> str | None:
    """Return the format to write PATH in; None keeps the input's format."""
    from_name = format_for_extension(output)
    unwritable = known_format_for_extension(output)
    extension = os.path.splitext(output)[1]
    if requested is None and from_name is None and extension:
        # As ImageMagick does, instead of writing the input's format under a
        # name that promises another one.
        if unwritable is not None:
            raise click.UsageError(
                f"imgq cannot write {unwritable} files such as {output}; name the output .png, .tif, .jpg "
                "or .webp, or give --format"
            )
        if extension.lower() in heif.EXTENSIONS:
            raise click.UsageError(f"writing {output} needs the pillow-heif package: pip install 'imgq[heif]'")
        raise click.UsageError(
            f"unknown output extension {extension!r} in {output}; name the output .png, .tif, .jpg "
            "or .webp, or give --format"
        )
    if requested is not None and from_name is not None and requested != from_name:
        raise click.UsageError(
            f"--format {requested} and the output name {output} ({from_name}) disagree; give one of them"
        )
    if requested is None and from_name is None and reading_stdin:
        raise click.UsageError(
            f"cannot tell the output format from the name {output}; give --format"
        )
    return requested or from_name
