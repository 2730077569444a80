"""Readers for DS3 (DASH-Sim) text files: SoC descriptions and job (task-graph) files.

Two SoC dialects are accepted, told apart per ``add_new_resource`` line:

* DS3: ``add_new_resource resource_type LTL resource_name A7 resource_ID 0 capacity 4
  num_supported_functionalities 94 DVFS_mode performance``, then ``opp``/``trip_freq``/
  ``DTPM_trip_freq``/``power_profile``/``PG_profile``/``mesh_information`` lines and exactly
  ``num_supported_functionalities`` lines ``<task> <exec_time_us> [<extra>]``;
  ``comm_band_self <bw>`` and ``comm_band <cluster_a> <cluster_b> <bw>``.
* DS3Gym (SoCRATES): ``add_new_resource CPU P1 0 1 10 performance`` (type, name, id, capacity,
  functionalities, optional DVFS mode) and task lines ``<task> <time> <power>``.

Semantics, as in DS3's own parser:

* A resource of capacity ``c`` is a *cluster* of ``c`` single-slot PEs named ``<name>_<k>`` where ``k``
  counts PEs over the whole file (``A7_0..A7_3``, ``A15_4..A15_7``, ...), so DS3's MULTIPLE_BAL SoC has
  16 PEs. The cluster is named after the resource. A capacity-1 resource keeps its plain name (``P1``).
* ``MEM`` and ``CAC`` resources (memory, caches) are not PEs; their lines and bandwidths are ignored.
* ``comm_band a b bw`` is symmetric; for ``a == b`` it is the bandwidth between *different* cores of that
  cluster. Pairs that are not listed get bandwidth 1 (DS3 starts from a matrix of ones). Latency is 0, so
  ``transfer time = volume / bandwidth``.
* Same-PE bandwidth: ``comm_band_self`` when given (DS3 default 1). In the DS3Gym dialect, where every
  resource is one PE, ``comm_band i i`` *is* the same-PE bandwidth (DS3Gym's parser fills the diagonal);
  the values must then agree across resources, because the model has one same-PE link.
* The first execution time listed for a task wins (DS3 looks times up with ``list.index``).
* Fixed power (``ProcessingElement.active_power_w``, used where a resource has no power model): the
  1-core figure of the ``power_profile`` at the highest listed frequency (DS3 runs its ``performance``
  DVFS mode at the top OPP); idle power 0. DS3Gym's per-task power column is a placeholder (it repeats
  the time) and is ignored.
* Power model (see :mod:`soc_emu.power`): a resource with ``opp`` lines and a ``power_profile`` is a
  power cluster with its OPPs (``opp <MHz> <mV>``); DS3's measured cluster power by frequency and number
  of busy cores (``power_profile``; ``PG_profile``, power-gated idle cores, is used instead when it lists
  every frequency ``power_profile`` lists); its governor from ``DVFS_mode`` (performance, powersave,
  ondemand, userspace; ``constant-<MHz>``: that fixed OPP; ``none``: the top OPP); and its throttling
  caps ``trip_freq`` at the trip temperatures :data:`DS3_TRIP_C`, on a thermal node with the assumed
  :data:`DS3_THERMAL` figures (only for resources whose ``trip_freq`` caps something; DS3's SoC files
  carry no thermal parameters). ``DTPM_trip_freq`` is read and checked but not used (it belongs to DS3's
  DTPM policies, which we do not model). A resource without ``opp`` lines or without a power profile
  keeps the fixed power.
* DS3 type names map to :data:`soc_emu.model.PE_TYPES`: LTL -> cpu_little, BIG -> cpu_big, CPU -> cpu,
  ACC with FFT/VIT/MM in the name -> acc_fft/acc_viterbi/acc_mm, other ACC -> acc, anything else lowercased.

Job files: ``job_name <name>``, ``add_new_tasks <N>``, per task ``<task> <id> <pred ids...>``, optional
``<task> HEAD|TAIL``, ``<task> earliest_start <a> deadline <d> [input_vol <i> output_vol <o>]`` (parsed
and checked, then unused, as in DS3), and ``comm_vol <src id> <dst id> <volume>``. Edges come from the
predecessor lists; ``comm_vol`` gives their volume (default 0). The task name is also its kernel.

Errors raise :class:`SocEmuError` naming the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.model import Edge, Interconnect, Link, Platform, ProcessingElement, Task, TaskGraph
from soc_emu.power.governors import GOVERNORS, GovernorSpec
from soc_emu.power.model import ClusterPower, PowerSpec, ProfilePower
from soc_emu.power.opp import OperatingPoint, OppTable
from soc_emu.power.thermal import ThermalParams

NON_PE_TYPES = frozenset({"MEM", "CAC"})
_HEADER_KEYS = ("resource_type", "resource_name", "resource_ID", "capacity", "num_supported_functionalities")
_RESOURCE_SETTINGS = frozenset(
    {"opp", "trip_freq", "DTPM_trip_freq", "power_profile", "PG_profile", "mesh_information"}
)
_TIMING_KEYS = ("earliest_start", "deadline", "input_vol", "output_vol")

#: Trip temperatures (deg C) that ``trip_freq``'s caps apply at (DS3 keeps them outside the SoC file;
#: these are assumed), hysteresis 3 deg C.
DS3_TRIP_C: tuple[float, ...] = (85.0, 90.0, 95.0)
#: Assumed thermal node of a DS3 cluster: R to ambient (deg C/W), C (J/deg C); ambient 42 deg C as in DS3.
DS3_THERMAL = {"resistance_c_per_w": 4.0, "capacitance_j_per_c": 0.05, "ambient_c": 42.0}


def _lines(text: str) -> list[tuple[int, list[str]]]:
    """Non-empty, non-comment lines as ``(line number, tokens)``."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((number, line.split()))
    return out


