"""Random platform variations (soc_emu.workloads.random_platform): one seed names one platform, every
kernel of the base stays runnable, the drawn sizes stay in the spec's ranges, and a run on one works."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soc_emu.engine.simulation import RunOptions, simulate
from soc_emu.errors import SocEmuError
from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario
from soc_emu.schedulers import make_scheduler
from soc_emu.workloads.random_platform import RandomPlatformSpec, random_platform


def _describe(platform):  # type: ignore[no-untyped-def]
    return [(pe.name, pe.pe_type, pe.capacity, dict(pe.exec_times_us), pe.launch_overhead_us, pe.reconfig_time_us)
            for pe in platform.pes], platform.interconnect


def test_one_seed_names_one_platform_and_seeds_differ() -> None:
    base, _ = resolve_scenario("hetero", "ds3_mix")
    first = random_platform(base, np.random.default_rng(7))
    assert _describe(first) == _describe(random_platform(base, np.random.default_rng(7)))
    assert _describe(first) != _describe(random_platform(base, np.random.default_rng(8)))


@pytest.mark.parametrize("seed", range(6))
def test_groups_stay_in_range_and_every_kernel_still_runs(seed: int) -> None:
    base, _ = resolve_scenario("hetero", "ds3_mix")
    spec = RandomPlatformSpec(drop_probability=0.5, speed_spread=2.0, overhead_spread=3.0)
    drawn = random_platform(base, np.random.default_rng(seed), spec)
    kernels = {k for pe in base.pes for k in pe.exec_times_us}
    assert kernels == {k for pe in drawn.pes for k in pe.exec_times_us}
    base_groups = {(pe.cluster, pe.pe_type): pe for pe in base.pes}
    for (cluster, pe_type), template in base_groups.items():
        members = [pe for pe in drawn.pes if (pe.cluster, pe.pe_type) == (cluster, pe_type)]
        count = sum(1 for pe in base.pes if (pe.cluster, pe.pe_type) == (cluster, pe_type))
        if not members:
            continue  # dropped
        assert max(1, math.floor(0.5 * count)) <= len(members) <= math.ceil(1.5 * count)
        speed = {members[0].exec_times_us[k] / t for k, t in template.exec_times_us.items() if t > 0}
        assert all(1 / 2 - 1e-9 <= f <= 2 + 1e-9 for f in speed) and max(speed) - min(speed) < 1e-9  # one factor
        assert (members[0].launch_overhead_us > 0) == (template.launch_overhead_us > 0)
        assert members[0].capacity == template.capacity and members[0].preloaded_kernels == template.preloaded_kernels


def test_a_run_on_a_random_platform_finishes_every_job() -> None:
    base, workload = resolve_scenario("hetero", "ds3_mix")
    drawn = random_platform(base, np.random.default_rng(3))
    platform, workload = resolve_scenario(drawn, apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=20.0)))
    finished = []

    class Jobs:
        def on_job(self, record) -> None:  # type: ignore[no-untyped-def]
            finished.append(record)

    simulate(platform, workload, make_scheduler("srpt_eft"), RunOptions(seed=1, num_jobs=30), observers=[Jobs()])
    assert len(finished) == 30 and not any(r.dropped for r in finished)


def test_bad_spec_is_a_user_error() -> None:
    with pytest.raises(SocEmuError, match="count_low"):
        RandomPlatformSpec(count_low=2.0, count_high=1.0)
    with pytest.raises(SocEmuError, match="drop_probability"):
        RandomPlatformSpec(drop_probability=1.5)
