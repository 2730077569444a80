"""Run options of one simulation: seed, stop condition, execution noise, PE failures, bus contention.

These are the knobs that change *how a run unfolds*, as opposed to the platform and the workload, which
say *what* is simulated. Invalid values are user errors (they usually come from CLI flags), so they raise
:class:`~soc_emu.errors.SocEmuError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

from typing import TYPE_CHECKING

from soc_emu import limits

if TYPE_CHECKING:
    from soc_emu.power.governors import GovernorSpec


def _python_int(value: object) -> object:
    """numpy integers as Python ints (booleans and everything else unchanged, for the range check)."""
    return int(value) if isinstance(value, Integral) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class FailureModel:
    """Random PE failures: each eligible PE alternates up and down periods.

    Attributes
    ----------
    mtbf_us:
        Mean up time of one PE (exponentially distributed) before it fails.
    repair_us:
        Mean down time (exponentially distributed) before the PE is repaired.
    pe_types:
        PE types that can fail; ``None``: every PE.
    """

    mtbf_us: float
    repair_us: float
    pe_types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        limits.FAILURE_TIME_US.check(self.mtbf_us, "failures.mtbf_us")
        limits.FAILURE_TIME_US.check(self.repair_us, "failures.repair_us")


@dataclass(frozen=True)
class RunOptions:
    """How one run is executed.

    Attributes
    ----------
    seed:
        Seeds the run's root :class:`numpy.random.Generator`; the same seed gives the same records.
    num_jobs:
        Jobs to generate; the run ends when all of them have left the system (finished or dropped).
    duration_us:
        End the run at this time (the runner reports the jobs still in the system then, with their ages:
        ``jobs_unfinished``). With ``num_jobs`` as well, the run ends at whichever comes first.
    noise_rsd:
        Relative standard deviation of execution times (0: deterministic). See
        :class:`soc_emu.engine.noise.ExecutionNoise` for the truncation.
    failures:
        Random PE failures, or ``None``.
    shared_bus:
        Override the platform's ``interconnect.shared_bus`` (``None``: use the platform's setting).
    governor:
        DVFS governor for every cluster, ``NAME`` or ``userspace:MHZ`` (see :mod:`soc_emu.power.governors`);
        ``None``: each cluster's own from the platform file. Needs a platform with power data.
    """

    seed: int = 0
    num_jobs: int | None = 200
    duration_us: float | None = None
    noise_rsd: float = 0.0
    failures: FailureModel | None = None
    shared_bus: bool | None = None
    governor: str | None = None

    def __post_init__(self) -> None:
        # The documented ranges (soc_emu.limits), whichever front end built the options.
        if self.num_jobs is not None:
            limits.JOBS.check(_python_int(self.num_jobs), "num_jobs")
        if self.duration_us is not None:
            limits.POSITIVE_TIME_US.check(self.duration_us, "duration_us")
        limits.NOISE_RSD.check(self.noise_rsd, "noise_rsd")
        limits.SEED.check(_python_int(self.seed), "seed")
        self.governor_spec()

    def governor_spec(self) -> GovernorSpec | None:
        """The parsed ``governor`` (validated: an unknown name raises :class:`SocEmuError`)."""
        if self.governor is None:
            return None
        from soc_emu.power.governors import GovernorSpec

        return GovernorSpec.parse(self.governor, source="governor")
