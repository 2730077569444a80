"""Checked command-line values: numbers within documented ranges, names and paths that are not empty,
output locations that can be written, and the comma-separated lists several subcommands take
(``--rates 10,25``, ``--seeds 1,2``).

The ``*_arg`` factories return argparse ``type=`` callables: a bad value becomes argparse's one-line
``argument --flag: ...`` error (exit status 2) before any work starts. :func:`check_ranges` does the same
for flags that are parsed plainly and checked afterwards (one table per command). The ranges themselves
live in :mod:`soc_emu.limits`.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from soc_emu.errors import SocEmuError
from soc_emu.limits import WORKERS, Range

if TYPE_CHECKING:
    from soc_emu.study.backends import Backend


def number_list(text: str, kind: type[int] | type[float], flag: str, *, positive: bool = False,
                limit: Range | None = None) -> tuple:  # type: ignore[type-arg]
    """``"1,2.5"`` to a tuple of ``kind``; a :class:`SocEmuError` naming ``flag`` when a value is not a
    number, the list is empty, (``positive``) a value is not > 0, or a value lies outside ``limit``."""
    try:
        values = tuple(kind(x) for x in text.split(",") if x.strip())
    except (ValueError, OverflowError):
        raise SocEmuError(f"expected comma-separated numbers, got {text!r}", source=flag) from None
    if not values:
        raise SocEmuError("needs at least one value", source=flag)
    if kind is float and any(not math.isfinite(v) for v in values):
        raise SocEmuError(f"values must be finite numbers, got {text!r}", source=flag)
    if positive and any(not v > 0 for v in values):
        raise SocEmuError(f"values must be > 0, got {text!r}", source=flag)
    if limit is not None:
        for value in values:
            limit.check(value, flag)
    return values


def name_list(text: str, flag: str) -> tuple[str, ...]:
    """``"a, b,"`` to ``("a", "b")``; a :class:`SocEmuError` naming ``flag`` when the list is empty."""
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    if not names:
        raise SocEmuError("needs at least one name", source=flag)
    return names


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """``--backend``, ``--workers`` and ``--address``: where the runs of a study execute."""
    group = p.add_argument_group("where the runs execute")
    group.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine (default); ray: Ray tasks")
    group.add_argument("--workers", type=ranged_arg(WORKERS), default=None, metavar="N",
                       help="parallel workers (default: one per core; with ray and --address: the cluster's CPUs)")
    group.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                       help="join this Ray cluster (with --backend ray; default: start Ray in this process)")


def backend_from_args(args: argparse.Namespace) -> Backend:
    """The study backend the parsed ``--backend``, ``--workers`` and ``--address`` describe."""
    from soc_emu.study.backends import make_backend

    return make_backend(args.backend, workers=args.workers, address=args.address)


def _as_type(name: str, parse: Callable[[str], object]) -> Callable[[str], object]:
    """Wrap ``parse`` so a :class:`SocEmuError` becomes argparse's error for the flag being parsed."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except SocEmuError as exc:
            raise argparse.ArgumentTypeError(exc.detail) from None

    convert.__name__ = name  # argparse shows it in "invalid <name> value"
    return convert


def ranged_arg(limit: Range) -> Callable[[str], object]:
    """A ``type=`` accepting a number (an integer for integer ranges) within ``limit``."""
    return _as_type("integer" if limit.integer else "number", lambda text: limit.parse(text, ""))


def nonempty_arg(what: str) -> Callable[[str], object]:
    """A ``type=`` for names and input paths: an empty value never silently means the default."""

    def parse(text: str) -> str:
        if not text.strip():
            raise SocEmuError(f"expected {what}, got an empty string")
        return text

    return _as_type(what, parse)


def output_dir_arg(text: str) -> str:
    """``type=`` of an output directory: not empty, and not an existing non-directory. Whether it can be
    created and written is checked by :func:`soc_emu.output.files.prepare_output_dir` before the work
    starts."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory, got an empty string")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    return text


def output_file_arg(text: str) -> str:
    """``type=`` of an output file: not empty, not a directory, in an existing writable directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty string")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, expected a file")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a regular file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"directory {parent} is not writable")
    return text


def check_ranges(args: argparse.Namespace, ranges: Mapping[str, Range]) -> None:
    """Check the parsed flags named by ``ranges`` (argparse ``dest`` names; ``None`` values and list values
    element by element); the first value outside its range is a :class:`SocEmuError` naming the flag."""
    for dest, limit in ranges.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        for item in value if isinstance(value, (list, tuple)) else (value,):
            limit.check(item, flag)
