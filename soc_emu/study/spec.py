"""Study specifications: what a study runs, parsed from a TOML (or JSON) file or from flags, and validated.

A spec names its axes; the runs are the product of every axis and the seeds, per scenario::

    name = "latency vs load"
    seeds = [0, 1, 2]
    jobs = 200                      # or duration_us = 100000.0
    platforms = ["hetero"]
    workloads = ["ds3_mix"]
    schedulers = ["etf", "heft", { name = "deepsocs", options = { model_path = "best.pt" }, label = "mine" }]
    rates = [10, 25, 50]            # jobs/ms; "default" = the workload's own rate
    noise = [0.0, 0.1]
    failures = ["none", { mtbf_us = 20000, repair_us = 2000 }]
    max_jobs = ["default"]          # admission cap (jobs in the system); "default" = the workload's
    drop = ["default"]              # drop arrivals while the cap is reached
    binding = ["default"]           # "on_ready" | "late" | "default" (the scheduler's)
    shared_bus = ["default"]        # true | false | "default" (the platform's)
    governors = ["default"]         # DVFS governor of every cluster (NAME or userspace:MHZ); "default" = the platform's

    [[scenarios]]                   # optional: named panels, each overriding any of the keys above
    name = "unseen"
    platforms = ["ds3"]
    rates = [5, 10]

Every error is a :class:`SocEmuError` whose source names the file and field (or the flag) at fault:
unknown keys and names, empty axes, rates <= 0, duplicate axis values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.limits import Range

#: The value that means "no override": the workload's, the scheduler's or the platform's own setting.
DEFAULT = "default"
#: The failures value that means no PE failures.
NO_FAILURES = "none"

#: Axis keys (lists) a spec and each of its scenarios may set, in the order runs are expanded
#: (the scheduler varies fastest, so runs with the same seed and rate sit next to each other).
AXES: tuple[str, ...] = ("platforms", "workloads", "binding", "max_jobs", "drop", "shared_bus", "governors",
                         "noise", "failures", "rates", "schedulers")
#: Scalar keys a spec and each scenario may set.
SCALARS: tuple[str, ...] = ("jobs", "duration_us")
TOP_LEVEL_KEYS = frozenset({"name", "seeds", "scenarios", *AXES, *SCALARS})
SCENARIO_KEYS = frozenset({"name", *AXES, *SCALARS})
SCHEDULER_KEYS = frozenset({"name", "options", "label"})
FAILURE_KEYS = frozenset({"mtbf_us", "repair_us", "pe_types"})
BINDINGS = ("on_ready", "late")

#: Axis values when a spec leaves an axis out.
AXIS_DEFAULTS: dict[str, list[Any]] = {
    "platforms": ["hetero"], "workloads": ["ds3_mix"], "schedulers": ["heft"], "rates": [DEFAULT],
    "noise": [0.0], "failures": [NO_FAILURES], "max_jobs": [DEFAULT], "drop": [DEFAULT],
    "binding": [DEFAULT], "shared_bus": [DEFAULT], "governors": [DEFAULT],
}
DEFAULT_JOBS = 200


@dataclass(frozen=True)
class SchedulerChoice:
    """One value of the ``schedulers`` axis: a registry name, its keyword options and the label that names
    it in tables and plots (the name unless two entries use the same scheduler with different options)."""

    name: str
    options_json: str = "{}"
    label: str = ""

    @property
    def options(self) -> dict[str, Any]:
        return dict(json.loads(self.options_json))

    def plain(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options, "label": self.label}


@dataclass(frozen=True)
class FailureChoice:
    """One value of the ``failures`` axis (PE failure model)."""

    mtbf_us: float
    repair_us: float
    pe_types: tuple[str, ...] | None = None

    def plain(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mtbf_us": self.mtbf_us, "repair_us": self.repair_us}
        if self.pe_types is not None:
            out["pe_types"] = list(self.pe_types)
        return out

    def label(self) -> str:
        types = f"@{'+'.join(self.pe_types)}" if self.pe_types else ""
        return f"{self.mtbf_us:g},{self.repair_us:g}{types}"


@dataclass(frozen=True)
class Scenario:
    """A named set of axes (one plot panel per combination of its non-rate, non-scheduler axes)."""

    name: str
    platforms: tuple[str, ...]
    workloads: tuple[str, ...]
    schedulers: tuple[SchedulerChoice, ...]
    rates: tuple[float | None, ...]
    noise: tuple[float, ...]
    failures: tuple[FailureChoice | None, ...]
    max_jobs: tuple[int | None, ...]
    drop: tuple[bool | None, ...]
    binding: tuple[str | None, ...]
    shared_bus: tuple[bool | None, ...]
    jobs: int | None
    duration_us: float | None
    governors: tuple[str | None, ...] = (None,)


@dataclass(frozen=True)
class StudySpec:
    """A validated study: its name, seeds and scenarios. :meth:`plain` is the effective spec (what
    ``study.json`` saves; it parses back to an equal spec) and :meth:`digest` identifies the study."""

    name: str
    seeds: tuple[int, ...]
    scenarios: tuple[Scenario, ...]
    source: str = field(default="flags", compare=False)

    def plain(self) -> dict[str, Any]:
        """The effective spec as plain JSON/TOML values, every key written out."""
        return {"name": self.name, "seeds": list(self.seeds),
                "scenarios": [_plain_scenario(sc) for sc in self.scenarios]}

    def digest(self) -> str:
        """A stable hash of :meth:`plain` (the same study gives the same digest on any machine)."""
        import hashlib

        return hashlib.sha256(canonical_json(self.plain()).encode()).hexdigest()[:16]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form hashed for study and run keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


# -- loading ------------------------------------------------------------------------------------------
def load_spec(path: str | Path, overrides: Mapping[str, Any] | None = None,
              flag_of: Mapping[str, str] | None = None) -> StudySpec:
    """Read a spec file (TOML, or JSON such as a saved ``study.json``), apply ``overrides`` (from flags,
    whose names ``flag_of`` gives for error messages) and validate it."""
    import tomllib

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SocEmuError(f"cannot read the study spec: {exc.strerror}", source=str(p)) from None
    try:
        data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise SocEmuError(f"not a valid spec file: {exc}", source=str(p)) from None
    if p.suffix == ".json" and isinstance(data, dict) and "spec" in data:
        data = data["spec"]  # a study.json written by a previous study
    return parse_spec(data, source=str(p), overrides=overrides, flag_of=flag_of)


def parse_spec(data: Any, *, source: str = "flags", overrides: Mapping[str, Any] | None = None,
               flag_of: Mapping[str, str] | None = None) -> StudySpec:
    """Validate a spec given as plain data (see the module docstring) and return it."""
    flags = dict(flag_of or {})
    from_flags = set(overrides or ())

    def where(path: str) -> str:
        top = path.split(".")[0].split("[")[0]
        if top in from_flags and top in flags:
            return flags[top]
        return f"{source}: {path}"

    if not isinstance(data, dict):
        raise SocEmuError("a study spec is a table of keys", source=source)
    data = _merge(data, overrides or {})
    _check_keys(data, TOP_LEVEL_KEYS, "", where)
    name = data.get("name", "study")
    if not isinstance(name, str) or not name.strip():
        raise SocEmuError(f"expected a non-empty string, got {name!r}", source=where("name"))
    seeds = _axis(data.get("seeds", [0]), "seeds", where, _within(limits.SEED, _int_value))
    base = {key: data[key] for key in (*AXES, *SCALARS) if key in data}
    raw_scenarios = data.get("scenarios")
    if raw_scenarios is None:
        raw_scenarios = [{"name": "default"}]
    if not isinstance(raw_scenarios, list) or not raw_scenarios:
        raise SocEmuError("expected a non-empty list of scenario tables", source=where("scenarios"))
    scenarios = []
    for i, raw in enumerate(raw_scenarios):
        path = f"scenarios[{i}]"
        if not isinstance(raw, dict):
            raise SocEmuError("expected a table", source=where(path))
        _check_keys(raw, SCENARIO_KEYS, path + ".", where)
        merged = _merge(base, raw)

        def at(key: str, path: str = path, raw: dict = raw) -> str:  # type: ignore[type-arg]
            return where(f"{path}.{key}" if key in raw else key)

        scenarios.append(_scenario(merged, at, raw.get("name", "default" if len(raw_scenarios) == 1 else None)))
        if not isinstance(scenarios[-1].name, str) or not scenarios[-1].name:
            raise SocEmuError("every scenario of several needs a non-empty name", source=where(f"{path}.name"))
    _no_duplicates([sc.name for sc in scenarios], lambda i: where(f"scenarios[{i}].name"))
    return StudySpec(name=name.strip(), seeds=tuple(seeds), scenarios=tuple(scenarios), source=source)


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the keys of ``top`` on top; ``jobs`` and ``duration_us`` are one choice, so setting
    either in ``top`` drops the other from ``base``."""
    merged = dict(base)
    if "jobs" in top or "duration_us" in top:
        merged.pop("jobs", None)
        merged.pop("duration_us", None)
    merged.update(top)
    return merged


