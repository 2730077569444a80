"""Reader of the project's own TOML formats: platform, application (one task graph) and workload (mix).

Units: times in microseconds, power in watts, data volumes in the platform's ``volume_unit`` (bytes for
the built-in platforms) and bandwidths in volume units per microsecond (1 byte/us = 1 MB/s), so
``transfer time = latency_us + volume / bandwidth``. ``inf`` is a valid TOML float (free transfers).

Platform file::

    name = "hetero"                    # required
    description = "..."                # optional
    sources = ["where the figures come from", ...]
    volume_unit = "bytes"              # optional, default "bytes"

    [interconnect]
    bandwidth = 8000.0                 # default link between clusters, > 0 (inf allowed)
    latency_us = 0.1                   # default link latency, >= 0 (default 0)
    same_pe_bandwidth = inf            # producer and consumer on one PE (default inf)
    same_pe_latency_us = 0.0           # default 0
    shared_bus = false                 # transfers queue on one shared bus (default false)
    [[interconnect.link]]              # optional per-cluster-pair links (symmetric)
    between = ["little", "fft"]        # two cluster names; the same name twice = within that cluster
    bandwidth = 10.0
    latency_us = 0.0                   # default: the default link latency

    [[pe_group]]                       # one per kind of PE; PEs are named <group>_<i>
    name = "big"
    type = "cpu_big"                   # see soc_emu.model.PE_TYPES
    count = 4                          # number of PEs (default 1)
    capacity = 1                       # parallel slots per PE (FPGA: reconfigurable regions)
    cluster = "big"                    # interconnect cluster (default: the group name)
    active_power_w = 0.8               # per busy slot
    idle_power_w = 0.05                # per idle slot
    launch_overhead_us = 0.0           # added to every task start (GPU kernel launch)
    reconfig_time_us = 0.0             # FPGA: loading a different kernel into a region
    preloaded_kernels = ["fft"]        # FPGA: kernels in the first regions at start (boot image)
    [pe_group.exec_times_us]           # kernel -> nominal execution time (us); absent = unsupported
    fft = 114.0
    # optional: more kernels from timings files (paths relative to this file), e.g. FPGA times that
    # `soc-emu hw export-timings` derived from the generated accelerators' measured cycles
    exec_times_files = ["../timings/intar_fpga.toml"]

``extends = "other.toml"`` (a path relative to this file) starts from that platform file; the keys this
file gives (e.g. ``name``, ``[power]``) replace the base's top-level keys.

Optional ``[power]`` table: OPPs, power model, governor and thermal node per cluster; see
:mod:`soc_emu.formats.power_toml`.

Timings file (what ``soc-emu hw export-timings`` writes)::

    kind = "timings"
    name = "intar_fpga"
    description = "..."; sources = [...]
    clock_mhz = 250.0                  # the named clock the cycles were converted at (informative)
    [exec_times_us]                    # kernel -> us, merged into the PE groups that list this file
    dnn_mlp = 133.7
    [cycles]                           # optional: the measured cycles behind each time (informative)
    dnn_mlp = 33423
    [clocks_mhz]                       # optional: the clock per kernel (informative)
    dnn_mlp = 85.6
    [clock_sources]                    # optional: "implemented" (the design's Fmax) or "named" per kernel
    dnn_mlp = "implemented"

Application file (one task graph)::

    name = "wifi_tx"
    description = "..."; sources = [...]
    deadline_us = 500.0                # optional relative deadline
    tasks = [ { name = "scrambler_encoder" }, { name = "fft_1", kernel = "fft" }, ... ]  # kernel defaults to name
    edges = [ { src = "scrambler_encoder", dst = "interleaver_1", volume = 2000 }, ... ]  # volume default 0

Workload (mix) file::

    name = "ds3_mix"
    description = "..."; sources = [...]
    applications = [ { app = "wifi_tx", probability = 0.2 }, ... ]  # built-in name or path (relative to this file)
    max_jobs_in_system = 12            # optional admission cap (DS3 max_jobs_in_parallel)
    drop_when_full = true              # drop arrivals while the cap is reached (default false: they wait)
    [arrivals]
    kind = "poisson"                   # poisson | fixed | trace
    mean_interarrival_us = 100.0       # or rate_jobs_per_ms = 10.0 (not both)
    trace_us = [0.0, 12.5, ...]        # kind = "trace": absolute arrival times
    trace_apps = ["wifi_tx", ...]      # optional, one application name per trace entry

A file's kind is recognised from its content: ``pe_group`` makes a platform, ``tasks`` an application,
``applications`` a workload; an optional top-level ``kind = "platform"|"application"|"workload"`` says it
explicitly. Every problem raises one :class:`SocEmuError` naming the file and field.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.formats.fields import Fields, check_number
from soc_emu.formats.power_toml import power_from_fields
from soc_emu.model import (
    ArrivalProcess,
    Edge,
    Interconnect,
    JobMix,
    Link,
    Platform,
    ProcessingElement,
    Task,
    TaskGraph,
    Workload,
)

#: Resolves an application reference of a mix file (built-in name or path) to a task graph;
#: raises ``KeyError`` with the list of known names when the reference is unknown.
AppResolver = Callable[[str], TaskGraph]

#: Reads a file a platform refers to (a path relative to the platform file): returns (text, label).
IncludeReader = Callable[[str], tuple[str, str]]


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error names the file and the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SocEmuError(f"TOML syntax error: {exc}", source=label) from None


def toml_kind(data: Mapping[str, Any]) -> str | None:
    """``"platform"``, ``"application"``, ``"workload"`` or ``None``: the optional ``kind`` key when it
    names one of them, else inferred from the keys present."""
    kind = data.get("kind")
    if kind in ("platform", "application", "workload"):
        return str(kind)
    if "pe_group" in data or "extends" in data:
        return "platform"
    if "applications" in data:
        return "workload"
    if "tasks" in data:
        return "application"
    return None


def suggest(name: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` or the list of known names."""
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(known))})"


