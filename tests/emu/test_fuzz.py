"""Property-based fuzzing of every input format and of the ``run`` command line (Hypothesis).

Generated platform (with and without a ``[power]`` table), application, mix and DS3 files, with hostile
values mixed in (NaN, inf, 1e308, 5e-324, huge integers, negative numbers, wrong types, cycles,
self-includes), and generated ``run`` flag vectors, must each give one of two outcomes:

* exit status 0 and one sane JSON document: finite numbers, ``jobs_completed + jobs_dropped +
  jobs_unfinished == jobs_arrived`` (= the jobs asked for), latencies >= 0, utilisations in [0, 1];
* exit status 2, nothing on stdout, and one line ``soc-emu: error: ...`` on stderr;

within the Hypothesis deadline (a hang detector, not a speed target). Anything else (a traceback, a
hang, a silently wrong document) fails and Hypothesis shrinks it to a minimal case.

Profiles: ``ci`` (default: fixed seed via ``derandomize``, 100 examples per property, about 20 s in
all) and ``nightly`` (random seeds, 1,000 examples per property)::

    HYPOTHESIS_PROFILE=nightly .venv/bin/python -m pytest -q tests/emu/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from soc_emu.cli import main

settings.register_profile(
    "ci", max_examples=100, derandomize=True, database=None, deadline=timedelta(seconds=30), print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "nightly", max_examples=1000, derandomize=False, deadline=timedelta(seconds=30), print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

KERNELS = ("k0", "k1", "k2")
JOBS = 12

# -- values -------------------------------------------------------------------------------------------------
HOSTILE_NUMBERS = st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e308, 5e-324, -1.0, 0.0, 1e12 + 1, 10**30, 10**400, -(10**20)]
)
HOSTILE_VALUES = st.one_of(HOSTILE_NUMBERS, st.sampled_from(["x", "", True, [1], {"a": 1}]))


def rarely(hostile: st.SearchStrategy[Any], sane: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``sane`` eleven times in twelve, else ``hostile``: files with several fields stay valid often
    enough that the run itself is exercised, and each field is still attacked."""
    # Hypothesis favours 0 and the bounds when drawing integers, so the hostile roll is one in the middle.
    return st.integers(0, 95).flatmap(lambda roll: hostile if roll % 12 == 5 else sane)


def number(low: float, high: float) -> st.SearchStrategy[Any]:
    """Mostly a sane number in [low, high], sometimes a hostile value."""
    sane = st.one_of(st.floats(low, high, allow_nan=False), st.integers(int(math.ceil(low)), int(high)))
    return rarely(HOSTILE_VALUES, sane)


def integer(low: int, high: int) -> st.SearchStrategy[Any]:
    return rarely(HOSTILE_VALUES, st.integers(low, high))


def toml_value(value: Any) -> str:
    """A Python value as TOML (floats keep nan/inf; huge integers stay integers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {math.inf: "inf", -math.inf: "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_document(top: dict[str, Any], arrays: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """Top-level keys, tables (``[name]``) and arrays of tables (``[[name]]``)."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items() if not isinstance(v, dict)]
    for k, v in top.items():
        if isinstance(v, dict):
            lines += [f"[{k}]", *(f"{kk} = {toml_value(vv)}" for kk, vv in v.items())]
    for name, tables in (arrays or {}).items():
        for table in tables:
            lines += [f"[[{name}]]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


# -- files --------------------------------------------------------------------------------------------------
@st.composite
def platform_files(draw: st.DrawFn) -> str:
    groups = []
    for i in range(draw(st.integers(1, 3))):
        every = st.just(list(KERNELS))  # the first group runs every kernel, unless the draw says otherwise
        some = st.lists(st.sampled_from(KERNELS), min_size=0, max_size=3, unique=True)
        kernels = draw(rarely(some, every) if i == 0 else some)
        group: dict[str, Any] = {"name": f"g{i}", "type": draw(st.sampled_from(["cpu", "gpu", "fpga"])),
                                 "exec_times_us": {k: draw(number(0, 500)) for k in kernels}}
        for key, strategy in (("count", integer(1, 6)), ("capacity", integer(1, 4)),
                              ("active_power_w", number(0, 5)), ("idle_power_w", number(0, 1)),
                              ("launch_overhead_us", number(0, 20)), ("reconfig_time_us", number(0, 50))):
            if draw(st.booleans()):
                group[key] = draw(strategy)
        groups.append(group)
    interconnect = {"bandwidth": draw(number(1e-3, 1e4)), "latency_us": draw(number(0, 10))}
    if draw(st.booleans()):
        interconnect["same_pe_bandwidth"] = draw(number(1, 1e6))
    return toml_document({"name": "fuzz_platform", "interconnect": interconnect}, {"pe_group": groups})


@st.composite
def application_files(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 6))
    tasks = [{"name": f"t{i}", "kernel": draw(st.sampled_from(KERNELS))} for i in range(n)]
    edges = []
    pairs = {(a, b) for a in range(n) for b in range(a + 1, n)}  # forward edges: acyclic
    for src, dst in draw(st.lists(st.sampled_from(sorted(pairs)), max_size=8, unique=True)) if pairs else []:
        edges.append({"src": f"t{src}", "dst": f"t{dst}", "volume": draw(number(0, 1e4))})
    if draw(rarely(st.just(True), st.just(False))):  # a back edge: a cycle or a self-loop
        edges.append({"src": f"t{n - 1}", "dst": f"t{draw(st.integers(0, n - 1))}"})
    top: dict[str, Any] = {"name": "fuzz_app"}
    if draw(st.booleans()):
        top["deadline_us"] = draw(number(1, 1e5))
    return toml_document(top, {"tasks": tasks, "edges": edges})


