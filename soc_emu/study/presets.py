"""Presets: the specs behind ``soc-emu sweep`` and ``soc-emu compare`` (plain data, validated by
:func:`soc_emu.study.spec.parse_spec`, run by :func:`soc_emu.study.run_study` like any study).

A preset is a function from its options to a spec dict. To add one, write such a function and a CLI
module that calls :func:`soc_emu.cli.study_cmd.run_spec` with ``parse_spec(preset(...))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.study.spec import DEFAULT

#: Scenario names ``compare`` knows (``noiseX`` takes any noise level X).
COMPARE_SCENARIOS = ("noise0", "noise0.1", "noise0.3", "failures", "unseen", "unseen_mix")


def sweep_spec(*, platform: str, workload: str, schedulers: Sequence[dict[str, Any] | str],
               rates: Sequence[float] | None, seeds: Sequence[int], jobs: int | None = None,
               duration_us: float | None = None, noise: float = 0.0, failures: dict[str, Any] | None = None,
               max_jobs: int | None = None, drop: bool | None = None, binding: str | None = None,
               shared_bus: bool | None = None, governor: str | None = None) -> dict[str, Any]:
    """One scenario: the platform and workload under every scheduler, rate and seed."""
    spec: dict[str, Any] = {
        "name": "sweep", "seeds": list(seeds), "platforms": [platform], "workloads": [workload],
        "schedulers": list(schedulers), "rates": list(rates) if rates is not None else [DEFAULT],
        "noise": [noise], "failures": [failures if failures is not None else "none"],
        "max_jobs": [_or_default(max_jobs)], "drop": [_or_default(drop)], "binding": [_or_default(binding)],
        "shared_bus": [_or_default(shared_bus)], "governors": [_or_default(governor)],
    }
    if duration_us is not None:
        spec["duration_us"] = duration_us
    else:
        spec["jobs"] = jobs if jobs is not None else 200
    return spec


@dataclass(frozen=True)
class CompareOptions:
    """What ``soc-emu compare`` compares (its flags)."""

    platform: str = "hetero"
    workload: str = "ds3_mix"
    schedulers: tuple[dict[str, Any] | str, ...] = ()
    scenarios: tuple[str, ...] = COMPARE_SCENARIOS
    rates: tuple[float, ...] = (10.0, 25.0, 50.0, 70.0, 90.0)
    seeds: tuple[int, ...] = (1001, 1002, 1003)
    jobs: int = 200
    failures: tuple[float, float] = (20000.0, 2000.0)
    unseen_platform: str = "ds3"
    unseen_workload: str | None = None
    unseen_rates: tuple[float, ...] = (5.0, 10.0, 20.0, 30.0)
    unseen_mix: str = "wifi_rx:2,radar:1,temporal_mitigation:1"


def compare_spec(o: CompareOptions) -> dict[str, Any]:
    """Every scheduler at every rate and seed in each scenario:

    ``noiseX``: the platform and workload at execution-time noise X; ``failures``: PE failures on;
    ``unseen``: another platform (and workload) at its own rates; ``unseen_mix``: another job mix."""
    scenarios = []
    for name in o.scenarios:
        sc: dict[str, Any] = {"name": name, "platforms": [o.platform], "workloads": [o.workload],
                              "rates": list(o.rates)}
        if name.startswith("noise"):
            try:
                sc["noise"] = [float(name[len("noise"):])]
            except ValueError:
                raise _unknown_scenario(name) from None
        elif name == "failures":
            sc["failures"] = [{"mtbf_us": o.failures[0], "repair_us": o.failures[1]}]
        elif name == "unseen":
            sc.update(platforms=[o.unseen_platform], workloads=[o.unseen_workload or o.workload],
                      rates=list(o.unseen_rates))
        elif name == "unseen_mix":
            sc["workloads"] = [o.unseen_mix]
        else:
            raise _unknown_scenario(name)
        scenarios.append(sc)
    return {"name": "compare", "seeds": list(o.seeds), "jobs": o.jobs, "schedulers": list(o.schedulers),
            "scenarios": scenarios}


def scheduler_entries(names: Sequence[str], *, model_path: str | None = None) -> list[dict[str, Any] | str]:
    """``schedulers`` axis values for ``names``; with ``model_path``, every scheduler whose constructor takes
    a ``model_path`` option gets it (a capability test, not a name test)."""
    if model_path is None:
        return list(names)
    import inspect

    import soc_emu.schedulers  # noqa: F401  (registers the built-in schedulers)
    from soc_emu.schedulers.registry import scheduler_class

    entries: list[dict[str, Any] | str] = []
    for name in names:
        takes_model = "model_path" in inspect.signature(scheduler_class(name)).parameters
        entries.append({"name": name, "options": {"model_path": model_path}} if takes_model else name)
    return entries


def _unknown_scenario(name: str) -> SocEmuError:
    return SocEmuError(f"unknown scenario {name!r} ({', '.join(COMPARE_SCENARIOS)} or noiseX)",
                       source="--scenarios")


def _or_default(value: Any) -> Any:
    return DEFAULT if value is None else value


def bound_spec(*, platform: str, workloads: Sequence[str], schedulers: Sequence[str],
               solver_options: dict[str, Any]) -> dict[str, Any]:
    """``soc-emu bound``: one job of every suite instance under each graded scheduler and the ``optimal``
    scheduler (labelled ``optimal``; see :mod:`soc_emu.optimal.gaps` for the gaps)."""
    optimal = {"name": "optimal", "options": dict(solver_options), "label": "optimal"}
    return {"name": "bound", "seeds": [0], "jobs": 1, "platforms": [platform], "workloads": list(workloads),
            "schedulers": [*schedulers, optimal]}
