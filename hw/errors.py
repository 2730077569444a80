"""The error type for hardware parameters a user can get wrong.

Generators in ``hw/`` raise :class:`HwError` for bad constructor parameters (a lane count that does not
divide a dimension, an unsupported element width, a budget too small, an unknown kernel). It is a
:class:`soc_emu.errors.SocEmuError`, so the CLI prints it as one line and exits with status 2.
"""

from __future__ import annotations

from soc_emu.errors import SocEmuError


class HwError(SocEmuError):
    """A bad hardware parameter. ``source`` names the parameter (``"ReLU: bits"``) or the CLI flag."""
