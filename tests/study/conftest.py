"""Fixtures of the study tests: small specs, and one in-process Ray (2 CPUs) shared by the whole session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Ray started once in this process with 2 CPUs (about 6 s), shut down after the last test."""
    ray = pytest.importorskip("ray")
    import logging

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


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
