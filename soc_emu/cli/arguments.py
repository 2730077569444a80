"""Parsing of the comma-separated value lists several subcommands take (``--rates 10,25``, ``--seeds 1,2``)."""

from __future__ import annotations

from soc_emu.errors import SocEmuError


def number_list(text: str, kind: type[int] | type[float], flag: str, *, positive: bool = False) -> tuple:  # type: ignore[type-arg]
    """``"1,2.5"`` to a tuple of ``kind``; a :class:`SocEmuError` naming ``flag`` when a value is not a
    number, the list is empty, or (``positive``) a value is not > 0."""
    try:
        values = tuple(kind(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise SocEmuError(f"expected comma-separated numbers, got {text!r}", source=flag) from None
    if not values:
        raise SocEmuError("needs at least one value", source=flag)
    if positive and any(not v > 0 for v in values):
        raise SocEmuError(f"values must be > 0, got {text!r}", source=flag)
    return values


def name_list(text: str, flag: str) -> tuple[str, ...]:
    """``"a, b,"`` to ``("a", "b")``; a :class:`SocEmuError` naming ``flag`` when the list is empty."""
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    if not names:
        raise SocEmuError("needs at least one name", source=flag)
    return names


def add_backend_arguments(p: object) -> None:
    """``--backend``, ``--workers`` and ``--address``: where the runs of a study execute."""
    group = p.add_argument_group("where the runs execute")  # type: ignore[attr-defined]
    group.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine (default); ray: Ray tasks")
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help="parallel workers (default: one per core; with ray and --address: the cluster's CPUs)")
    group.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                       help="join this Ray cluster (with --backend ray; default: start Ray in this process)")


def backend_from_args(args: object) -> object:
    """The study backend the parsed ``--backend``, ``--workers`` and ``--address`` describe."""
    from soc_emu.study.backends import make_backend

    return make_backend(args.backend, workers=args.workers, address=args.address)  # type: ignore[attr-defined]