@st.composite
def mix_files(draw: st.DrawFn) -> str:
    apps = [{"app": "app.toml", "probability": draw(number(0.1, 10))}]
    if draw(st.booleans()):
        other = rarely(st.sampled_from(["mix.toml", "wifi_tx", "nope.toml"]), st.just("other.toml"))
        apps.append({"app": draw(other), "probability": draw(number(0, 10))})
    kind = draw(rarely(st.just("bursty"), st.sampled_from(["poisson", "fixed", "trace"])))
    arrivals: dict[str, Any] = {"kind": kind}
    if kind == "trace":
        sane = st.lists(st.floats(0, 1e4), min_size=1, max_size=JOBS).map(sorted)
        arrivals["trace_us"] = draw(rarely(st.lists(HOSTILE_VALUES, max_size=3), sane))
    else:
        key = draw(st.sampled_from(["rate_jobs_per_ms", "mean_interarrival_us"]))
        arrivals[key] = draw(number(0.5, 50) if key == "rate_jobs_per_ms" else number(20, 2000))
    top: dict[str, Any] = {"name": "fuzz_mix", "arrivals": arrivals}
    if draw(st.booleans()):
        top["max_jobs_in_system"] = draw(integer(1, 5))
        top["drop_when_full"] = draw(st.booleans())
    return toml_document(top, {"applications": apps})


def ds3_token(draw: st.DrawFn, low: float, high: float) -> str:
    value = draw(number(low, high))
    return toml_value(value) if not isinstance(value, (list, dict)) else "[]"


@st.composite
def ds3_soc_files(draw: st.DrawFn) -> str:
    lines = []
    count = draw(st.integers(1, 3))
    for rid in range(count):
        some = st.lists(st.sampled_from(KERNELS), min_size=1, max_size=3, unique=True)
        kernels = draw(some if rid else rarely(some, st.just(list(KERNELS))))
        declared = len(kernels) + draw(rarely(st.sampled_from([1, -1]), st.just(0)))
        capacity = toml_value(draw(rarely(HOSTILE_NUMBERS, st.integers(1, 4))))
        lines.append(f"add_new_resource CPU P{rid} {rid} {capacity} {declared} performance")
        lines += [f"{k} {ds3_token(draw, 0, 300)} 1" for k in kernels]
    for _ in range(draw(st.integers(0, 3))):
        ids = rarely(st.integers(0, 9), st.integers(0, count - 1))
        lines.append(f"comm_band {draw(ids)} {draw(ids)} {ds3_token(draw, 0.1, 100)}")
    return "\n".join(lines) + "\n"


@st.composite
def ds3_job_files(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 5))
    declared = n + draw(rarely(st.just(1), st.just(0)))
    lines = ["job_name fuzz_job", f"add_new_tasks {declared}"]
    for i in range(n):
        earlier = st.lists(st.integers(0, i - 1), max_size=2, unique=True) if i else st.just([])
        preds = draw(rarely(st.lists(st.integers(0, n), max_size=2, unique=True), earlier))
        lines.append(f"{draw(st.sampled_from(KERNELS))} {i} " + " ".join(map(str, preds)))
    for i in range(n - 1):
        if draw(st.booleans()):
            lines.append(f"comm_vol {i} {i + 1} {ds3_token(draw, 0, 100)}")
    return "\n".join(lines) + "\n"


