"""Gantt chart of a run: one row per PE slot, one bar per task, coloured by application.

:class:`GanttRecorder` is a run observer that keeps a bounded sample of the run (tasks whose start lies in
a time window, at most ``max_tasks`` of them), so drawing stays fast on million-task runs; :meth:`render`
writes a PNG with matplotlib's Agg canvas (no pyplot, no global backend switch; matplotlib is imported
only when rendering).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soc_emu.engine.records import PEEventRecord, TaskRecord
    from soc_emu.model.platform import Platform

#: Default cap on the number of task bars drawn.
DEFAULT_MAX_TASKS = 3000


class GanttRecorder:
    """Run observer keeping the tasks (and PE down periods) to draw.

    Parameters
    ----------
    max_tasks:
        At most this many task bars are kept (the first ones reported inside the window).
    window_us:
        Only tasks starting in ``[window_us[0], window_us[1])`` are kept; ``None``: the whole run.
    """

    def __init__(self, *, max_tasks: int = DEFAULT_MAX_TASKS, window_us: tuple[float, float] | None = None) -> None:
        self.max_tasks = max_tasks
        self.window_us = window_us
        self.platform: Platform | None = None
        self.tasks: list[tuple[int, int, float, float, str, bool]] = []  # pe, slot, start, finish, app, completed
        self.down: list[tuple[int, float, float]] = []
        self._down_since: dict[int, float] = {}
        self.truncated = False
        self.end_us = 0.0

    def on_start(self, platform: Platform, start_us: float) -> None:
        """Remember the platform (rows)."""
        self.platform = platform

    def on_task(self, r: TaskRecord) -> None:
        """Keep the task if it falls in the window and the cap is not reached."""
        if self.window_us is not None and not (self.window_us[0] <= r.start_us < self.window_us[1]):
            return
        if len(self.tasks) >= self.max_tasks:
            self.truncated = True
            return
        self.tasks.append((r.pe, r.slot, r.start_us, r.finish_us, r.app, r.completed))

    def on_pe_event(self, r: PEEventRecord) -> None:
        """Keep PE down periods (drawn hatched)."""
        if r.down:
            self._down_since[r.pe] = r.time_us
        elif r.pe in self._down_since:
            self.down.append((r.pe, self._down_since.pop(r.pe), r.time_us))

    def on_finish(self, end_us: float) -> None:
        """Close open down periods."""
        self.end_us = end_us
        for pe, since in self._down_since.items():
            self.down.append((pe, since, max(since, end_us)))
        self._down_since.clear()

    def render(self, path: str | Path, *, title: str = "") -> Path:
        """Draw the kept tasks to a PNG at ``path`` and return the path."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        if self.platform is None:
            raise RuntimeError("GanttRecorder.render called before the run started")
        rows: dict[tuple[int, int], int] = {}
        labels: list[str] = []
        for pe in self.platform.pes:
            for slot in range(pe.capacity):
                rows[(pe.index, slot)] = len(labels)
                labels.append(pe.name if pe.capacity == 1 else f"{pe.name}/{slot}")

        apps = sorted({t[4] for t in self.tasks})
        colours = _palette(len(apps))
        colour_of = dict(zip(apps, colours))

        height = max(2.5, 0.32 * len(labels) + 1.4)
        fig = Figure(figsize=(12, height), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        bars: dict[tuple[int, str], list[tuple[float, float]]] = {}
        killed: dict[int, list[tuple[float, float]]] = {}
        for pe, slot, start, finish, app, completed in self.tasks:
            row = rows[(pe, slot)]
            if completed:
                bars.setdefault((row, app), []).append((start, finish - start))
            else:
                killed.setdefault(row, []).append((start, finish - start))
        for (row, app), spans in bars.items():
            ax.broken_barh(spans, (row - 0.4, 0.8), facecolors=colour_of[app], edgecolor="none")
        for row, spans in killed.items():
            ax.broken_barh(spans, (row - 0.4, 0.8), facecolors="lightgrey", edgecolor="red", linewidth=0.5)
        for pe, start, end in self.down:
            for slot in range(self.platform.pes[pe].capacity):
                ax.broken_barh([(start, end - start)], (rows[(pe, slot)] - 0.45, 0.9),
                               facecolors="none", edgecolor="red", hatch="///", linewidth=0.5)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.invert_yaxis()
        ax.set_xlabel("time (us)")
        note = f" (first {len(self.tasks)} tasks shown)" if self.truncated else ""
        ax.set_title((title or "schedule") + note, fontsize=9)
        handles = [Patch(facecolor=colour_of[a], edgecolor="black", label=a) for a in apps]
        if killed:
            handles.append(Patch(facecolor="lightgrey", edgecolor="red", label="killed"))
        if self.down:
            handles.append(Patch(facecolor="none", edgecolor="red", hatch="///", label="PE down"))
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
        ax.grid(axis="x", linewidth=0.3, alpha=0.5)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, format="png")
        return path


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours (tab10, then tab20, then evenly spaced hues)."""
    from matplotlib import colormaps

    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["hsv"]
    return [cmap(i / n) for i in range(n)]