def detect_ds3(text: str) -> str | None:
    """``"soc"`` or ``"job"`` when ``text`` is a DS3 file (judged by its first keyword), else ``None``."""
    for _, tokens in _lines(text):
        if tokens[0] == "add_new_resource":
            return "soc"
        if tokens[0] in ("job_name", "add_new_tasks"):
            return "job"
        return None
    return None


def _number(token: str, where: str, what: str, *, minimum: float = 0.0, strict: bool = False,
            maximum: float = limits.MAX_TIME_US) -> float:
    """A finite number in ``[minimum, maximum]`` (``(minimum, maximum]`` when ``strict``); the default
    maximum is that of times, volumes and bandwidths (:mod:`soc_emu.limits`)."""
    try:
        value = float(token)
    except ValueError:
        raise SocEmuError(f"{what}: expected a number, got {_short(token)}", source=where) from None
    if math.isnan(value) or math.isinf(value) or value < minimum or (strict and value == minimum) or value > maximum:
        left = "(" if strict else "["
        bounds = f"{left}{limits.format_bound(minimum)}, {limits.format_bound(maximum)}]"
        raise SocEmuError(f"{what}: expected a number in {bounds}, got {_short(token)}",
                          source=where)
    return value


def _integer(token: str, where: str, what: str, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    try:
        value = int(token)
    except ValueError:
        raise SocEmuError(f"{what}: expected an integer, got {_short(token)}", source=where) from None
    if not minimum <= value <= maximum:
        raise SocEmuError(f"{what}: expected an integer in [{minimum}, {maximum}], got {_short(token)}", source=where)
    return value


def _short(token: str) -> str:
    """A token for an error message, shortened when huge."""
    return repr(token) if len(token) <= 40 else f"{token[:20]!r}... ({len(token)} characters)"


def ds3_pe_type(resource_type: str, name: str) -> str:
    """Map a DS3 resource type (and name, for accelerators) to one of our PE types."""
    upper = resource_type.upper()
    if upper == "LTL":
        return "cpu_little"
    if upper == "BIG":
        return "cpu_big"
    if upper == "CPU":
        return "cpu"
    if upper.startswith("ACC"):
        tag = name.upper()
        for key, pe_type in (("FFT", "acc_fft"), ("VIT", "acc_viterbi"), ("MM", "acc_mm")):
            if key in tag:
                return pe_type
        return "acc"
    return resource_type.lower()


@dataclass
class _Resource:
    line: int
    rtype: str
    name: str
    rid: int
    capacity: int
    functionalities: int
    gym_dialect: bool
    times: dict[str, float] = field(default_factory=dict)
    read: int = 0
    power_by_freq: dict[float, float] = field(default_factory=dict)
    dvfs_mode: str = "performance"
    opps: list[tuple[float, float, int]] = field(default_factory=list)  # (MHz, mV, line)
    profile: dict[float, tuple[float, ...]] = field(default_factory=dict)
    pg_profile: dict[float, tuple[float, ...]] = field(default_factory=dict)
    trip_mhz: tuple[float, ...] = ()
    dtpm_trip_mhz: tuple[float, ...] = ()

    @property
    def is_pe(self) -> bool:
        return self.rtype.upper() not in NON_PE_TYPES and self.name.upper() != "MEMORY"


def _parse_header(tokens: list[str], where: str, line: int) -> _Resource:
    args = tokens[1:]
    # DS3's parser reads the keyword dialect by position (its own SoC.Top.txt misspells "resource_type"),
    # so recognise it by the later keywords.
    if len(args) >= 2 and args[0].startswith("reso") and (len(args) < 10 or args[2] != "resource_name"):
        raise SocEmuError(
            "expected 'add_new_resource resource_type T resource_name N resource_ID i capacity c "
            "num_supported_functionalities k DVFS_mode m'",
            source=where,
        )
    if len(args) >= 10 and args[2:10:2] == list(_HEADER_KEYS[1:]):  # DS3 keyword dialect
        rtype, name, rid, cap, nf = args[1], args[3], args[5], args[7], args[9]
        mode = args[11] if len(args) >= 12 and args[10] == "DVFS_mode" else "performance"
        gym = False
    else:  # DS3Gym positional dialect
        if len(args) < 5:
            raise SocEmuError(
                "expected 'add_new_resource TYPE NAME ID CAPACITY NUM_FUNCTIONALITIES [DVFS_MODE]'", source=where
            )
        rtype, name, rid, cap, nf = args[:5]
        mode = args[5] if len(args) > 5 else "performance"
        gym = True
    return _Resource(
        line=line,
        rtype=rtype,
        name=name,
        rid=_integer(rid, where, "resource ID"),
        capacity=_integer(cap, where, "capacity", minimum=1, maximum=int(limits.PE_COUNT.high)),
        functionalities=_integer(nf, where, "number of supported functionalities", minimum=0),
        gym_dialect=gym,
        dvfs_mode=mode,
    )


def _read_power_line(r: _Resource, key: str, tokens: list[str], where: str, number: int) -> None:
    """One ``opp`` / ``power_profile`` / ``PG_profile`` / ``trip_freq`` / ``DTPM_trip_freq`` line."""
    if key == "opp":
        if len(tokens) != 3:
            raise SocEmuError("expected 'opp <MHz> <mV>'", source=where)
        r.opps.append((_number(tokens[1], where, "OPP frequency", strict=True, maximum=limits.MHZ.high),
                       _number(tokens[2], where, "OPP voltage", strict=True, maximum=limits.MILLIVOLTS.high), number))
    elif key in ("power_profile", "PG_profile"):
        if len(tokens) < 3:
            raise SocEmuError(f"expected '{key} <MHz> <W for 1 core> ...'", source=where)
        freq = _number(tokens[1], where, "frequency", strict=True, maximum=limits.MHZ.high)
        watts = tuple(_number(t, where, "power", maximum=limits.POWER_W.high) for t in tokens[2:])
        if len(watts) > r.capacity:
            raise SocEmuError(f"{key} gives {len(watts)} core counts for a resource of capacity {r.capacity}",
                              source=where)
        if key == "power_profile":
            r.power_by_freq[freq] = watts[0]
            r.profile[freq] = watts
        else:
            r.pg_profile[freq] = watts
    elif key in ("trip_freq", "DTPM_trip_freq"):
        caps = []
        for t in tokens[1:]:
            caps.append(-1.0 if t == "-1" else _number(t, where, key, strict=True, maximum=limits.MHZ.high))
        if key == "trip_freq":
            r.trip_mhz = tuple(caps)
        else:
            r.dtpm_trip_mhz = tuple(caps)


def _ds3_governor(mode: str, where: str) -> GovernorSpec:
    """DS3's ``DVFS_mode``: a governor name, ``constant-<MHz>`` (a fixed OPP) or ``none`` (fixed clock)."""
    if mode.startswith("constant-"):
        return GovernorSpec.parse("userspace:" + mode.split("-", 1)[1], source=where)
    if mode == "none":
        return GovernorSpec("performance", source=where)
    if mode not in GOVERNORS:
        raise SocEmuError(f"unknown DVFS_mode {mode!r} (known: {', '.join(sorted(GOVERNORS))}, constant-<MHz>, none)",
                          source=where)
    return GovernorSpec(mode, source=where)


def _ds3_power(resources: list[_Resource], label: str) -> PowerSpec | None:
    """The power clusters of a DS3 SoC file (``None`` when no resource has OPPs and a power profile)."""
    clusters: dict[str, ClusterPower] = {}
    for r in resources:
        if not (r.is_pe and r.opps and r.profile):
            continue
        where = f"{label}: line {r.opps[0][2]}"
        opps = OppTable(tuple(OperatingPoint(f, v) for f, v, _ in r.opps), source=where)
        pg = r.pg_profile if r.pg_profile and set(r.profile) <= set(r.pg_profile) else None
        model = ProfilePower(profile=r.profile, pg_profile=pg, source=f"{label}: line {r.line}")
        governor = _ds3_governor(r.dvfs_mode, f"{label}: line {r.line}")
        trips = r.trip_mhz[: len(DS3_TRIP_C)]
        thermal = None if not any(f > 0 for f in trips) else ThermalParams(
            resistance_c_per_w=DS3_THERMAL["resistance_c_per_w"],
            capacitance_j_per_c=DS3_THERMAL["capacitance_j_per_c"],
            trip_c=DS3_TRIP_C[: len(trips)],
            trip_mhz=trips,
            hysteresis_c=3.0,
            source=f"{label}: line {r.line}",
        )
        clusters[r.name] = ClusterPower(name=r.name, opps=opps, model=model,
                                        governor=governor,
                                        thermal=thermal, source=f"{label}: line {r.line}")
    if not clusters:
        return None
    return PowerSpec(clusters=clusters, ambient_c=DS3_THERMAL["ambient_c"], source=label)


def read_ds3_soc(text: str, label: str) -> Platform:
    """Build a :class:`Platform` from the text of a DS3 or DS3Gym SoC file."""
    resources: list[_Resource] = []
    current: _Resource | None = None
    bands: list[tuple[int, int, int, float]] = []  # (line, a, b, bw)
    band_self: float | None = None
    for number, tokens in _lines(text):
        where = f"{label}: line {number}"
        key = tokens[0]
        if key == "add_new_resource":
            if current is not None and current.read < current.functionalities:
                raise SocEmuError(
                    f"resource {current.name!r} declares {current.functionalities} functionalities but lists "
                    f"{current.read}", source=f"{label}: line {current.line}")
            current = _parse_header(tokens, where, number)
            if any(r.rid == current.rid for r in resources):
                raise SocEmuError(f"duplicate resource ID {current.rid}", source=where)
            resources.append(current)
            if current.functionalities == 0:
                current = None
        elif key == "comm_band_self":
            if len(tokens) != 2:
                raise SocEmuError("expected 'comm_band_self <bandwidth>'", source=where)
            band_self = _number(tokens[1], where, "bandwidth", strict=True)
        elif key == "comm_band":
            if len(tokens) != 4:
                raise SocEmuError("expected 'comm_band <id> <id> <bandwidth>'", source=where)
            a = _integer(tokens[1], where, "resource ID")
            b = _integer(tokens[2], where, "resource ID")
            bands.append((number, a, b, _number(tokens[3], where, "bandwidth")))
        elif current is None:
            raise SocEmuError(f"unexpected {key!r} outside a resource block (expected add_new_resource or comm_band)",
                              source=where)
        elif key in _RESOURCE_SETTINGS:
            _read_power_line(current, key, tokens, where, number)
        else:  # a functionality line: <task> <time> [<extra>...]
            if len(tokens) < 2:
                raise SocEmuError(f"expected '<task> <execution time>', got {' '.join(tokens)!r}", source=where)
            time = _number(tokens[1], where, f"execution time of {key!r}")
            current.times.setdefault(key, time)  # the first listed time wins, as in DS3
            current.read += 1
            if current.read == current.functionalities:
                current = None
    if current is not None:
        raise SocEmuError(
            f"resource {current.name!r} declares {current.functionalities} functionalities but lists {current.read}",
            source=f"{label}: line {current.line}")
    pe_resources = [r for r in resources if r.is_pe]
    if not pe_resources:
        raise SocEmuError("no processing elements (only memory/cache resources)", source=label)
    total = sum(r.capacity for r in pe_resources)
    if total > limits.PE_COUNT.high:
        raise SocEmuError(f"the capacities add up to {total} PEs; at most {limits.PE_COUNT.high:.0f} are supported",
                          source=label)

    pes: list[ProcessingElement] = []
    for r in pe_resources:
        if not r.times:
            raise SocEmuError(f"resource {r.name!r} runs no task", source=f"{label}: line {r.line}")
        active = r.power_by_freq[max(r.power_by_freq)] if r.power_by_freq else 0.0
        for _ in range(r.capacity):
            pes.append(ProcessingElement(
                index=len(pes),
                name=r.name if r.capacity == 1 else f"{r.name}_{len(pes)}",
                pe_type=ds3_pe_type(r.rtype, r.name),
                cluster=r.name,
                capacity=1,
                exec_times_us=dict(r.times),
                active_power_w=active,
            ))

    by_id = {r.rid: r for r in resources}
    gym = any(r.gym_dialect for r in resources)
    links: dict[tuple[str, str], Link] = {}
    diagonal: dict[str, tuple[int, float]] = {}
    for number, a, b, bw in bands:
        where = f"{label}: line {number}"
        for rid in (a, b):
            if rid not in by_id:
                raise SocEmuError(f"comm_band names resource ID {rid}, which is not defined", source=where)
        ra, rb = by_id[a], by_id[b]
        if not (ra.is_pe and rb.is_pe):
            continue  # memory bandwidths matter only in DS3's shared-memory mode, which we do not model
        if bw <= 0:
            raise SocEmuError(f"bandwidth between PEs must be > 0, got {bw:g}", source=where)
        if gym and a == b:
            diagonal[ra.name] = (number, bw)
            continue
        key = (ra.name, rb.name)
        links.pop(key[::-1], None)
        links[key] = Link(bandwidth=bw)

    if gym:
        values = {bw for _, bw in diagonal.values()}
        if len(diagonal) < len(pe_resources):
            values.add(1.0)  # unlisted diagonal entries keep DS3Gym's default of 1
        if len(values) > 1:
            line = min(n for n, _ in diagonal.values())
            raise SocEmuError(
                f"same-PE bandwidths differ between resources ({sorted(values)}); one value is supported",
                source=f"{label}: line {line}")
        same_pe = Link(bandwidth=values.pop() if band_self is None else band_self)
    else:
        same_pe = Link(bandwidth=1.0 if band_self is None else band_self)
    interconnect = Interconnect(default=Link(bandwidth=1.0), same_pe=same_pe, cluster_links=links)
    name = label.rsplit("/", 1)[-1]
    return Platform(name=name, pes=tuple(pes), interconnect=interconnect,
                    description=f"DS3 SoC file {label}", source=label, power=_ds3_power(pe_resources, label))


def read_ds3_job(text: str, label: str) -> TaskGraph:
    """Build a :class:`TaskGraph` from the text of a DS3 job file."""
    job_name: str | None = None
    declared: int | None = None
    declared_line = 0
    ids: dict[int, int] = {}  # DS3 task id -> our index
    names: list[str] = []
    preds: list[list[tuple[int, int]]] = []  # per task: (pred DS3 id, line)
    volumes: dict[tuple[int, int], tuple[float, int]] = {}
    for number, tokens in _lines(text):
        where = f"{label}: line {number}"
        key = tokens[0]
        if key == "job_name":
            if len(tokens) != 2:
                raise SocEmuError("expected 'job_name <name>'", source=where)
            job_name = tokens[1]
        elif key == "add_new_tasks":
            if len(tokens) != 2:
                raise SocEmuError("expected 'add_new_tasks <count>'", source=where)
            declared = _integer(tokens[1], where, "task count", minimum=1, maximum=int(limits.TASKS.high))
            declared_line = number
        elif key == "comm_vol":
            if len(tokens) != 4:
                raise SocEmuError("expected 'comm_vol <src id> <dst id> <volume>'", source=where)
            src = _integer(tokens[1], where, "source task ID")
            dst = _integer(tokens[2], where, "destination task ID")
            volumes[(src, dst)] = (_number(tokens[3], where, "volume"), number)
        elif len(tokens) >= 2 and tokens[1] in ("HEAD", "TAIL"):
            if len(tokens) != 2:
                raise SocEmuError(f"expected '<task> {tokens[1]}'", source=where)
            if key not in names:
                raise SocEmuError(f"{tokens[1]} marks task {key!r}, which is not defined yet", source=where)
        elif len(tokens) >= 2 and tokens[1] == "earliest_start":
            if key not in names:
                raise SocEmuError(f"timing line for task {key!r}, which is not defined yet", source=where)
            rest = tokens[1:]
            if len(rest) % 2 or any(k not in _TIMING_KEYS for k in rest[::2]):
                raise SocEmuError(
                    "expected '<task> earliest_start a deadline d [input_vol i output_vol o]'", source=where
                )
            for k, v in zip(rest[::2], rest[1::2]):
                _number(v, where, k)
        else:
            if declared is None:
                raise SocEmuError(f"task {key!r} before 'add_new_tasks'", source=where)
            if len(tokens) < 2:
                raise SocEmuError(f"expected '<task> <id> <predecessor ids...>', got {key!r}", source=where)
            tid = _integer(tokens[1], where, f"ID of task {key!r}")
            if tid in ids:
                raise SocEmuError(f"duplicate task ID {tid}", source=where)
            ids[tid] = len(names)
            names.append(key)
            preds.append([(_integer(p, where, f"predecessor of {key!r}"), number) for p in tokens[2:]])
    if declared is None:
        raise SocEmuError("missing 'add_new_tasks <count>'", source=label)
    if declared != len(names):
        raise SocEmuError(f"add_new_tasks says {declared} tasks, the file defines {len(names)}",
                          source=f"{label}: line {declared_line}")
    edges: list[Edge] = []
    edge_ids: set[tuple[int, int]] = set()
    for tid, index in ids.items():
        for pid, number in preds[index]:
            if pid not in ids:
                raise SocEmuError(f"task {names[index]!r} names predecessor ID {pid}, which is not defined",
                                  source=f"{label}: line {number}")
            edge_ids.add((pid, tid))
            volume = volumes.get((pid, tid), (0.0, 0))[0]
            edges.append(Edge(ids[pid], index, volume))
    for (src, dst), (_, number) in volumes.items():
        if (src, dst) not in edge_ids:
            raise SocEmuError(f"comm_vol {src} -> {dst} is not a dependency (task {dst} does not list {src} as a "
                              "predecessor)", source=f"{label}: line {number}")
    tasks = tuple(Task(index=i, name=n, kernel=n) for i, n in enumerate(names))
    return TaskGraph(name=job_name or label.rsplit("/", 1)[-1], tasks=tasks, edges=tuple(edges), source=label)
