"""Parsing of the comma-separated value lists several subcommands take (``--rates 10,25``, ``--seeds 1,2``)."""

from __future__ import annotations

from soc_emu.errors import SocEmuError


def number_list(text: str, kind: type[int] | type[float], flag: str, *, positive: bool = False) -> tuple:  # type: ignore[type-arg]
    """``"1,2.5"`` to a tuple of ``kind``; a :class:`SocEmuError` naming ``flag`` when a value is not a
    number, the list is empty, or (``positive``) a value is not > 0."""
    try:
        values = tuple(kind(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SocEmuError(f"expected comma-separated numbers, got {text!r}", source=flag) from None
    if not values:
        raise SocEmuError("needs at least one value", source=flag)
    if positive and any(not v > 0 for v in values):
        raise SocEmuError(f"values must be > 0, got {text!r}", source=flag)
    return values
