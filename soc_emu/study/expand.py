"""Expansion of a study spec into runs: one :class:`RunSpec` per combination of axis values and seed.

A :class:`RunSpec` is a plain, picklable description of one run (strings and numbers only), so any
backend can ship it to any worker. Its :attr:`RunSpec.key` hashes its full configuration, including the
content of platform and workload files, and keys its row in the results table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soc_emu.errors import SocEmuError
from soc_emu.study.spec import FailureChoice, Scenario, StudySpec, canonical_json

if TYPE_CHECKING:
    from soc_emu.runner import RunConfig

#: Columns that describe a run (its parameters), in table order.
PARAM_COLUMNS: tuple[str, ...] = (
    "key", "scenario", "platform", "workload", "scheduler", "scheduler_name", "scheduler_options", "rate",
    "noise", "failures", "max_jobs", "drop", "binding", "shared_bus", "jobs", "duration_us", "seed", "governor",
)


@dataclass(frozen=True)
class RunSpec:
    """One run of a study (every field a plain value; ``None``: no override)."""

    scenario: str
    platform: str
    workload: str
    scheduler: str
    scheduler_name: str
    scheduler_options: str
    rate: float | None
    noise: float
    failures: str | None
    max_jobs: int | None
    drop: bool | None
    binding: str | None
    shared_bus: bool | None
    jobs: int | None
    duration_us: float | None
    seed: int
    #: sha256 of the platform and workload files when they are files (so an edited file is a new run).
    inputs_digest: str = ""
    #: DVFS governor of every cluster (``--governor``); None: the platform's own.
    governor: str | None = None

    @property
    def key(self) -> str:
        """A stable hash of the full configuration (the row's identity in the results table); a run
        without a governor override hashes as it did before that field existed."""
        fields = asdict(self)
        if fields["governor"] is None:
            del fields["governor"]
        return hashlib.sha256(canonical_json(fields).encode()).hexdigest()[:20]

    def params(self) -> dict[str, Any]:
        """The parameter columns of this run's row."""
        row = {name: getattr(self, name) for name in PARAM_COLUMNS if name != "key"}
        row["key"] = self.key
        return row

    def to_config(self) -> RunConfig:
        """The :class:`RunConfig` that :func:`soc_emu.runner.execute` runs."""
        from soc_emu.engine.options import FailureModel, RunOptions
        from soc_emu.engine.view import Binding
        from soc_emu.runner import ArrivalOverrides, RunConfig

        failures = None
        if self.failures is not None:
            f = json.loads(self.failures)
            types = tuple(f["pe_types"]) if f.get("pe_types") is not None else None
            failures = FailureModel(mtbf_us=f["mtbf_us"], repair_us=f["repair_us"], pe_types=types)
        options = RunOptions(seed=self.seed, num_jobs=self.jobs, duration_us=self.duration_us,
                             noise_rsd=self.noise, failures=failures, shared_bus=self.shared_bus,
                             governor=self.governor)
        return RunConfig(
            platform=self.platform, workload=self.workload, scheduler=self.scheduler_name,
            scheduler_options=json.loads(self.scheduler_options), options=options,
            binding=Binding(self.binding) if self.binding is not None else None,
            arrivals=ArrivalOverrides(rate_jobs_per_ms=self.rate, max_jobs_in_system=self.max_jobs,
                                      drop_when_full=self.drop),
            gantt=False,
        )


def expand(spec: StudySpec) -> list[RunSpec]:
    """Every run of ``spec``, in a fixed order (scenario, then the axes of :data:`spec.AXES`, the seed
    just before the scheduler). Platforms and workloads are loaded once each to check they exist and fit."""
    runs: list[RunSpec] = []
    digests: dict[str, str] = {}
    for sc in spec.scenarios:
        check_scenario_inputs(sc, spec.source)
        for platform, workload, binding, cap, drop, bus, governor, noise, failures, rate in itertools.product(
                sc.platforms, sc.workloads, sc.binding, sc.max_jobs, sc.drop, sc.shared_bus, sc.governors, sc.noise,
                sc.failures, sc.rates):
            digest = "".join(_file_digest(s, digests) for s in (platform, workload))
            for seed, choice in itertools.product(spec.seeds, sc.schedulers):
                runs.append(RunSpec(
                    scenario=sc.name, platform=platform, workload=workload, scheduler=choice.label,
                    scheduler_name=choice.name, scheduler_options=choice.options_json, rate=rate, noise=noise,
                    failures=_failure_text(failures), max_jobs=cap, drop=drop, binding=binding,
                    shared_bus=bus, jobs=sc.jobs, duration_us=sc.duration_us, seed=seed,
                    inputs_digest=digest[:16] if digest else "", governor=governor,
                ))
    keys = {run.key for run in runs}
    if len(keys) != len(runs):  # two scenarios with the same name cannot happen; this is a guard
        raise SocEmuError("the spec describes the same run twice", source=spec.source)
    return runs


def check_scenario_inputs(sc: Scenario, source: str) -> None:
    """Load every platform / workload pair of ``sc`` once: unknown names and misfits fail before any run."""
    from soc_emu.runner import resolve_scenario

    for platform, workload in itertools.product(sc.platforms, sc.workloads):
        try:
            loaded, _ = resolve_scenario(platform, workload)
        except SocEmuError as exc:
            field = {"--platform": "platforms", "--workload": "workloads"}.get((exc.source or "").split(" ")[0])
            where = f"{source}: scenario {sc.name!r}" + (f" {field}" if field else "")
            raise SocEmuError(exc.detail if field else str(exc), source=where) from None
        if loaded.power is None and any(g is not None for g in sc.governors):
            raise SocEmuError(f"platform {loaded.name!r} has no operating points, so no governor applies",
                              source=f"{source}: scenario {sc.name!r} governors")


def _failure_text(failures: FailureChoice | None) -> str | None:
    return None if failures is None else canonical_json(failures.plain())


def _file_digest(spec: str, cache: dict[str, str]) -> str:
    """sha256 (12 hex digits) of ``spec``'s file when it names one, else ``""`` (built-in names)."""
    if spec not in cache:
        path = Path(spec)
        cache[spec] = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else ""
    return cache[spec]
