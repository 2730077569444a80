"""Fixtures shared by every test folder: one in-process Ray (2 CPUs, loopback only) for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Ray started once in this process with 2 CPUs (about 6 s), shut down after the last test. The study
    and the training backends find it initialised and use it (and leave it running)."""
    ray = pytest.importorskip("ray")
    import logging

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()
