"""Validation of block constructor parameters.

Every check raises :class:`hw.errors.HwError` whose ``source`` is ``"<Block>: <parameter>"``, so a user
sees which parameter of which block is wrong (``ReLU: bits: must be one of 8, 16, not 12``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from hw.errors import HwError

#: Element widths the stream blocks accept.
ELEMENT_BITS = (8, 16)


def check_int(owner: str, name: str, value: object, *, minimum: int | None = None,
              maximum: int | None = None, choices: Iterable[int] | None = None) -> int:
    """Return ``value`` if it is an ``int`` within the given bounds or choices, else raise ``HwError``."""
    source = f"{owner}: {name}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise HwError(f"must be an integer, not {value!r}", source=source)
    if choices is not None:
        allowed = tuple(choices)
        if value not in allowed:
            raise HwError(f"must be one of {', '.join(map(str, allowed))}, not {value}", source=source)
    if minimum is not None and value < minimum:
        raise HwError(f"must be at least {minimum}, not {value}", source=source)
    if maximum is not None and value > maximum:
        raise HwError(f"must be at most {maximum}, not {value}", source=source)
    return value


def check_bits(owner: str, bits: object) -> int:
    """Element width of a vector stream: 8 or 16."""
    return check_int(owner, "bits", bits, choices=ELEMENT_BITS)


def check_width(owner: str, width: object) -> int:
    """Number of elements per stream beat: at least 1."""
    return check_int(owner, "width", width, minimum=1)


def check_multiple(owner: str, name: str, value: int, of_name: str, of_value: int) -> None:
    """Raise ``HwError`` unless ``value`` is a multiple of ``of_value``."""
    if value % of_value:
        raise HwError(f"must be a multiple of {of_name} ({of_value}), not {value}",
                      source=f"{owner}: {name}")


def validated(init: Callable[..., None]) -> Callable[..., None]:
    """Decorator for component constructors: a component whose parameters were rejected (``HwError``)
    is marked so that Amaranth does not also warn that it was "created but never used"."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs) -> None:
        try:
            init(self, *args, **kwargs)
        except HwError:
            self._MustUse__silence = True
            raise
    return wrapper