def _check_kind(f: Fields, expected: str) -> None:
    kind = f.string("kind", expected)
    if kind != expected:
        raise f.error("kind", f'expected "{expected}" here, got "{kind}"')


def _common_header(f: Fields) -> tuple[str, str]:
    name = f.string("name")
    description = f.string("description", "")
    sources = f.array("sources", [])
    for i, item in enumerate(sources):
        if not isinstance(item, str):
            raise f.error(f"sources[{i}]", "expected a string")
    return name, description


# ----------------------------------------------------------------------------------------------
# platform
# ----------------------------------------------------------------------------------------------
def timings_from_toml(data: Mapping[str, Any], label: str) -> dict[str, float]:
    """The ``kernel -> us`` table of a parsed timings file."""
    f = Fields(data, label)
    _common_header(f)
    _check_kind(f, "timings")
    f.number("clock_mhz", 0.0)
    table = f.sub("exec_times_us")
    assert table is not None
    times = {kernel: limits.TIME_US.check(value, table.where(kernel)) for kernel, value in table.items()}
    if not times:
        raise f.error("exec_times_us", "a timings file must give at least one kernel")
    for informative in ("cycles", "clocks_mhz"):         # measured cycles; per-kernel clocks (MHz)
        table = f.sub(informative, {})
        if table is not None:
            for kernel, value in table.items():
                check_number(value, table.where(kernel))
    f.sub("clock_sources", {})                           # per kernel: "implemented" (Fmax) or "named"
    f.finish()
    return times


def _included_times(g: Fields, read_include: IncludeReader | None) -> dict[str, float]:
    """Kernel times from a PE group's ``exec_times_files``."""
    refs = g.array("exec_times_files", [])
    times: dict[str, float] = {}
    for i, ref in enumerate(refs):
        if not isinstance(ref, str):
            raise g.error(f"exec_times_files[{i}]", "expected a path string")
        if read_include is None:
            raise g.error(f"exec_times_files[{i}]", "this platform was not read from a file: nothing to include")
        text, label = read_include(ref)
        for kernel, value in timings_from_toml(parse_toml(text, label), label).items():
            if kernel in times:
                raise SocEmuError(f"kernel {kernel!r} is given by two timings files", source=label)
            times[kernel] = value
    return times


