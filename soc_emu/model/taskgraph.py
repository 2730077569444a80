"""Task graphs: the DAG of one application (WiFi TX, radar, ...), with per-edge data volumes.

A :class:`TaskGraph` is immutable and validated on construction (indices, edges, acyclicity), so the
engine and the schedulers can trust it. Derived adjacency (predecessors, successors, a topological order)
is computed once here because every scheduler needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soc_emu.errors import SocEmuError


@dataclass(frozen=True, slots=True)
class Task:
    """One node of a task graph.

    Attributes
    ----------
    index:
        Position in :attr:`TaskGraph.tasks` (0..n-1).
    name:
        Name within the application (``"fft_1"``).
    kernel:
        The task type PEs' execution-time tables are keyed by. DS3 files use the task name itself.
    """

    index: int
    name: str
    kernel: str


@dataclass(frozen=True, slots=True)
class Edge:
    """Data dependency ``src -> dst`` carrying ``volume`` units of data."""

    src: int
    dst: int
    volume: float = 0.0


@dataclass(frozen=True)
class TaskGraph:
    """A directed acyclic graph of tasks: one application.

    Attributes
    ----------
    name:
        Application name (``"wifi_tx"``).
    tasks, edges:
        The nodes (indexed 0..n-1) and the data dependencies.
    deadline_us:
        Relative deadline of a job of this application (from its arrival), or ``None``.
    source:
        Where the graph came from (a file path or ``"builtin:wifi_tx"``), used in error messages.
    preds, succs:
        Derived: for each task, ``(neighbour, volume)`` pairs.
    topo_order:
        Derived: a topological order of task indices.
    """

    name: str
    tasks: tuple[Task, ...]
    edges: tuple[Edge, ...]
    deadline_us: float | None = None
    source: str = ""
    preds: tuple[tuple[tuple[int, float], ...], ...] = field(init=False, repr=False, compare=False)
    succs: tuple[tuple[tuple[int, float], ...], ...] = field(init=False, repr=False, compare=False)
    topo_order: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = self.source or self.name
        n = len(self.tasks)
        if n == 0:
            raise SocEmuError("a task graph needs at least one task", source=f"{where}: tasks")
        for i, task in enumerate(self.tasks):
            if task.index != i:
                raise SocEmuError(f"task {task.name!r} has index {task.index}, expected {i}", source=f"{where}: tasks")
        preds: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        succs: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        seen: set[tuple[int, int]] = set()
        for edge in self.edges:
            if not (0 <= edge.src < n and 0 <= edge.dst < n):
                raise SocEmuError(f"edge {edge.src}->{edge.dst} names a task that does not exist", source=f"{where}: edges")
            if edge.src == edge.dst:
                raise SocEmuError(f"edge {edge.src}->{edge.dst} is a self-loop", source=f"{where}: edges")
            if (edge.src, edge.dst) in seen:
                raise SocEmuError(f"duplicate edge {edge.src}->{edge.dst}", source=f"{where}: edges")
            if not edge.volume >= 0:
                raise SocEmuError(f"edge {edge.src}->{edge.dst} has negative volume {edge.volume}", source=f"{where}: edges")
            seen.add((edge.src, edge.dst))
            preds[edge.dst].append((edge.src, edge.volume))
            succs[edge.src].append((edge.dst, edge.volume))
        order = _topological_order(preds, succs)
        if order is None:
            cyc = _find_cycle(succs)
            names = " -> ".join(self.tasks[i].name for i in cyc)
            raise SocEmuError(f"the task graph has a cycle: {names}", source=f"{where}: edges")
        if self.deadline_us is not None and not self.deadline_us > 0:
            raise SocEmuError(f"deadline must be > 0, got {self.deadline_us}", source=f"{where}: deadline_us")
        object.__setattr__(self, "preds", tuple(tuple(p) for p in preds))
        object.__setattr__(self, "succs", tuple(tuple(s) for s in succs))
        object.__setattr__(self, "topo_order", tuple(order))

    def __len__(self) -> int:
        return len(self.tasks)

    @classmethod
    def from_networkx(cls, g: Any, *, name: str | None = None) -> TaskGraph:
        """A task graph from a ``networkx.DiGraph``: node attribute ``kernel``, edge attribute ``volume``
        (see :mod:`soc_emu.formats.dag_files` for all attribute names)."""
        from soc_emu.formats.dag_files import graph_from_networkx

        return graph_from_networkx(g, name=name)

    def to_networkx(self) -> Any:
        """This graph as a ``networkx.DiGraph`` (node ids: task names; see :meth:`from_networkx`)."""
        from soc_emu.formats.dag_files import graph_to_networkx

        return graph_to_networkx(self)

    @property
    def entry_tasks(self) -> tuple[int, ...]:
        """Tasks without predecessors."""
        return tuple(i for i, p in enumerate(self.preds) if not p)

    @property
    def exit_tasks(self) -> tuple[int, ...]:
        """Tasks without successors."""
        return tuple(i for i, s in enumerate(self.succs) if not s)

    @property
    def kernels(self) -> frozenset[str]:
        """The kernels this graph's tasks need."""
        return frozenset(t.kernel for t in self.tasks)


def _topological_order(
    preds: list[list[tuple[int, float]]], succs: list[list[tuple[int, float]]]
) -> list[int] | None:
    """Kahn's algorithm; ``None`` when the graph has a cycle."""
    indegree = [len(p) for p in preds]
    stack = [i for i in range(len(preds)) if indegree[i] == 0][::-1]
    order: list[int] = []
    while stack:
        node = stack.pop()
        order.append(node)
        for nxt, _ in reversed(succs[node]):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                stack.append(nxt)
    return order if len(order) == len(preds) else None


def _find_cycle(succs: list[list[tuple[int, float]]]) -> list[int]:
    """One cycle (as a closed node list) of a graph known to have one, for the error message."""
    colour = [0] * len(succs)  # 0 unvisited, 1 on stack, 2 done
    parent = [-1] * len(succs)
    for root in range(len(succs)):
        if colour[root]:
            continue
        stack = [(root, iter(succs[root]))]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            for nxt, _ in it:
                if colour[nxt] == 1:
                    cycle = [nxt]
                    cur = node
                    while cur != nxt:
                        cycle.append(cur)
                        cur = parent[cur]
                    cycle.append(nxt)
                    return cycle[::-1]
                if colour[nxt] == 0:
                    colour[nxt] = 1
                    parent[nxt] = node
                    stack.append((nxt, iter(succs[nxt])))
                    break
            else:
                colour[node] = 2
                stack.pop()
    return []