# -- the contract -------------------------------------------------------------------------------------------
def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def assert_contract(argv: list[str], jobs: int | None = JOBS) -> None:
    """Exit 0 with one sane JSON document, or exit 2 with one error line (see the module docstring)."""
    rc, out, err = run_cli(argv)
    event(f"exit status {rc}")  # --hypothesis-show-statistics shows how often each outcome was drawn
    if rc == 2:
        assert out == "" and err.startswith("soc-emu: error: ") and err.count("\n") == 1, (argv, err)
        return
    assert rc == 0, (argv, rc, err)
    doc = json.loads(out)
    assert out.count("\n") == 1
    arrived = doc["jobs_arrived"]
    assert doc["jobs_completed"] + doc["jobs_dropped"] + doc["jobs_unfinished"] == arrived, doc
    if jobs is not None and "--duration" not in argv:
        assert arrived <= jobs and doc["jobs_unfinished"] == 0
    for key in ("mean_latency_us", "p95_latency_us", "makespan_us", "energy_total_uj"):
        value = doc[key]
        assert value is None or (math.isfinite(value) and value >= 0), (key, value)
    if doc["jobs_completed"]:
        assert doc["mean_latency_us"] is not None and doc["p50_latency_us"] <= doc["max_latency_us"]
    assert all(u is None or 0 <= u <= 1 + 1e-9 for u in doc["utilization"].values())
    assert doc["latency_covers"].startswith(f"completed jobs: {doc['jobs_completed']} of {arrived} arrived")


def in_files(**texts: str) -> contextlib.AbstractContextManager[Path]:
    """A temporary folder holding ``name -> text`` files (Hypothesis cannot use function-scoped fixtures)."""
    folder = tempfile.TemporaryDirectory(prefix="soc-emu-fuzz-")

    @contextlib.contextmanager
    def scope() -> Any:
        with folder as name:
            root = Path(name)
            for file_name, text in texts.items():
                (root / file_name.replace("_", ".", 1)).write_text(text)
            yield root

    return scope()


FIXED_APP = toml_document({"name": "fixed"}, {"tasks": [{"name": "a", "kernel": "k0"}, {"name": "b", "kernel": "k1"}],
                                              "edges": [{"src": "a", "dst": "b", "volume": 10}]})
FIXED_PLATFORM = toml_document({"name": "fixed", "interconnect": {"bandwidth": 10.0}}, {
    "pe_group": [{"name": "c", "type": "cpu", "count": 2, "exec_times_us": {k: 5.0 for k in KERNELS}}]})


@FUZZ
@given(platform=platform_files(), scheduler=st.sampled_from(["heft", "met", "etf", "round_robin"]))
def test_generated_platforms(platform: str, scheduler: str) -> None:
    with in_files(platform_toml=platform, app_toml=FIXED_APP) as root:
        assert_contract(["run", "--platform", str(root / "platform.toml"), "--workload", str(root / "app.toml"),
                         "--scheduler", scheduler, "--jobs", str(JOBS), "--json"])


@FUZZ
@given(app=application_files())
def test_generated_applications(app: str) -> None:
    with in_files(platform_toml=FIXED_PLATFORM, app_toml=app) as root:
        assert_contract(["run", "--platform", str(root / "platform.toml"), "--workload", str(root / "app.toml"),
                         "--jobs", str(JOBS), "--json"])


@FUZZ
@given(mix=mix_files(), other=application_files())
def test_generated_mixes(mix: str, other: str) -> None:
    with in_files(platform_toml=FIXED_PLATFORM, app_toml=FIXED_APP, other_toml=other, mix_toml=mix) as root:
        assert_contract(["run", "--platform", str(root / "platform.toml"), "--workload", str(root / "mix.toml"),
                         "--jobs", str(JOBS), "--json"])


@FUZZ
@given(soc=ds3_soc_files(), job=ds3_job_files())
def test_generated_ds3_files(soc: str, job: str) -> None:
    with in_files(soc_txt=soc, job_txt=job) as root:
        assert_contract(["run", "--platform", str(root / "soc.txt"), "--workload", str(root / "job.txt"),
                         "--jobs", str(JOBS), "--json"])