def _extended(data: Mapping[str, Any], label: str, read_include: IncludeReader | None) -> dict[str, Any]:
    """``data`` on top of the platform file its ``extends`` key names (top-level keys replace the base's)."""
    ref = data["extends"]
    if not isinstance(ref, str) or read_include is None:
        raise SocEmuError("expected the path of a platform file this one extends", source=f"{label}: extends")
    text, base_label = read_include(ref)
    base = parse_toml(text, base_label)
    if "extends" in base:
        raise SocEmuError("a platform that extends another cannot itself be extended", source=f"{label}: extends")
    merged = dict(base)
    merged.update({k: v for k, v in data.items() if k != "extends"})
    return merged


def platform_from_toml(data: Mapping[str, Any], label: str, read_include: IncludeReader | None = None) -> Platform:
    """Build a :class:`Platform` from a parsed platform file (``read_include`` reads timings files and
    the file an ``extends`` key names)."""
    if "extends" in data:
        data = _extended(data, label, read_include)
    f = Fields(data, label)
    name, description = _common_header(f)
    f.string("volume_unit", "bytes")
    _check_kind(f, "platform")
    ic = f.sub("interconnect")
    assert ic is not None
    default = Link(
        bandwidth=ic.number("bandwidth", limit=limits.BANDWIDTH),
        latency_us=ic.number("latency_us", 0.0, limit=limits.TIME_US),
    )
    same_pe = Link(
        bandwidth=ic.number("same_pe_bandwidth", math.inf, limit=limits.BANDWIDTH),
        latency_us=ic.number("same_pe_latency_us", 0.0, limit=limits.TIME_US),
    )
    shared_bus = ic.boolean("shared_bus", False)
    link_tables = ic.tables("link", [])
    ic.finish()

    pes: list[ProcessingElement] = []
    clusters: set[str] = set()
    groups = f.tables("pe_group")
    if not groups:
        raise f.error("pe_group", "a platform needs at least one PE group")
    group_names: set[str] = set()
    for g in groups:
        gname = g.string("name")
        if gname in group_names:
            raise g.error("name", f"duplicate PE group name {gname!r}")
        group_names.add(gname)
        pe_type = g.string("type")
        count = g.integer("count", 1, limit=limits.PE_COUNT)
        capacity = g.integer("capacity", 1, limit=limits.CAPACITY)
        if len(pes) + count > limits.PE_COUNT.high:
            raise g.error("count", f"the platform would have {len(pes) + count} PEs; at most "
                                   f"{limits.PE_COUNT.high:.0f} in all are supported")
        cluster = g.string("cluster", gname)
        active = g.number("active_power_w", 0.0, limit=limits.POWER_W)
        idle = g.number("idle_power_w", 0.0, limit=limits.POWER_W)
        launch = g.number("launch_overhead_us", 0.0, limit=limits.TIME_US)
        reconfig = g.number("reconfig_time_us", 0.0, limit=limits.TIME_US)
        preloaded = g.array("preloaded_kernels", [])
        for i, kernel in enumerate(preloaded):
            if not isinstance(kernel, str):
                raise g.error(f"preloaded_kernels[{i}]", "expected a kernel name")
        table = g.sub("exec_times_us", {} if "exec_times_files" in g.table else None)
        times: dict[str, float] = {}
        if table:
            for kernel, value in table.items():
                times[kernel] = limits.TIME_US.check(value, table.where(kernel))
        if table is None:
            raise g.error("exec_times_us", "missing required field (or give exec_times_files)")
        for kernel, value in _included_times(g, read_include).items():
            if kernel in times:
                raise g.error(f"exec_times_us.{kernel}", "also given by an exec_times_files entry")
            times[kernel] = value
        if not times:
            raise g.error("exec_times_us", "a PE group must run at least one kernel")
        g.finish()
        clusters.add(cluster)
        for i in range(count):
            pes.append(
                ProcessingElement(
                    index=len(pes),
                    name=f"{gname}_{i}",
                    pe_type=pe_type,
                    cluster=cluster,
                    capacity=capacity,
                    exec_times_us=dict(times),
                    active_power_w=active,
                    idle_power_w=idle,
                    launch_overhead_us=launch,
                    reconfig_time_us=reconfig,
                    preloaded_kernels=tuple(preloaded),
                )
            )

    cluster_links: dict[tuple[str, str], Link] = {}
    for lk in link_tables:
        between = lk.array("between")
        if len(between) != 2 or not all(isinstance(c, str) for c in between):
            raise lk.error("between", "expected two cluster names")
        for c in between:
            if c not in clusters:
                raise lk.error("between", f"unknown cluster {c!r}{suggest(c, sorted(clusters))}")
        key = (between[0], between[1])
        if key in cluster_links or key[::-1] in cluster_links:
            raise lk.error("between", f"link {key[0]} <-> {key[1]} defined twice")
        cluster_links[key] = Link(
            bandwidth=lk.number("bandwidth", limit=limits.BANDWIDTH),
            latency_us=lk.number("latency_us", default.latency_us, limit=limits.TIME_US),
        )
        lk.finish()
    power = power_from_fields(f.sub("power", None))
    f.finish()
    interconnect = Interconnect(default=default, same_pe=same_pe, cluster_links=cluster_links, shared_bus=shared_bus)
    return Platform(name=name, pes=tuple(pes), interconnect=interconnect, description=description, source=label,
                    power=power)


