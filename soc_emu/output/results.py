"""Writing result documents (``metrics.json``, ``config.json``) as strict JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from soc_emu.output.files import atomic_write_text


def json_safe(value: Any) -> Any:
    """``value`` with nan / inf floats replaced by ``None`` (strict JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | Path, document: dict[str, Any]) -> Path:
    """Write ``document`` as indented strict JSON to ``path``, atomically; return the path."""
    return atomic_write_text(path, json.dumps(json_safe(document), indent=2, allow_nan=False) + "\n")
