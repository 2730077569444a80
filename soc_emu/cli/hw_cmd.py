"""``soc-emu hw``: generate InTAR-style accelerators (Verilog + schedule) and report simulated metrics.

``soc-emu hw implement --kernel K --variant V`` synthesises, places and routes each core of a design for
an ECP5 FPGA and prints Fmax, critical path and utilisation. ``soc-emu hw export-timings --out FILE`` writes the measured times as an emulator timings file (the
co-design link: a platform's FPGA reads them). ``soc-emu hw generate --kernel mlp --variant intar --out DIR`` writes ``DIR/mlp_intar.v`` and
``DIR/mlp_intar_schedule.json``. ``soc-emu hw report [--kernel K ...] [--variant V ...] [--json]``
simulates the designs under Verilator, checks them bit-exact against the golden models and prints a
table (or one JSON object). Heavy imports (Amaranth, cocotb) happen only inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys

from soc_emu.cli.arguments import check_ranges, output_file_arg
from soc_emu.limits import Range

HELP = "generate InTAR-style accelerators and report their simulated performance"
KERNELS = ("mlp", "ffn", "cnn", "attention")
VARIANTS = ("sequential", "dataflow", "intar")
BUDGET_FLAGS = (("lanes", "MAC lanes in total (default 16)"),
                ("cores", "most compute cores a design may use (default 4)"),
                ("buffer-bytes", "on-chip activation bytes: scratchpads, stream rings, partial sums (default 2560)"),
                ("words-per-cycle", "off-chip bandwidth in int8 words per cycle per direction (default 4)"),
                ("latency", "off-chip read latency in cycles (default 64)"),
                ("weight-bytes", "on-chip weight-buffer bytes (default 1024 per MAC lane)"))


#: Ranges of the numeric ``hw`` flags (argparse ``dest`` names): what a generator run on a workstation
#: can honour in seconds (``--latency 100000`` used to run for minutes and gigabytes).
HW_RANGES: dict[str, Range] = {
    "lanes": Range(1, 256, "MAC lanes", integer=True),
    "cores": Range(1, 16, "cores", integer=True),
    "buffer_bytes": Range(1, 2**20, "bytes", integer=True),
    "words_per_cycle": Range(1, 64, "words", integer=True),
    "latency": Range(1, 1024, "cycles", integer=True),
    "weight_bytes": Range(1, 2**22, "bytes", integer=True),
    "seeds": Range(1, 64, "seeds", integer=True),
    "clock_mhz": Range(1.0, 2000.0, "MHz"),
    "target_mhz": Range(1.0, 2000.0, "MHz"),
    "seed": Range(0, 2**31 - 1, integer=True),
}
#: Range of each ``--size`` value.
SIZE_RANGE = Range(1, 1024, integer=True)


def _add_budget(p: argparse.ArgumentParser) -> None:
    for flag, text in BUDGET_FLAGS:
        p.add_argument(f"--{flag}", type=int, default=None, metavar="N", help=text)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``hw`` with its ``generate`` and ``report`` subcommands."""
    p = subparsers.add_parser("hw", help=HELP, description=HELP + ".")
    sub = p.add_subparsers(dest="hw_command", metavar="ACTION", parser_class=type(p))
    g = sub.add_parser("generate", help="write the Verilog and schedule JSON of one design")
    g.add_argument("--kernel", required=True, help=f"kernel ({', '.join(KERNELS)})")
    g.add_argument("--variant", required=True, help=f"variant ({', '.join(VARIANTS)})")
    g.add_argument("--size", action="append", default=[], metavar="KEY=N",
                   help="override a kernel size, e.g. --size tokens=16 (repeatable)")
    g.add_argument("--out", default="hw_out", metavar="DIR", help="output folder (default hw_out)")
    _add_budget(g)
    r = sub.add_parser("report", help="simulate kernel x variant designs and print their metrics")
    r.add_argument("--kernel", action="append", default=None, help="kernel to report (repeatable; default all)")
    r.add_argument("--variant", action="append", default=None, help="variant to report (repeatable; default all)")
    r.add_argument("--size", action="append", default=[], metavar="KERNEL.KEY=N",
                   help="override a kernel size, e.g. --size mlp.tokens=16 (repeatable)")
    r.add_argument("--seeds", type=int, default=1, metavar="N", help="random inputs per design, all checked (default 1)")
    r.add_argument("--no-cells", action="store_true", help="skip the Yosys cell counts")
    r.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    _add_budget(r)
    e = sub.add_parser("export-timings",
                       help="simulate designs and write their measured times as an emulator timings file")
    e.add_argument("--kernel", action="append", default=None, help="kernel to export (repeatable; default all)")
    e.add_argument("--variant", default="intar", help="which variant's cycles to export (default intar)")
    e.add_argument("--clock-mhz", type=float, default=None, metavar="MHZ",
                   help="a clock you name (default: each design's implemented Fmax); with --implementation, "
                        "the clock of kernels the file lacks")
    e.add_argument("--implementation", default=None, metavar="FILE",
                   help="read the Fmax from stored implementation results (benchmarks/hw_implement.py --out) "
                        "instead of placing and routing now")
    e.add_argument("--name", default="intar_fpga", help="name recorded in the file (default intar_fpga)")
    e.add_argument("--out", required=True, metavar="FILE", type=output_file_arg, help="timings file to write (TOML)")
    _add_budget(e)
    i = sub.add_parser("implement", help="synthesise, place and route one design's cores for a real FPGA")
    i.add_argument("--kernel", required=True, help=f"kernel ({', '.join(KERNELS)})")
    i.add_argument("--variant", required=True, help=f"variant ({', '.join(VARIANTS)})")
    i.add_argument("--size", action="append", default=[], metavar="KEY=N",
                   help="override a kernel size, e.g. --size tokens=16 (repeatable)")
    i.add_argument("--device", default="85k", help="ECP5 device as nextpnr names it (default 85k: LFE5U-85F)")
    i.add_argument("--package", default=None, help="device package (default CABGA381)")
    i.add_argument("--target-mhz", type=float, default=100.0, metavar="MHZ",
                   help="clock the timing-driven place and route aims at (default 100)")
    i.add_argument("--seed", type=int, default=1, metavar="N", help="placer seed (default 1)")
    i.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    _add_budget(i)
    p.set_defaults(handler=run, hw_parser=p)
    return p