# ----------------------------------------------------------------------------------------------
# application
# ----------------------------------------------------------------------------------------------
def taskgraph_from_toml(data: Mapping[str, Any], label: str) -> TaskGraph:
    """Build a :class:`TaskGraph` from a parsed application file."""
    f = Fields(data, label)
    name, _ = _common_header(f)
    _check_kind(f, "application")
    deadline = f.number("deadline_us", None, limit=limits.POSITIVE_TIME_US)
    tasks: list[Task] = []
    index: dict[str, int] = {}
    task_tables = f.tables("tasks")
    if not task_tables:
        raise f.error("tasks", "an application needs at least one task")
    if len(task_tables) > limits.TASKS.high:
        raise f.error("tasks", f"{len(task_tables)} tasks; expected {limits.TASKS.describe()}")
    for t in task_tables:
        tname = t.string("name")
        if tname in index:
            raise t.error("name", f"duplicate task name {tname!r}")
        kernel = t.string("kernel", tname)
        t.finish()
        index[tname] = len(tasks)
        tasks.append(Task(index=len(tasks), name=tname, kernel=kernel))
    edges: list[Edge] = []
    for e in f.tables("edges", []):
        ends = []
        for key in ("src", "dst"):
            tname = e.string(key)
            if tname not in index:
                raise e.error(key, f"unknown task {tname!r}{suggest(tname, list(index))}")
            ends.append(index[tname])
        volume = e.number("volume", 0.0, limit=limits.VOLUME)
        e.finish()
        edges.append(Edge(ends[0], ends[1], volume))
    f.finish()
    return TaskGraph(name=name, tasks=tuple(tasks), edges=tuple(edges), deadline_us=deadline, source=label)


