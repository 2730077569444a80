"""``soc-emu list``: the built-in platforms, workloads, applications and the schedulers, with descriptions."""

from __future__ import annotations

import argparse
import sys

HELP = "list built-in platforms, workloads (mixes and single applications) and schedulers"
KINDS = ("platforms", "workloads", "schedulers")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``list``."""
    p = subparsers.add_parser("list", help=HELP, description=HELP + ".")
    p.add_argument("kind", nargs="?", choices=KINDS, help="list only this kind (default: all)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {kind: {name: description}} on stdout")
    p.set_defaults(handler=run)
    return p


def catalogue() -> dict[str, dict[str, str]]:
    """Every built-in item by kind: ``{kind: {name: one-line description}}``."""
    import soc_emu.schedulers  # noqa: F401  (registers the built-in schedulers)
    from soc_emu.formats import builtin_platforms, builtin_workloads
    from soc_emu.schedulers.registry import scheduler_names

    return {"platforms": builtin_platforms(), "workloads": builtin_workloads(), "schedulers": scheduler_names()}


def run(args: argparse.Namespace) -> int:
    """Print the catalogue as aligned name / description columns."""
    items = catalogue()
    kinds = [args.kind] if args.kind else list(KINDS)
    if args.json:
        import json

        sys.stdout.write(json.dumps({kind: items[kind] for kind in kinds}, indent=2) + "\n")
        return 0
    out = []
    for kind in kinds:
        out.append(f"{kind}:")
        width = max((len(n) for n in items[kind]), default=0) + 2
        for name, desc in items[kind].items():
            out.append(f"  {name:<{width}}{' '.join(desc.split())}")
        if not items[kind]:
            out.append("  (none)")
        out.append("")
    sys.stdout.write("\n".join(out))
    return 0
