"""DAG suites for grading schedulers against the optimum (``soc-emu bound``): each entry is a workload
spec naming one task graph, either ``random:`` specs drawn from generator parameters (:func:`random_suite`)
or files in a folder (:func:`folder_suite`: GraphML, node-link JSON, TOML or DS3 job files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from soc_emu.errors import SocEmuError

__all__ = ["DAG_SUFFIXES", "folder_suite", "random_suite"]

#: Files a folder suite takes.
DAG_SUFFIXES = (".graphml", ".json", ".toml", ".txt")


def random_suite(*, instances: int, tasks: tuple[int, int], ccrs: Sequence[float], het: float = 1.0,
                 fanout: int = 3, seed: int = 0) -> list[str]:
    """``instances`` random DAG specs per CCR; each instance draws its task count uniformly from ``tasks``
    (inclusive) and has its own graph seed; instance ``i`` has the same size and seed at every CCR."""
    low, high = tasks
    if not 1 <= low <= high:
        raise SocEmuError(f"expected 1 <= MIN <= MAX, got {low}-{high}", source="--tasks")
    if instances < 1:
        raise SocEmuError(f"must be >= 1, got {instances}", source="--instances")
    sizes = np.random.default_rng(seed).integers(low, high + 1, size=instances)
    return [f"random:tasks={int(n)},ccr={ccr:g},het={het:g},fanout={fanout},seed={seed * 100003 + i}"
            for ccr in ccrs for i, n in enumerate(sizes)]


def folder_suite(folder: str) -> list[str]:
    """The DAG files of ``folder`` (sorted by name)."""
    path = Path(folder)
    if not path.is_dir():
        raise SocEmuError("not a folder", source=f"--dags {folder}")
    files = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in DAG_SUFFIXES)
    if not files:
        raise SocEmuError(f"no DAG files ({', '.join(DAG_SUFFIXES)}) in the folder", source=f"--dags {folder}")
    return files
