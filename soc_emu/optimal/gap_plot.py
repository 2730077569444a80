"""The gap plot of ``soc-emu bound``: box plots of each scheduler's gap to the optimum per CCR
(rows from :func:`soc_emu.optimal.gaps.grade`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_gaps"]


def plot_gaps(graded: Sequence[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Box plots of the gap (%) per scheduler, one group per CCR, into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schedulers = list(dict.fromkeys(r["scheduler"] for r in graded))
    ccrs = sorted({r["ccr"] for r in graded}, key=lambda c: (c is None, c if c is not None else 0.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(schedulers) * len(ccrs)), 4.0))
    width = 0.8 / max(1, len(schedulers))
    for k, name in enumerate(schedulers):
        data = [[100 * r["gap"] for r in graded if r["scheduler"] == name and r["ccr"] == c] for c in ccrs]
        positions = [i + (k - (len(schedulers) - 1) / 2) * width for i in range(len(ccrs))]
        box = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=True)
        for patch in box["boxes"]:
            patch.set_facecolor(colours[k % len(colours)])
        ax.plot([], [], color=colours[k % len(colours)], linewidth=8, label=name)
    ax.set_xticks(range(len(ccrs)), [f"CCR {c:g}" if c is not None else "files" for c in ccrs])
    ax.set_ylabel("makespan above the optimum (%)")
    ax.set_title(title or "gap to the CP-SAT optimum")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
