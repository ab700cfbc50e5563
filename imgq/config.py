"""Presets: named pipelines in ``imgq.toml``, used as ``imgq run --preset NAME``.

The file is ``imgq.toml`` in the current folder, or the one named by
``--config FILE``. Each preset is a table under ``preset``, whose keys are
``run``'s long option names without the dashes (``op`` is a list)::

    [preset.web]
    op = ["auto-orient", "resize=1600x1600>"]
    format = "webp"
    quality = 80

A value given on the command line overrides the preset's.
"""

from __future__ import annotations

import os
import sys

DEFAULT_CONFIG = "imgq.toml"


class ConfigError(Exception):
    """The configuration file or the preset is missing or invalid."""


def load_preset(name: str, config: str | None) -> dict:
    """Return the options of preset ``name``, keyed by option name as in the file."""
    # Imported here: only runs with --preset read a file, and every call pays for imports.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    path = config or DEFAULT_CONFIG
    if config is None and not os.path.exists(path):
        raise ConfigError(f"no {DEFAULT_CONFIG} in the current folder for --preset {name}; give --config FILE")
    try:
        with open(path, "rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None

    presets = document.get("preset", {})
    if not isinstance(presets, dict) or name not in presets:
        known = ", ".join(sorted(presets)) if isinstance(presets, dict) and presets else "none"
        raise ConfigError(f"no preset {name!r} in {path}; presets there: {known}")
    preset = presets[name]
    if not isinstance(preset, dict):
        raise ConfigError(f"preset {name!r} in {path} must be a table of options")
    return preset