def _budget(args: argparse.Namespace) -> dict[str, int]:
    budget = {}
    for flag, _ in BUDGET_FLAGS:
        value = getattr(args, flag.replace("-", "_"))
        if value is not None:
            budget[flag.replace("-", "_")] = value
    return budget


def _sizes(items: list[str], *, scoped: bool) -> dict:
    from hw.errors import HwError

    sizes: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            number = int(value)
        except ValueError:
            raise HwError(f"expected {'KERNEL.KEY' if scoped else 'KEY'}=N, not {item!r}", source="--size") from None
        SIZE_RANGE.check(number, f"--size {key}")
        if scoped:
            kernel, _, name = key.partition(".")
            if not name:
                raise HwError(f"expected KERNEL.KEY=N, not {item!r}", source="--size")
            if kernel not in KERNELS:
                raise HwError(f"unknown kernel {kernel!r} in {item!r}; known: {', '.join(KERNELS)}", source="--size")
            sizes.setdefault(kernel, {})[name] = number
        else:
            sizes[key] = number
    return sizes


def format_table(records: list[dict], speedups: dict) -> str:
    """Fixed-width table of the report records plus the InTAR speedups."""
    header = (f"{'kernel':<9} {'variant':<10} {'lanes':>5} {'exact':<5} {'cycles':>8} {'est':>8} {'util':>5} {'rd_w':>7} "
              f"{'rd_in':>6} {'rd_sp':>6} {'wr_sp':>6} {'wr_out':>6} {'stall':>7} {'reconf':>6} "
              f"{'act_B':>6} {'wbuf_B':>6} {'cells':>6} {'mem_bits':>8}  mapping")
    lines = [header]
    for r in records:
        words = r["offchip_words"]
        cells = r.get("resources", {}).get("cells", "-")
        mem_bits = r.get("resources", {}).get("memory_bits", "-")
        lines.append(
            f"{r['kernel']:<9} {r['variant']:<10} {r['lanes']:>5} {('yes' if r['bit_exact'] else 'NO'):<5} {r['cycles']:>8} "
            f"{int(r['estimate_cycles'] or 0):>8} {r['mac_utilisation']:>5.2f} {words['read_weights']:>7} "
            f"{words['read_inputs']:>6} {words['read_spills']:>6} {words['write_spills']:>6} "
            f"{words['write_outputs']:>6} {r['stall_cycles']:>7} {r['reconfiguration_cycles']:>6} "
            f"{r['activation_buffer_bytes']:>6} {r['weight_buffer_bytes']:>6} {cells:>6} {mem_bits:>8}  {r['mapping']}")
    for kernel, row in speedups["per_kernel"].items():
        lines.append(f"{kernel}: intar speedup " + ", ".join(f"{k} {v:.2f}x" for k, v in row.items()))
    if speedups["geomean"]:
        lines.append("geomean: " + ", ".join(f"{k} {v:.2f}x" for k, v in speedups["geomean"].items()))
    return "\n".join(lines)


