"""Run options of one simulation: seed, stop condition, execution noise, PE failures, bus contention.

These are the knobs that change *how a run unfolds*, as opposed to the platform and the workload, which
say *what* is simulated. Invalid values are user errors (they usually come from CLI flags), so they raise
:class:`~soc_emu.errors.SocEmuError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

from typing import TYPE_CHECKING

from soc_emu.errors import SocEmuError

if TYPE_CHECKING:
    from soc_emu.power.governors import GovernorSpec


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
        if not (self.mtbf_us > 0 and math.isfinite(self.mtbf_us)):
            raise SocEmuError(f"mean time between failures must be a finite number > 0, got {self.mtbf_us}", source="failures.mtbf_us")
        if not (self.repair_us > 0 and math.isfinite(self.repair_us)):
            raise SocEmuError(f"mean repair time must be a finite number > 0, got {self.repair_us}", source="failures.repair_us")


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
        End the run at this time (jobs still in the system are not reported). With ``num_jobs`` as well,
        the run ends at whichever comes first.
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
        if self.num_jobs is not None and not (isinstance(self.num_jobs, Integral) and self.num_jobs >= 1):
            raise SocEmuError(f"number of jobs must be an integer >= 1, got {self.num_jobs!r}", source="num_jobs")
        if self.duration_us is not None and not (self.duration_us > 0 and math.isfinite(self.duration_us)):
            raise SocEmuError(f"duration must be a finite number > 0 us, got {self.duration_us!r}", source="duration_us")
        if not (self.noise_rsd >= 0 and math.isfinite(self.noise_rsd)):
            raise SocEmuError(f"noise relative std-dev must be a finite number >= 0, got {self.noise_rsd!r}", source="noise_rsd")
        if not isinstance(self.seed, Integral) or isinstance(self.seed, bool) or self.seed < 0:
            raise SocEmuError(f"seed must be an integer >= 0, got {self.seed!r}", source="seed")
        self.governor_spec()

    def governor_spec(self) -> GovernorSpec | None:
        """The parsed ``governor`` (validated: an unknown name raises :class:`SocEmuError`)."""
        if self.governor is None:
            return None
        from soc_emu.power.governors import GovernorSpec

        return GovernorSpec.parse(self.governor, source="governor")
