"""Records the engine emits while it runs, and the observer interface that consumes them.

The engine keeps no history: metrics, traces and checkers are observers that see each record once, so
a million-task run needs memory only for what the observers keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from soc_emu.model.platform import Platform


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One execution of a task on a PE slot (``completed`` is False when a PE failure killed it)."""

    job_id: int
    app: str
    task: int
    task_name: str
    kernel: str
    pe: int
    pe_name: str
    slot: int
    ready_us: float  #: when its last predecessor finished
    start_us: float  #: when it started occupying the slot (overheads included)
    finish_us: float  #: when it freed the slot
    overhead_us: float  #: launch + reconfiguration time inside [start, finish]
    completed: bool = True


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job that left the system: finished (``finish_us`` set) or dropped at admission."""

    job_id: int
    app: str
    arrival_us: float
    admitted_us: float  #: nan when dropped
    finish_us: float  #: nan when dropped
    deadline_us: float | None  #: absolute deadline
    num_tasks: int
    dropped: bool = False

    @property
    def latency_us(self) -> float:
        """Admission to last task finished."""
        return self.finish_us - self.admitted_us

    @property
    def admission_wait_us(self) -> float:
        """Arrival to admission (0 without a cap on jobs in the system)."""
        return self.admitted_us - self.arrival_us

    @property
    def missed_deadline(self) -> bool:
        """Whether the job finished after its absolute deadline."""
        return self.deadline_us is not None and self.finish_us > self.deadline_us


@dataclass(frozen=True, slots=True)
class PEEventRecord:
    """A PE going down or coming back."""

    pe: int
    pe_name: str
    time_us: float
    down: bool


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A data transfer between two PEs (only recorded in shared-bus mode, where transfers queue)."""

    job_id: int
    src_task: int
    dst_task: int
    src_pe: int
    dst_pe: int
    start_us: float
    finish_us: float
    volume: float


@dataclass(frozen=True, slots=True)
class PowerRecord:
    """A cluster's frequency, power or temperature changed (only on platforms with power data)."""

    time_us: float
    cluster: str
    mhz: float  #: current frequency (nan for a cluster without OPPs)
    power_w: float  #: cluster power from now on
    temperature_c: float  #: nan for a cluster without a thermal node
    throttled: bool  #: a thermal trip caps the frequency


class RunObserver(Protocol):
    """Consumes records as the engine produces them. All methods are optional in practice: the engine
    calls only those an observer defines (see :func:`soc_emu.engine.simulation.Simulation`)."""

    def on_start(self, platform: Platform, start_us: float) -> None: ...

    def on_task(self, record: TaskRecord) -> None: ...

    def on_job(self, record: JobRecord) -> None: ...

    def on_pe_event(self, record: PEEventRecord) -> None: ...

    def on_transfer(self, record: TransferRecord) -> None: ...

    def on_power(self, record: PowerRecord) -> None: ...

    def on_finish(self, end_us: float) -> None: ...
