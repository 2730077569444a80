"""Workloads: which applications arrive, how often, and how many may be in the system at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from soc_emu.errors import SocEmuError
from soc_emu.model.taskgraph import TaskGraph

ArrivalKind = Literal["poisson", "fixed", "trace"]


@dataclass(frozen=True)
class ArrivalProcess:
    """When jobs arrive.

    Attributes
    ----------
    kind:
        ``"poisson"`` (exponential gaps with mean ``mean_interarrival_us``), ``"fixed"`` (constant gap
        ``mean_interarrival_us``) or ``"trace"`` (the absolute times in ``trace_us``).
    mean_interarrival_us:
        Mean gap between arrivals; the rate in jobs/ms is ``1000 / mean_interarrival_us``.
    trace_us:
        For ``"trace"``: non-decreasing arrival times.
    trace_apps:
        For ``"trace"``, optionally the application name of each arrival (else drawn from the mix).
    """

    kind: ArrivalKind = "poisson"
    mean_interarrival_us: float = 100.0
    trace_us: tuple[float, ...] = ()
    trace_apps: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("poisson", "fixed", "trace"):
            raise SocEmuError(f"unknown arrival kind {self.kind!r} (poisson, fixed, trace)", source="arrivals.kind")
        if self.kind == "trace":
            if not self.trace_us:
                raise SocEmuError("a trace arrival process needs at least one arrival time", source="arrivals.trace")
            if any(b < a for a, b in zip(self.trace_us, self.trace_us[1:])) or self.trace_us[0] < 0:
                raise SocEmuError("trace arrival times must be >= 0 and non-decreasing", source="arrivals.trace")
            if self.trace_apps is not None and len(self.trace_apps) != len(self.trace_us):
                raise SocEmuError("trace apps and times differ in length", source="arrivals.trace")
        elif not self.mean_interarrival_us > 0:
            raise SocEmuError(
                f"mean inter-arrival time must be > 0 us, got {self.mean_interarrival_us}",
                source="arrivals.mean_interarrival_us",
            )

    @property
    def rate_jobs_per_ms(self) -> float:
        """Mean arrival rate in jobs per millisecond (trace: over the trace's span)."""
        if self.kind == "trace":
            span = self.trace_us[-1] - self.trace_us[0]
            return 1000.0 * (len(self.trace_us) - 1) / span if span > 0 else float("inf")
        return 1000.0 / self.mean_interarrival_us


@dataclass(frozen=True)
class JobMix:
    """Applications and the probability that an arriving job is each one."""

    graphs: tuple[TaskGraph, ...]
    probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.graphs:
            raise SocEmuError("a job mix needs at least one application", source="mix")
        if len(self.graphs) != len(self.probabilities):
            raise SocEmuError("mix: one probability per application is needed", source="mix.probabilities")
        if any(not p >= 0 for p in self.probabilities) or not sum(self.probabilities) > 0:
            raise SocEmuError("mix probabilities must be >= 0 and not all zero", source="mix.probabilities")
        names = [g.name for g in self.graphs]
        if len(set(names)) != len(names):
            raise SocEmuError(f"mix names an application twice: {names}", source="mix")

    @property
    def normalised(self) -> tuple[float, ...]:
        """Probabilities scaled to sum to 1."""
        total = sum(self.probabilities)
        return tuple(p / total for p in self.probabilities)

    def graph(self, name: str) -> TaskGraph:
        """The application called ``name``."""
        for g in self.graphs:
            if g.name == name:
                return g
        raise SocEmuError(f"application {name!r} is not in the mix ({[g.name for g in self.graphs]})", source="mix")


@dataclass(frozen=True)
class Workload:
    """A stream of jobs: the mix, the arrivals, and admission control.

    Attributes
    ----------
    max_jobs_in_system:
        DS3's ``max_jobs_in_parallel``: at most this many admitted, unfinished jobs. ``None``: no cap.
    drop_when_full:
        When the cap is reached, drop arriving jobs (DS3) instead of queueing them for admission.
    """

    name: str
    mix: JobMix
    arrivals: ArrivalProcess = field(default_factory=ArrivalProcess)
    max_jobs_in_system: int | None = None
    drop_when_full: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if self.max_jobs_in_system is not None and self.max_jobs_in_system < 1:
            raise SocEmuError(
                f"max jobs in system must be >= 1, got {self.max_jobs_in_system}", source="max_jobs_in_system"
            )
