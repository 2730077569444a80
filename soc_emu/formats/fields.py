"""Typed, path-aware access to parsed TOML tables, so every bad value names its file and field.

A :class:`Fields` wraps one TOML table together with where it sits (``"hetero.toml: pe_group[2]"``).
Its getters check presence and type and raise one :class:`SocEmuError` whose source is the full field
path; :meth:`Fields.finish` rejects keys nobody asked for, with a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Mapping
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.limits import Range

_MISSING = object()


def _describe(value: object) -> str:
    """A value as a user wrote it, for "got ..." in messages."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


class Fields:
    """One TOML table being read; remembers which keys were consumed."""

    def __init__(self, table: Mapping[str, Any], file: str, path: str = "") -> None:
        self.table = table
        self.file = file
        self.path = path
        self._used: set[str] = set()

    # -- locations -----------------------------------------------------------------------------
    def where(self, key: str | None = None) -> str:
        """``file: path.key`` for error messages."""
        parts = ".".join(p for p in (self.path, key) if p)
        return f"{self.file}: {parts}" if parts else self.file

    def error(self, key: str | None, message: str) -> SocEmuError:
        """A :class:`SocEmuError` about ``key`` of this table."""
        return SocEmuError(message, source=self.where(key))

    # -- raw access -----------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.table

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._used.add(key)
        if key in self.table:
            return self.table[key]
        if default is _MISSING:
            raise self.error(key, "missing required field")
        return default

    # -- typed getters --------------------------------------------------------------------------
    def string(self, key: str, default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {_describe(value)}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_describe(value)}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float = 0.0, strict: bool = False,
               allow_inf: bool = False, limit: Range | None = None) -> float:
        """A number ``>= minimum`` (``> minimum`` when ``strict``), or within ``limit`` when given."""
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if limit is not None:
            return limit.check(value, self.where(key))
        return check_number(value, self.where(key), minimum=minimum, strict=strict, allow_inf=allow_inf)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int = 0, limit: Range | None = None) -> int:
        """An integer ``>= minimum``, or within ``limit`` when given."""
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if limit is not None:
            return int(limit.check(value, self.where(key)))
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {_describe(value)}")
        return value

    def sub(self, key: str, default: Any = _MISSING) -> Fields | None:
        """A nested table as :class:`Fields` (``None`` when absent and ``default`` is ``None``)."""
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {_describe(value)}")
        return Fields(value, self.file, ".".join(p for p in (self.path, key) if p))

    def tables(self, key: str, default: Any = _MISSING) -> list[Fields]:
        """An array of tables (``[[key]]`` or ``key = [{...}, ...]``)."""
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected an array of tables, got {_describe(value)}")
        out = []
        for i, item in enumerate(value):
            sub_path = f"{'.'.join(p for p in (self.path, key) if p)}[{i}]"
            if not isinstance(item, dict):
                raise SocEmuError(f"expected a table, got {_describe(item)}", source=f"{self.file}: {sub_path}")
            out.append(Fields(item, self.file, sub_path))
        return out

    def array(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self.raw(key, default)
        if key not in self.table:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {_describe(value)}")
        return value

    def items(self) -> Iterator[tuple[str, Any]]:
        """All entries (marks them used): for free-form tables such as execution-time tables."""
        self._used.update(self.table)
        return iter(self.table.items())

    # -- strictness -----------------------------------------------------------------------------
    def finish(self) -> None:
        """Reject keys that were never read (typos), suggesting the closest known key."""
        for key in self.table:
            if key not in self._used:
                close = difflib.get_close_matches(key, sorted(self._used), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(self._used))})"
                raise self.error(key, f"unknown key{hint}")


def check_number(value: object, where: str, *, minimum: float = 0.0, strict: bool = False,
                 allow_inf: bool = False) -> float:
    """Validate a number from a file: not a bool, finite unless ``allow_inf``, and above ``minimum``."""
    op = ">" if strict else ">="
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        try:
            v = float(value)  # type: ignore[arg-type]
        except OverflowError:  # an integer too large for a float
            v = math.nan
        ok = not math.isnan(v) and (allow_inf or math.isfinite(v)) and (v > minimum if strict else v >= minimum)
    if not ok:
        bound = f"{minimum:g}"
        shown = _describe(value)
        shown = shown if len(shown) <= 40 else f"{shown[:20]}... ({len(shown)} characters)"
        raise SocEmuError(f"expected a number {op} {bound}, got {shown}", source=where)
    return float(value)  # type: ignore[arg-type]