def _scenario(data: dict[str, Any], at: Callable[[str], str], name: Any) -> Scenario:
    """One scenario from merged top-level and scenario keys."""
    axes = {key: data.get(key, AXIS_DEFAULTS[key]) for key in AXES}
    jobs, duration = data.get("jobs"), data.get("duration_us")
    if jobs is not None and duration is not None:
        raise SocEmuError("give either jobs or duration_us, not both", source=at("duration_us"))
    if jobs is None and duration is None:
        jobs = DEFAULT_JOBS
    if jobs is not None:
        jobs = _int_value(jobs, at("jobs"))
        if jobs < 1:
            raise SocEmuError(f"must be >= 1, got {jobs}", source=at("jobs"))
        limits.JOBS.check(jobs, at("jobs"))
    if duration is not None:
        duration = _within(limits.POSITIVE_TIME_US, _positive)(duration, at("duration_us"))
    return Scenario(
        name=name,
        platforms=_axis(axes["platforms"], "platforms", at, _name_value),
        workloads=_axis(axes["workloads"], "workloads", at, _name_value),
        schedulers=_schedulers(axes["schedulers"], at),
        rates=_axis(axes["rates"], "rates", at, _or_default(_within(limits.RATE_JOBS_PER_MS, _positive))),
        noise=_axis(axes["noise"], "noise", at, _within(limits.NOISE_RSD, _noise_value)),
        failures=_axis(axes["failures"], "failures", at, _failure_value),
        max_jobs=_axis(axes["max_jobs"], "max_jobs", at, _or_default(_within(limits.JOBS, _cap_value))),
        drop=_axis(axes["drop"], "drop", at, _or_default(_bool_value)),
        binding=_axis(axes["binding"], "binding", at, _or_default(_binding_value)),
        shared_bus=_axis(axes["shared_bus"], "shared_bus", at, _or_default(_bool_value)),
        governors=_axis(axes["governors"], "governors", at, _or_default(_governor_value)),
        jobs=jobs,
        duration_us=duration,
    )


