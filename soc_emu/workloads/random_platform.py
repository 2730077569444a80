"""Random variations of a platform, for training and testing schedulers across many SoCs.

:func:`random_platform` draws a new platform from a *base* one with the caller's own
``numpy.random.Generator`` (one generator, so one seed names one platform):

* **PE types:** each group of PEs (same cluster and type) is dropped with probability
  ``drop_probability``, but only while every kernel it runs is still run by another remaining group, so a
  workload that fits the base platform fits the result;
* **PE counts:** each kept group gets ``round(count x U(count_low, count_high))`` PEs (at least 1);
* **speeds:** each group's execution times are multiplied by one log-uniform factor in
  ``[1 / speed_spread, speed_spread]``; launch overheads (GPUs) and reconfiguration times (FPGAs) by their
  own factors (``overhead_spread``);
* **interconnect:** every link's bandwidth is multiplied by one platform-wide log-uniform factor in
  ``[1 / bandwidth_spread, bandwidth_spread]`` times a per-link one in ``[1 / link_spread, link_spread]``,
  latencies by a factor in ``[1 / latency_spread, latency_spread]``; the bus becomes shared (contention)
  with probability ``shared_bus_probability``.

Capacities, preloaded FPGA kernels and per-slot powers are kept. A DVFS power model (``Platform.power``)
describes the base platform's PEs only, so the result has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Interconnect, Link, Platform, ProcessingElement

__all__ = ["RandomPlatformSpec", "random_platform", "seeded_variation"]


@dataclass(frozen=True, kw_only=True)
class RandomPlatformSpec:
    """How far a :func:`random_platform` may stray from its base (see the module docstring)."""

    drop_probability: float = 0.15
    count_low: float = 0.5
    count_high: float = 1.5
    speed_spread: float = 2.0
    overhead_spread: float = 2.0
    bandwidth_spread: float = 4.0
    link_spread: float = 1.5
    latency_spread: float = 2.0
    shared_bus_probability: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("drop_probability", 0 <= self.drop_probability <= 1, "a probability in [0, 1]"),
            ("shared_bus_probability", 0 <= self.shared_bus_probability <= 1, "a probability in [0, 1]"),
            ("count_low", 0 < self.count_low <= self.count_high <= 16, "0 < count_low <= count_high <= 16"),
            *((name, 1 <= getattr(self, name) <= 1e3, "a factor in [1, 1000]")
              for name in ("speed_spread", "overhead_spread", "bandwidth_spread", "link_spread", "latency_spread")),
        )
        for name, ok, what in checks:
            if not ok:
                raise SocEmuError(f"must be {what}", source=f"random platform: {name}")


def _factor(rng: np.random.Generator, spread: float) -> float:
    """A log-uniform factor in ``[1 / spread, spread]``."""
    return float(math.exp(rng.uniform(-math.log(spread), math.log(spread))))


def _groups(base: Platform) -> list[list[ProcessingElement]]:
    """The base platform's PEs grouped by (cluster, type), in order of first appearance."""
    groups: dict[tuple[str, str], list[ProcessingElement]] = {}
    for pe in base.pes:
        groups.setdefault((pe.cluster, pe.pe_type), []).append(pe)
    return list(groups.values())


def _kept_groups(groups: list[list[ProcessingElement]], rng: np.random.Generator, p: float) -> list[list[ProcessingElement]]:
    """The groups that survive dropping (a group goes only if the others still run all its kernels)."""
    kept = list(groups)
    for group in groups:
        if rng.random() >= p:
            continue
        others = [g for g in kept if g is not group]
        covered = {k for g in others for pe in g for k in pe.exec_times_us}
        if others and all(k in covered for pe in group for k in pe.exec_times_us):
            kept = others
    return kept


def random_platform(base: Platform, rng: np.random.Generator, spec: RandomPlatformSpec | None = None) -> Platform:
    """A random variation of ``base`` drawn with ``rng`` (see the module docstring)."""
    spec = spec or RandomPlatformSpec()
    groups = _kept_groups(_groups(base), rng, spec.drop_probability)
    clusters_with_types: dict[str, set[str]] = {}
    for group in groups:
        clusters_with_types.setdefault(group[0].cluster, set()).add(group[0].pe_type)
    pes: list[ProcessingElement] = []
    for group in groups:
        count = max(1, round(len(group) * rng.uniform(spec.count_low, spec.count_high)))
        speed = _factor(rng, spec.speed_spread)
        launch = _factor(rng, spec.overhead_spread)
        reconfig = _factor(rng, spec.overhead_spread)
        cluster, pe_type = group[0].cluster, group[0].pe_type
        stem = cluster if len(clusters_with_types[cluster]) == 1 else f"{cluster}_{pe_type}"
        for k in range(count):
            template = group[k % len(group)]
            pes.append(ProcessingElement(
                index=len(pes), name=f"{stem}_{k}", pe_type=pe_type, cluster=cluster, capacity=template.capacity,
                exec_times_us={kernel: t * speed for kernel, t in template.exec_times_us.items()},
                active_power_w=template.active_power_w, idle_power_w=template.idle_power_w,
                launch_overhead_us=template.launch_overhead_us * launch,
                reconfig_time_us=template.reconfig_time_us * reconfig,
                preloaded_kernels=template.preloaded_kernels,
            ))
    bandwidth = _factor(rng, spec.bandwidth_spread)
    latency = _factor(rng, spec.latency_spread)
    base_net = base.interconnect

    def scaled(link: Link) -> Link:
        return Link(bandwidth=link.bandwidth * bandwidth * _factor(rng, spec.link_spread), latency_us=link.latency_us * latency)

    interconnect = Interconnect(
        default=scaled(base_net.default),
        same_pe=base_net.same_pe,
        cluster_links={pair: scaled(link) for pair, link in base_net.cluster_links.items()},
        shared_bus=base_net.shared_bus or bool(rng.random() < spec.shared_bus_probability),
    )
    return Platform(name=f"{base.name}~random", pes=tuple(pes), interconnect=interconnect,
                    description=f"random variation of {base.name}: {len(pes)} PEs",
                    source=f"random platform from {base.source or base.name}")


def seeded_variation(base: str | Platform, seed: int, spec: RandomPlatformSpec | None = None) -> Platform:
    """The variation of ``base`` (a platform, built-in name or file) that ``seed`` names: one per seed, e.g. one
    per training episode, drawn with its own generator."""
    if isinstance(base, str):
        from soc_emu.formats import load_platform

        base = load_platform(base)
    return random_platform(base, np.random.default_rng([seed, 29]), spec)
