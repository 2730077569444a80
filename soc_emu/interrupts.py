"""Clean interrupts: Ctrl-C (SIGINT) and SIGTERM end a run with one line and the shell's exit status.

Python turns SIGINT into :class:`KeyboardInterrupt`; :func:`terminate_raises` makes SIGTERM raise
:class:`Terminated` (a ``KeyboardInterrupt``) the same way, so one ``except KeyboardInterrupt`` handles
both. While partial results are being finished, :func:`signals_deferred` holds further signals back so
the files being closed are never cut short. :class:`RunInterrupted` carries the one-line report and the
exit status (128 + signal number: 130 for SIGINT, 143 for SIGTERM) up to the CLI.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception (see :func:`terminate_raises`)."""


class RunInterrupted(Exception):
    """A run stopped by a signal after writing what it had; ``str()`` is the one-line report."""

    def __init__(self, message: str, *, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def signal_name(exc: BaseException) -> str:
    """``"SIGTERM"`` for :class:`Terminated`, else ``"SIGINT"``."""
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"


def exit_status(exc: BaseException) -> int:
    """The conventional exit status after the signal behind ``exc``: 128 + its number."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are ignored (closing partial outputs takes milliseconds)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
