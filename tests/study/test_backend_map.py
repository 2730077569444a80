"""The backends' generic map: results in item order whatever the finishing order, each result to
``on_result`` once, a function's own error propagates with its type, and one pool serves several maps
inside ``with backend:``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from soc_emu.study.backends import make_backend

ITEMS = [json.dumps({"i": i, "pad": "x" * (i % 3) * 1000}) for i in range(9)]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_map_keeps_item_order_and_reports_every_result(workers: int) -> None:
    backend = make_backend("local", workers=workers)
    seen: dict[int, Any] = {}
    with backend:
        first = backend.map(json.loads, ITEMS, on_result=seen.__setitem__)
        pool = backend._pool
        second = backend.map(json.loads, ITEMS[:3])
        assert backend._pool is pool  # the same workers served both maps
    assert [r["i"] for r in first] == list(range(9)) and [r["i"] for r in second] == [0, 1, 2]
    assert seen == dict(enumerate(first))
    assert backend._pool is None  # stopped when the block ended


@pytest.mark.parametrize("workers", [1, 2])
def test_local_map_raises_the_functions_own_error(workers: int) -> None:
    with pytest.raises(json.JSONDecodeError):
        make_backend("local", workers=workers).map(json.loads, [*ITEMS[:3], "not json", *ITEMS[3:]])


def test_ray_map_matches_local_and_raises_the_functions_own_error(ray_session: Any) -> None:
    backend = make_backend("ray", workers=2)
    seen: dict[int, Any] = {}
    assert backend.map(json.loads, ITEMS, on_result=seen.__setitem__) == make_backend("local", workers=2).map(json.loads, ITEMS)
    assert sorted(seen) == list(range(9))
    with pytest.raises(json.JSONDecodeError):
        backend.map(json.loads, ["[1]", "not json"])
    assert ray_session.is_initialized()  # the session's Ray was used and left running


def test_a_user_error_raised_in_a_ray_task_is_the_error_itself(ray_session: Any) -> None:
    from soc_emu.errors import SocEmuError
    from soc_emu.formats.loading import load_platform

    with pytest.raises(SocEmuError) as raised:
        make_backend("ray", workers=2).map(load_platform, ["hetero", "no_such_platform"])
    assert type(raised.value) is SocEmuError and "no_such_platform" in str(raised.value) and "\n" not in str(raised.value)