def format_implementation(record: dict) -> str:
    """Per-core lines and the design's summary of :func:`hw.implement.implement_design`'s record."""
    lines = [f"{'core':<6} {'lanes':>5} {'Fmax MHz':>8} {'LUT4':>6} {'FF':>6} {'MULT18':>6} {'DP16KD':>6} "
             f"{'synth s':>7} {'pnr s':>6}  critical path"]
    for c in record["cores"]:
        u = {name: c["utilisation"].get(name, {}).get("used", 0) for name in ("LUT4", "FF", "MULT18", "DP16KD")}
        lines.append(f"{c['core']:<6} {c['lanes']:>5} {c['fmax_mhz']:>8.1f} {u['LUT4']:>6} {u['FF']:>6} "
                     f"{u['MULT18']:>6} {u['DP16KD']:>6} {c['synth_seconds']:>7.1f} {c['pnr_seconds']:>6.1f}  "
                     f"{c['critical_from']} -> {c['critical_to']}")
    use = ", ".join(f"{name} {f['used']}/{f['available']}" for name, f in record["utilisation"].items())
    lines.append(f"{record['kernel']} {record['variant']} on {record['device']} {record['package']}: "
                 f"Fmax {record['fmax_mhz']:.1f} MHz ({record['critical_core']}), {use}; "
                 f"wall {record['wall_seconds']:.0f} s")
    return "\n".join(lines)


def _implemented_clocks(records: list[dict], args: argparse.Namespace) -> dict[str, float]:
    """Kernel -> Fmax (MHz) of each record's design: from ``--implementation`` or placed and routed now.

    With ``--implementation`` and ``--clock-mhz`` both given, kernels the file lacks are left out (they
    get the named clock)."""
    from hw import api
    from hw.implement import implement_design
    from hw.implement.stored import load_implementations, stored_fmax

    stored = load_implementations(args.implementation) if args.implementation else None
    clocks = {}
    for r in records:
        design = api.plan(r["kernel"], r["variant"], budget=_budget(args))
        if stored is None:
            clocks[r["kernel"]] = implement_design(design)["fmax_mhz"]
        elif (r["kernel"], r["variant"]) in stored or args.clock_mhz is None:
            clocks[r["kernel"]] = stored_fmax(design, stored, source=args.implementation)
    return clocks


def run(args: argparse.Namespace) -> int:
    """Dispatch ``generate`` / ``report``."""
    check_ranges(args, HW_RANGES)  # before any import or work: --latency 100000 must not start
    from hw import api
    from hw.errors import HwError

    if args.hw_command == "generate":
        result = api.generate(args.kernel, args.variant, sizes=_sizes(args.size, scoped=False),
                              budget=_budget(args), out_dir=args.out)
        print(f"wrote {result['verilog']} and {result['schedule']} ({result['mapping']}, "
              f"estimated {int(result['estimate_cycles'])} cycles)")
        return 0
    if args.hw_command == "report":
        sizes = _sizes(args.size, scoped=True)
        unreported = sorted(set(sizes) - set(args.kernel or KERNELS))
        if unreported:
            raise HwError(f"sizes given for kernel(s) {', '.join(unreported)}, which are not reported", source="--size")
        records = api.report(args.kernel, args.variant, seeds=range(args.seeds),
                             sizes=sizes, budget=_budget(args), cells=not args.no_cells)
        summary = api.speedups(records)
        if args.json:
            print(json.dumps({"designs": records, "speedups": summary}, indent=2, default=str))
        else:
            print(format_table(records, summary))
        return 0 if all(r["bit_exact"] for r in records) else 1
    if args.hw_command == "export-timings":
        from hw.export import timings_toml
        from soc_emu.output.files import atomic_write_text

        if args.clock_mhz is not None and not args.clock_mhz > 0:
            raise HwError(f"must be > 0, got {args.clock_mhz}", source="--clock-mhz")
        records = api.report(args.kernel, [args.variant], budget=_budget(args), cells=False)
        command = "soc-emu " + " ".join(getattr(args, "argv", None) or sys.argv[1:])
        implemented = {} if args.clock_mhz is not None and args.implementation is None else \
            _implemented_clocks(records, args)
        text = timings_toml(records, clock_mhz=args.clock_mhz, implemented=implemented, name=args.name,
                            command=command)
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}: " + ", ".join(f"{r['kernel']} {r['cycles']} cycles" for r in records))
        return 0
    if args.hw_command == "implement":
        from hw.implement import find_device, implement_design

        find_device(args.device, args.package)          # bad names fail before any conversion
        if not args.target_mhz > 0:
            raise HwError(f"must be > 0, got {args.target_mhz}", source="--target-mhz")
        design = api.plan(args.kernel, args.variant, sizes=_sizes(args.size, scoped=False), budget=_budget(args))
        record = implement_design(design, device=args.device, package=args.package, target_mhz=args.target_mhz,
                                  seed=args.seed)
        print(json.dumps(record, indent=2) if args.json else format_implementation(record))
        return 0
    args.hw_parser.print_help(sys.stdout)
    return 0