def _schedulers(values: Any, at: Callable[[str], str]) -> tuple[SchedulerChoice, ...]:
    """The ``schedulers`` axis: names, or tables with ``name``, ``options`` and ``label``."""
    import soc_emu.schedulers  # noqa: F401  (registers the built-in schedulers)
    from soc_emu.schedulers.registry import scheduler_names

    known = scheduler_names()

    def one(value: Any, where: str) -> SchedulerChoice:
        entry = {"name": value} if isinstance(value, str) else value
        if not isinstance(entry, dict):
            raise SocEmuError(f"expected a scheduler name or table, got {value!r}", source=where)
        unknown = sorted(set(entry) - SCHEDULER_KEYS)
        if unknown:
            raise SocEmuError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(SCHEDULER_KEYS))})",
                              source=where)
        name = entry.get("name")
        if name not in known:
            raise SocEmuError(f"unknown scheduler {name!r}; known: {', '.join(known)}", source=where)
        options = entry.get("options", {})
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise SocEmuError("options must be a table of keyword options", source=where)
        label = entry.get("label", name)
        if not isinstance(label, str) or not label:
            raise SocEmuError(f"expected a non-empty label, got {label!r}", source=where)
        try:
            options_json = canonical_json(options)
        except (TypeError, ValueError) as exc:
            raise SocEmuError(f"options must be plain values: {exc}", source=where) from None
        return SchedulerChoice(name=name, options_json=options_json, label=label)

    choices = _axis(values, "schedulers", at, one)
    _no_duplicates([c.label for c in choices], lambda i: _item(at("schedulers"), i),
                   hint="; give entries of the same scheduler different labels")
    return choices


# -- value checks (each raises a SocEmuError naming the field) ----------------------------------------
def _axis(values: Any, key: str, at: Callable[[str], str], check: Callable[[Any, str], Any]) -> tuple[Any, ...]:
    """A validated, non-empty axis without duplicate values."""
    if not isinstance(values, list):
        values = [values]
    if not values:
        raise SocEmuError("the axis is empty; give at least one value", source=at(key))
    checked = tuple(check(v, _item(at(key), i)) for i, v in enumerate(values))
    _no_duplicates(list(checked), lambda i: _item(at(key), i))
    return checked


