"""Platform model: processing elements, their execution-time tables, and the interconnect.

Plain data only: nothing here knows about the engine. Times are microseconds, data volumes are in the
platform's volume unit (bytes for the built-in platforms, DS3's units for DS3 files) and bandwidths are
volume units per microsecond, so ``transfer time = latency + volume / bandwidth``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from soc_emu.errors import SocEmuError

if TYPE_CHECKING:
    from soc_emu.power.model import PowerSpec

#: PE categories the built-in platforms use. Files may use other strings; these are the documented ones.
PE_TYPES: tuple[str, ...] = (
    "cpu_big",
    "cpu_little",
    "cpu",
    "dsp",
    "gpu",
    "fpga",
    "acc_fft",
    "acc_viterbi",
    "acc_mm",
)


@dataclass(frozen=True, slots=True)
class ProcessingElement:
    """One processing element (a core, an accelerator instance, an FPGA fabric).

    Attributes
    ----------
    index:
        Position in :attr:`Platform.pes`; the engine and schedulers refer to PEs by this number.
    name:
        Unique name, e.g. ``"A15_0"``.
    pe_type:
        Category (see :data:`PE_TYPES`), used for features, grouping in plots and utilisation tables.
    cluster:
        Interconnect cluster the PE belongs to; links are defined between clusters.
    capacity:
        Parallel slots: how many tasks may run at once (FPGA: number of reconfigurable regions).
    exec_times_us:
        Nominal execution time per kernel (task type). A kernel the PE cannot run is absent.
    active_power_w, idle_power_w:
        Power per busy slot and per idle slot (watts); energy = power x time, so W x us = uJ.
    launch_overhead_us:
        Fixed cost added to every task start (GPU kernel launch).
    reconfig_time_us:
        FPGA: time to load a different kernel into a slot (region). 0 means no reconfiguration model.
    preloaded_kernels:
        FPGA: kernels configured in the first slots when the run starts (the boot image) and again after a
        repair; the remaining slots start empty, and an empty slot pays ``reconfig_time_us`` too.
    """

    index: int
    name: str
    pe_type: str
    cluster: str
    capacity: int
    exec_times_us: Mapping[str, float]
    active_power_w: float = 0.0
    idle_power_w: float = 0.0
    launch_overhead_us: float = 0.0
    reconfig_time_us: float = 0.0
    preloaded_kernels: tuple[str, ...] = ()

    def initial_kernels(self) -> list[str | None]:
        """Per slot, the kernel configured at start (``None``: empty)."""
        return [*self.preloaded_kernels, *([None] * (self.capacity - len(self.preloaded_kernels)))]

    def supports(self, kernel: str) -> bool:
        """Whether this PE can run ``kernel`` at all."""
        return kernel in self.exec_times_us

    def exec_time(self, kernel: str) -> float:
        """Nominal execution time of ``kernel`` (without launch or reconfiguration overhead)."""
        return self.exec_times_us[kernel]


def link_transfer_time(latency_us: float, bandwidth: float, volume: float) -> float:
    """The model of communication, in one place: microseconds to move ``volume > 0`` units over a link of
    ``latency_us`` and ``bandwidth`` (units per us). ``latency_us`` and ``bandwidth`` may be numpy arrays
    (one link per element), so vectorised estimates use the very same formula. Callers handle ``volume <= 0``
    (no data moves: 0 us)."""
    return latency_us + volume / bandwidth


@dataclass(frozen=True, slots=True)
class Link:
    """A point-to-point connection: ``time = latency_us + volume / bandwidth`` (0 for no data)."""

    bandwidth: float
    latency_us: float = 0.0

    def transfer_time(self, volume: float) -> float:
        """Microseconds to move ``volume`` units over this link (:func:`link_transfer_time`)."""
        if volume <= 0:
            return 0.0
        return link_transfer_time(self.latency_us, self.bandwidth, volume)


@dataclass(frozen=True)
class Interconnect:
    """Bandwidth and latency between clusters of PEs.

    Attributes
    ----------
    default:
        Link used between two clusters with no entry in ``cluster_links``.
    same_pe:
        Link used when producer and consumer run on the same PE (usually free or nearly so).
    cluster_links:
        Symmetric table keyed by ``(cluster_a, cluster_b)``; either order finds the entry. A pair with
        ``a == b`` defines transfers between different PEs of one cluster.
    shared_bus:
        When true, transfers between different PEs queue on one shared bus (contention mode).
    """

    default: Link
    same_pe: Link = Link(bandwidth=math.inf)
    cluster_links: Mapping[tuple[str, str], Link] = field(default_factory=dict)
    shared_bus: bool = False

    def link(self, src: ProcessingElement, dst: ProcessingElement) -> Link:
        """The link a transfer from ``src`` to ``dst`` uses."""
        if src.index == dst.index:
            return self.same_pe
        key = (src.cluster, dst.cluster)
        found = self.cluster_links.get(key) or self.cluster_links.get((dst.cluster, src.cluster))
        return found if found is not None else self.default


@dataclass(frozen=True)
class Platform:
    """A heterogeneous SoC: its PEs and the interconnect between them.

    ``transfer_time(i, j, volume)`` is the hot-path query; a PE x PE link table is built once.
    """

    name: str
    pes: tuple[ProcessingElement, ...]
    interconnect: Interconnect
    description: str = ""
    source: str = ""
    #: DVFS, power and thermal data (:mod:`soc_emu.power`); ``None``: fixed power, nominal times.
    power: PowerSpec | None = None
    _links: tuple[tuple[Link, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.source or self.name
        if not self.pes:
            raise SocEmuError("a platform needs at least one processing element", source=f"{where}: pes")
        names = set()
        for i, pe in enumerate(self.pes):
            if pe.index != i:
                raise SocEmuError(f"PE {pe.name!r} has index {pe.index}, expected {i}", source=where)
            if pe.name in names:
                raise SocEmuError(f"duplicate PE name {pe.name!r}", source=f"{where}: pes")
            names.add(pe.name)
            if pe.capacity < 1:
                raise SocEmuError(f"capacity must be >= 1, got {pe.capacity}", source=f"{where}: {pe.name}.capacity")
            if len(pe.preloaded_kernels) > pe.capacity:
                raise SocEmuError(f"{len(pe.preloaded_kernels)} preloaded kernels for {pe.capacity} slots",
                                  source=f"{where}: {pe.name}.preloaded_kernels")
            for kernel in pe.preloaded_kernels:
                if kernel not in pe.exec_times_us:
                    raise SocEmuError(f"preloaded kernel {kernel!r} is not one this PE runs",
                                      source=f"{where}: {pe.name}.preloaded_kernels")
            for kernel, t in pe.exec_times_us.items():
                if not (t >= 0 and math.isfinite(t)):
                    raise SocEmuError(
                        f"execution time must be a finite number >= 0, got {t!r}",
                        source=f"{where}: {pe.name}.exec_times_us.{kernel}",
                    )
        links = tuple(tuple(self.interconnect.link(a, b) for b in self.pes) for a in self.pes)
        for row in links:
            for link in row:
                if not link.bandwidth > 0 or link.latency_us < 0:
                    raise SocEmuError(
                        f"links need bandwidth > 0 and latency >= 0, got {link}", source=f"{where}: interconnect"
                    )
        object.__setattr__(self, "_links", links)
        if self.power is not None:
            self.power.check_platform(self.pes, where)

    def transfer_time(self, src_pe: int, dst_pe: int, volume: float) -> float:
        """Microseconds to move ``volume`` from PE ``src_pe`` to PE ``dst_pe`` on an idle interconnect."""
        return self._links[src_pe][dst_pe].transfer_time(volume)

    def link(self, src_pe: int, dst_pe: int) -> Link:
        """The link between two PEs (by index)."""
        return self._links[src_pe][dst_pe]

    def links_between_pes(self) -> list[Link]:
        """The link of every ordered pair of different PEs (row by row): what platform-average
        communication costs average over."""
        n = len(self.pes)
        return [self._links[i][j] for i in range(n) for j in range(n) if i != j]

    def mean_transfer_terms(self) -> tuple[float, float]:
        """The exact mean of :meth:`transfer_time` over ordered pairs of different PEs, as ``(latency us,
        us per volume unit)``: a volume ``v > 0`` takes ``latency + v * per_unit`` on average.

        This is the true mean transfer time (the mean of ``1 / bandwidth``), which workload generators use
        to hit a communication-to-computation ratio. HEFT's ``c_bar`` (``MeanCosts.mean_comm``) instead
        divides by the mean bandwidth, as Topcuoglu et al. define it; the two agree when every link between
        different PEs has the same bandwidth. A platform of one PE gives ``(0, 1)``. (Two terms suffice because
        :func:`link_transfer_time` is affine in the volume.)
        """
        pairs = self.links_between_pes()
        if not pairs:
            return 0.0, 1.0
        return (sum(link.latency_us for link in pairs) / len(pairs),
                sum(1.0 / link.bandwidth for link in pairs) / len(pairs))

    def pe_by_name(self, name: str) -> ProcessingElement:
        """Look a PE up by name; a :class:`SocEmuError` names the platform when it is absent."""
        for pe in self.pes:
            if pe.name == name:
                return pe
        raise SocEmuError(f"no PE named {name!r}", source=self.source or self.name)

    def pes_supporting(self, kernel: str) -> tuple[int, ...]:
        """Indices of the PEs that can run ``kernel``."""
        return tuple(pe.index for pe in self.pes if pe.supports(kernel))

    @property
    def kernels(self) -> frozenset[str]:
        """Every kernel some PE of this platform can run."""
        return frozenset(k for pe in self.pes for k in pe.exec_times_us)

    @property
    def total_slots(self) -> int:
        """Sum of all PE capacities."""
        return sum(pe.capacity for pe in self.pes)