# ----------------------------------------------------------------------------------------------
# workload (mix)
# ----------------------------------------------------------------------------------------------
def arrivals_from_fields(a: Fields | None) -> ArrivalProcess:
    """The ``[arrivals]`` table (absent: the model's default Poisson process)."""
    if a is None:
        return ArrivalProcess()
    kind = a.string("kind", "poisson")
    if kind not in ("poisson", "fixed", "trace"):
        raise a.error("kind", f"expected poisson, fixed or trace, got \"{kind}\"")
    mean = a.number("mean_interarrival_us", None, limit=limits.INTERARRIVAL_US)
    rate = a.number("rate_jobs_per_ms", None, limit=limits.RATE_JOBS_PER_MS)
    trace = a.array("trace_us", [])
    trace_apps = a.array("trace_apps", None)
    if mean is not None and rate is not None:
        raise a.error("rate_jobs_per_ms", "give mean_interarrival_us or rate_jobs_per_ms, not both")
    if rate is not None:
        mean = 1000.0 / rate
    if len(trace) > limits.TRACE_LENGTH.high:
        raise a.error("trace_us", f"{len(trace)} entries; expected {limits.TRACE_LENGTH.describe()}")
    times = tuple(limits.TIME_US.check(v, a.where(f"trace_us[{i}]")) for i, v in enumerate(trace))
    if kind == "trace":
        if not times:
            raise a.error("trace_us", "a trace needs at least one arrival time")
        if any(b < x for x, b in zip(times, times[1:])):
            raise a.error("trace_us", "arrival times must be non-decreasing")
        if trace_apps is not None:
            if len(trace_apps) != len(times) or not all(isinstance(s, str) for s in trace_apps):
                raise a.error("trace_apps", "expected one application name per trace_us entry")
            trace_apps = tuple(trace_apps)
    else:
        if mean is None:
            raise a.error("mean_interarrival_us", f"{kind} arrivals need mean_interarrival_us or rate_jobs_per_ms")
        if times or trace_apps is not None:
            raise a.error("trace_us", f"trace times are only used with kind = \"trace\", not \"{kind}\"")
    a.finish()
    return ArrivalProcess(
        kind=kind,  # type: ignore[arg-type]
        mean_interarrival_us=mean if mean is not None else 100.0,
        trace_us=times,
        trace_apps=trace_apps,
    )


def workload_from_toml(data: Mapping[str, Any], label: str, resolve_app: AppResolver) -> Workload:
    """Build a :class:`Workload` from a parsed mix file; ``resolve_app`` finds applications by reference."""
    f = Fields(data, label)
    name, _ = _common_header(f)
    _check_kind(f, "workload")
    graphs: list[TaskGraph] = []
    probs: list[float] = []
    apps = f.tables("applications")
    if not apps:
        raise f.error("applications", "a workload needs at least one application")
    if len(apps) > limits.APPS.high:
        raise f.error("applications", f"{len(apps)} applications; expected {limits.APPS.describe()}")
    for entry in apps:
        ref = entry.string("app")
        try:
            graph = resolve_app(ref)
        except KeyError as exc:
            known = list(exc.args[0]) if exc.args else []
            raise entry.error("app", f"unknown application {ref!r}{suggest(ref, known)}") from None
        if any(g.name == graph.name for g in graphs):
            raise entry.error("app", f"application {graph.name!r} appears twice")
        graphs.append(graph)
        probs.append(entry.number("probability", 1.0, limit=limits.WEIGHT))
        entry.finish()
    if not sum(probs) > 0:
        raise f.error("applications", "probabilities must not all be zero")
    arrivals = arrivals_from_fields(f.sub("arrivals", None))
    if arrivals.trace_apps is not None:
        known = [g.name for g in graphs]
        for i, app in enumerate(arrivals.trace_apps):
            if app not in known:
                raise SocEmuError(f"application {app!r} is not in the mix{suggest(app, known)}",
                                  source=f"{label}: arrivals.trace_apps[{i}]")
    cap = f.integer("max_jobs_in_system", None, limit=limits.JOBS)
    drop = f.boolean("drop_when_full", False)
    f.finish()
    return Workload(
        name=name,
        mix=JobMix(graphs=tuple(graphs), probabilities=tuple(probs)),
        arrivals=arrivals,
        max_jobs_in_system=cap,
        drop_when_full=drop,
        source=label,
    )