@st.composite
def power_platform_files(draw: st.DrawFn) -> str:
    """One CPU group running ``work``, with a generated ``[power]`` table (OPPs, governor, thermal node)."""
    mhz = sorted(draw(st.lists(st.floats(100, 3000), min_size=1, max_size=4, unique=True)))
    opp: list[Any] = [[f, 700 + 100 * i] for i, f in enumerate(mhz)]
    if draw(rarely(st.just(True), st.just(False))):
        opp[-1] = [draw(HOSTILE_NUMBERS), draw(HOSTILE_NUMBERS)]
    cluster: dict[str, Any] = {"name": "cpu", "opp": opp, "ceff_nf": draw(number(0, 5)),
                               "leakage_w": draw(number(0, 1)), "idle_w": draw(number(0, 1)),
                               "transition_us": draw(number(0, 100)),
                               "governor": draw(rarely(st.just("turbo"), st.sampled_from(
                                   ["performance", "powersave", "ondemand", "schedutil", "userspace"])))}
    top = {"name": "fuzz_power", "interconnect": {"bandwidth": math.inf}}
    power = {"ambient_c": draw(number(0, 60)), "sampling_period_us": draw(number(1, 1000))}
    lines = [toml_document(top, {"pe_group": [{"name": "cpu", "type": "cpu", "count": draw(st.integers(1, 3)),
                                                "exec_times_us": {"work": draw(number(1, 100))}}]}),
             toml_document({"power": power}), toml_document({}, {"power.cluster": [cluster]})]
    if draw(st.booleans()):
        thermal = {"resistance_c_per_w": draw(number(0.1, 50)), "capacitance_j_per_c": draw(number(1e-4, 1)),
                   "trip_c": [draw(number(40, 120))], "trip_mhz": [mhz[0]]}
        lines.append(toml_document({"power.cluster.thermal": thermal}))
    return "".join(lines)


@FUZZ
@given(platform=power_platform_files(), governor=st.sampled_from(["", "ondemand", "schedutil", "userspace:800"]))
def test_generated_power_tables(platform: str, governor: str) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    with in_files(platform_toml=platform) as root:
        argv = ["run", "--platform", str(root / "platform.toml"), "--workload", str(fixtures / "power_work_app.toml"),
                "--jobs", str(JOBS), "--json"]
        assert_contract(argv + (["--governor", governor] if governor else []))


FLAG_VALUES: dict[str, st.SearchStrategy[str]] = {
    "--rate": st.sampled_from(["5", "40", "0", "-1", "5e-324", "1e308", "inf", "nan", "x", ""]),
    "--interarrival": st.sampled_from(["50", "1e-4", "1e300", "-3", "nan"]),
    "--seed": st.sampled_from(["0", "7", "-1", "9" * 30, "1.5"]),
    "--noise": st.sampled_from(["0.2", "0", "-0.1", "11", "inf"]),
    "--max-jobs": st.sampled_from(["2", "0", "10" * 20]),
    "--drop": st.just(""),
    "--failures": st.sampled_from(["2000,200", "1e-300,1", "5", "0,10", "inf,inf", "a,b"]),
    "--failure-types": st.sampled_from(["cpu_big", "gpu,dsp", "bogus", ""]),
    "--binding": st.sampled_from(["late", "on_ready", "sometimes"]),
    "--scheduler": st.sampled_from(["heft", "met", "etf", "random", "round_robin", "oracle", ""]),
    "--workload": st.sampled_from(["wifi_tx", "wifi_tx:2,radar", "wifi_tx:1e308,radar:1e308", "radar:-1",
                                   "random:tasks=8,seed=3", "random:tasks=1000000", "", ",", "nope"]),
    "--platform": st.sampled_from(["hetero", "ds3", "/dev/zero", "", "atlantis"]),
    "--duration": st.sampled_from(["3000", "0", "1e400", "nan"]),
    "--scheduler-option": st.sampled_from(["x=1", "nonsense", "=3"]),
}


@FUZZ
@given(flags=st.dictionaries(st.sampled_from(sorted(FLAG_VALUES)), st.just(None), max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({k: FLAG_VALUES[k] for k in keys})))
def test_generated_run_flags(flags: dict[str, str]) -> None:
    argv = ["run", "--json"]
    for flag, value in flags.items():
        argv += [flag] if flag == "--drop" else [flag, value]
    if "--duration" not in flags:
        argv += ["--jobs", str(JOBS)]
    assert_contract(argv)