def _item(where: str, index: int) -> str:
    """The source of an axis value: ``file: key[i]``, or just the flag for a flag's list."""
    return where if where.startswith("--") else f"{where}[{index}]"


def _no_duplicates(values: Sequence[Any], where: Callable[[int], str], hint: str = "") -> None:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise SocEmuError(f"duplicate value {_show(value)}{hint}", source=where(i))
        seen.add(value)


def _show(value: Any) -> str:
    if isinstance(value, SchedulerChoice):
        return repr(value.label)
    if isinstance(value, FailureChoice):
        return repr(value.label())
    return repr(DEFAULT if value is None else value)


def _check_keys(data: Mapping[str, Any], allowed: frozenset[str], prefix: str, where: Callable[[str], str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SocEmuError(f"unknown key (known: {', '.join(sorted(allowed))})", source=where(prefix + unknown[0]))


def _or_default(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def checked(value: Any, where: str) -> Any:
        return None if value == DEFAULT else check(value, where)

    return checked


def _within(limit: Range, check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """``check``, then the documented range of :mod:`soc_emu.limits` (issue 13)."""
    def checked(value: Any, where: str) -> Any:
        return limit.check(check(value, where), where)

    return checked


def _int_value(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SocEmuError(f"expected an integer, got {value!r}", source=where)
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SocEmuError(f"expected a finite number, got {value!r}", source=where)
    return float(value)


def _positive(value: Any, where: str) -> float:
    number = _number(value, where)
    if number <= 0:
        raise SocEmuError(f"must be > 0, got {value!r}", source=where)
    return number


def _noise_value(value: Any, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise SocEmuError(f"must be >= 0, got {value!r}", source=where)
    return number


def _governor_value(value: Any, where: str) -> str:
    from soc_emu.power.governors import GovernorSpec

    if not isinstance(value, str):
        raise SocEmuError(f"expected a governor name or {DEFAULT!r}, got {value!r}", source=where)
    GovernorSpec.parse(value, source=where)
    return value


def _cap_value(value: Any, where: str) -> int:
    cap = _int_value(value, where)
    if cap < 1:
        raise SocEmuError(f"must be >= 1, got {value!r}", source=where)
    return cap


def _bool_value(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SocEmuError(f"expected true, false or {DEFAULT!r}, got {value!r}", source=where)
    return value


def _binding_value(value: Any, where: str) -> str:
    if value not in BINDINGS:
        raise SocEmuError(f"expected one of {', '.join(BINDINGS)} or {DEFAULT!r}, got {value!r}", source=where)
    return str(value)


def _name_value(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SocEmuError(f"expected a name or file path, got {value!r}", source=where)
    return value.strip()


def _failure_value(value: Any, where: str) -> FailureChoice | None:
    if value == NO_FAILURES:
        return None
    if not isinstance(value, dict):
        raise SocEmuError(f"expected {NO_FAILURES!r} or a table with mtbf_us and repair_us, got {value!r}",
                          source=where)
    unknown = sorted(set(value) - FAILURE_KEYS)
    if unknown:
        raise SocEmuError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(FAILURE_KEYS))})", source=where)
    if "mtbf_us" not in value or "repair_us" not in value:
        raise SocEmuError("a failure model needs mtbf_us and repair_us", source=where)
    types = value.get("pe_types")
    if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
        raise SocEmuError(f"pe_types must be a list of PE type names, got {types!r}", source=where)
    failure_time = _within(limits.FAILURE_TIME_US, _positive)
    return FailureChoice(failure_time(value["mtbf_us"], where), failure_time(value["repair_us"], where),
                         tuple(types) if types is not None else None)


# -- the effective spec as plain values ---------------------------------------------------------------
def _plain_scenario(sc: Scenario) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if value is None:
            return DEFAULT
        return value.plain() if hasattr(value, "plain") else value

    out: dict[str, Any] = {"name": sc.name}
    for key in AXES:
        values = getattr(sc, key)
        if key == "failures":
            out[key] = [NO_FAILURES if v is None else v.plain() for v in values]
        else:
            out[key] = [plain(v) for v in values]
    if sc.jobs is not None:
        out["jobs"] = sc.jobs
    else:
        out["duration_us"] = sc.duration_us
    return out
