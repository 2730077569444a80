"""The ``soc-emu`` command: a thin dispatcher over subcommand modules.

Each subcommand lives in ``soc_emu/cli/<name>_cmd.py`` and defines ``add_parser(subparsers)`` (cheap: no
heavy imports at module level) and ``run(args) -> int``. :func:`main` registers the modules of
:data:`SUBCOMMANDS` that exist, so a subcommand appears as soon as its module does.

Errors a user can cause (:class:`SocEmuError`, bad flags) print one line ``soc-emu: error: ...`` on
stderr and exit with status 2; anything else is a bug and stays a traceback. Ctrl-C (and SIGTERM where a
command turns it into an exception) print one line ``soc-emu: interrupted ...`` and exit with 130 (143).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import NoReturn

from soc_emu.errors import SocEmuError
from soc_emu.interrupts import RunInterrupted, exit_status, signal_name

#: Subcommands in the order ``--help`` lists them; modules that do not exist are skipped.
SUBCOMMANDS: tuple[str, ...] = ("run", "list", "sweep", "compare", "study", "bound", "train", "hw")

PROG = "soc-emu"
USAGE_ERROR = 2


class UsageError(Exception):
    """A command-line error found by argparse (unknown flag, bad value, missing argument)."""


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` instead of printing usage and exiting,
    so :func:`main` can report them as one line and tests can call ``main([...])``."""

    def error(self, message: str) -> NoReturn:
        # "argument --rate: ..." -> "--rate: ...", the form every other error has ("<flag>: <what>").
        if message.startswith("argument ") and ": " in message:
            message = message[len("argument "):]
        raise UsageError(message)


def available_subcommands() -> list[str]:
    """The subcommands whose module exists."""
    return [name for name in SUBCOMMANDS if importlib.util.find_spec(f"soc_emu.cli.{name}_cmd") is not None]


def build_parser(only: str | None = None) -> tuple[CliParser, dict[str, object]]:
    """The top-level parser with the available subcommands registered (just ``only`` when given, so
    running one command never imports another's module), and the modules by name."""
    import soc_emu

    parser = CliParser(
        prog=PROG,
        description="Emulate heterogeneous SoCs running DAG jobs under different schedulers.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {soc_emu.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    modules: dict[str, object] = {}
    for name in available_subcommands():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"soc_emu.cli.{name}_cmd")
        module.add_parser(sub)
        modules[name] = module
    return parser, modules


def report_error(message: str) -> int:
    """Print ``soc-emu: error: message`` (one line) on stderr; return the usage-error exit status."""
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return USAGE_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``soc-emu`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in available_subcommands() else None
    parser, modules = build_parser(only=command)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return report_error(str(exc))
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    command = getattr(args, "command", None)
    if command is None:
        parser.print_help()
        return 0
    args.argv = argv  # recorded in run configurations
    handler = getattr(args, "handler", None) or modules[command].run
    try:
        return int(handler(args) or 0)
    except SocEmuError as exc:
        return report_error(str(exc))
    except BrokenPipeError:  # e.g. `soc-emu list | head`
        return 0
    except RunInterrupted as exc:  # partial results were written; the message says where
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt as exc:
        print(f"{PROG}: interrupted by {signal_name(exc)}", file=sys.stderr)
        return exit_status(exc)
