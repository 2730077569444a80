"""Fixtures of the study tests: small specs (the session's in-process Ray is in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def _small_spec_data(**changes: Any) -> dict[str, Any]:
    """A 12-run study: 2 schedulers x 2 rates x 3 seeds, 20 jobs per run, with noise so seeds differ."""
    data: dict[str, Any] = {"name": "small", "schedulers": ["etf", "heft"], "rates": [20, 60], "seeds": [0, 1, 2],
                            "noise": [0.2], "jobs": 20}
    data.update(changes)
    return data


@pytest.fixture
def spec_data() -> Callable[..., dict[str, Any]]:
    """Builds the small study's spec data, with keys changed by keyword."""
    return _small_spec_data
