"""Task graphs as networkx graphs, GraphML files and node-link JSON files.

Attribute names (the same in all three forms)
    * graph: ``name`` (the application name; default: the file's stem, or ``"dag"``) and, optionally,
      ``deadline_us`` (relative deadline, > 0).
    * node: ``kernel`` (required: the task type the platform's execution-time tables are keyed by) and,
      optionally, ``name`` (default: the node's id). Tasks are numbered in node order.
    * edge: ``volume`` (required: the data the edge carries, a number >= 0, in the platform's volume unit).

Node-link JSON is networkx's ``node_link_data`` layout (``{"directed": true, "nodes": [{"id": ...}],
"edges": [{"source": ..., "target": ...}]}``; ``"links"`` is read too). GraphML keys need ``attr.type``
``string`` for ``kernel``/``name`` and ``double`` (or ``int``) for ``volume``.

Every problem (unparsable file, undirected graph, a cycle, a missing or bad attribute) raises one
:class:`SocEmuError` whose source names the file and the node or edge at fault.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from typing import Any

import networkx as nx

from soc_emu.errors import SocEmuError
from soc_emu.model.taskgraph import Edge, Task, TaskGraph

__all__ = [
    "graph_from_networkx",
    "graph_to_networkx",
    "is_dag_text",
    "parse_dag_text",
    "read_dag_file",
    "write_graphml",
    "write_node_link",
]


def graph_from_networkx(g: nx.DiGraph, *, source: str = "", name: str | None = None) -> TaskGraph:
    """A :class:`TaskGraph` from a directed networkx graph carrying the attributes above.

    ``source`` (a file path) prefixes every error; ``name`` is the fallback application name.
    """
    where = source or "networkx graph"
    if not isinstance(g, nx.DiGraph) or isinstance(g, nx.MultiDiGraph) or not g.is_directed():
        raise SocEmuError("a task graph must be a directed graph without parallel edges (networkx.DiGraph)",
                          source=where)
    if g.number_of_nodes() == 0:
        raise SocEmuError("the graph has no nodes", source=where)
    for u, v in nx.selfloop_edges(g):
        raise SocEmuError("self-loop", source=f"{where}: edge {u!r}->{v!r}")
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        path = " -> ".join(repr(n) for n in [*cycle, cycle[0]])
        raise SocEmuError(f"the graph has a cycle: {path}", source=f"{where}: node {cycle[0]!r}")
    index = {node: i for i, node in enumerate(g.nodes)}
    tasks = []
    names: set[str] = set()
    for node, data in g.nodes(data=True):
        at = f"{where}: node {node!r}"
        kernel = data.get("kernel")
        if not isinstance(kernel, str) or not kernel.strip():
            raise SocEmuError("missing attribute 'kernel' (a non-empty string)" if kernel is None
                              else f"attribute 'kernel' must be a non-empty string, got {kernel!r}", source=at)
        task_name = data.get("name", node)
        task_name = str(task_name)
        if task_name in names:
            raise SocEmuError(f"duplicate task name {task_name!r}", source=at)
        names.add(task_name)
        tasks.append(Task(index[node], task_name, kernel.strip()))
    edges = []
    for u, v, data in g.edges(data=True):
        at = f"{where}: edge {u!r}->{v!r}"
        if "volume" not in data:
            raise SocEmuError("missing attribute 'volume' (a number >= 0)", source=at)
        edges.append(Edge(index[u], index[v], _number(data["volume"], "volume", at)))
    attrs = g.graph
    deadline = attrs.get("deadline_us")
    if deadline is not None:
        deadline = _number(deadline, "deadline_us", f"{where}: graph")
    app = attrs.get("name") or name or "dag"
    return TaskGraph(name=str(app), tasks=tuple(tasks), edges=tuple(edges), deadline_us=deadline, source=where)


def graph_to_networkx(graph: TaskGraph) -> nx.DiGraph:
    """A networkx graph of ``graph``: node ids are task names, with the attributes above."""
    g = nx.DiGraph(name=graph.name)
    if graph.deadline_us is not None:
        g.graph["deadline_us"] = graph.deadline_us
    for task in graph.tasks:
        g.add_node(task.name, kernel=task.kernel)
    for edge in graph.edges:
        g.add_edge(graph.tasks[edge.src].name, graph.tasks[edge.dst].name, volume=float(edge.volume))
    return g


def _number(value: Any, key: str, at: str) -> float:
    """``value`` as a finite number >= 0 (strings holding numbers are accepted: GraphML without types)."""
    if isinstance(value, bool):
        raise SocEmuError(f"attribute {key!r} must be a number >= 0, got {value!r}", source=at)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SocEmuError(f"attribute {key!r} must be a number >= 0, got {value!r}", source=at) from None
    if not (math.isfinite(number) and number >= 0):
        raise SocEmuError(f"attribute {key!r} must be a number >= 0, got {value!r}", source=at)
    return number


# ------------------------------------------------------------------ files


def is_dag_text(text: str) -> bool:
    """Whether file content looks like GraphML or node-link JSON (not TOML or DS3 text)."""
    head = text.lstrip()[:200]
    return head.startswith("<") or head.startswith("{")


def parse_dag_text(text: str, label: str) -> TaskGraph:
    """A task graph from GraphML or node-link JSON content (recognised by its first character)."""
    stem = os.path.splitext(os.path.basename(label))[0] or None
    if text.lstrip().startswith("<"):
        try:
            g = nx.parse_graphml(text)
        except (ET.ParseError, nx.NetworkXError, KeyError, ValueError, TypeError) as exc:
            raise SocEmuError(f"not valid GraphML: {exc}", source=label) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SocEmuError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=label) from None
        g = _from_node_link(data, label)
    return graph_from_networkx(g, source=label, name=stem)


def _from_node_link(data: Any, label: str) -> nx.DiGraph:
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise SocEmuError("node-link JSON needs an object with a 'nodes' list", source=label)
    if data.get("directed") is False:
        raise SocEmuError("the graph is undirected ('directed': false); task graphs are directed", source=label)
    key = "links" if "links" in data and "edges" not in data else "edges"
    data = {"directed": True, "multigraph": False, "graph": {}, key: [], **data}
    for i, node in enumerate(data["nodes"]):
        if not isinstance(node, dict) or "id" not in node:
            raise SocEmuError("every node needs an 'id'", source=f"{label}: nodes[{i}]")
    for i, edge in enumerate(data[key]):
        if not isinstance(edge, dict) or "source" not in edge or "target" not in edge:
            raise SocEmuError("every edge needs 'source' and 'target'", source=f"{label}: {key}[{i}]")
    ids = {node["id"] for node in data["nodes"]}
    for edge in data[key]:
        for end in ("source", "target"):
            if edge[end] not in ids:
                raise SocEmuError(f"{end} {edge[end]!r} is not a node", source=f"{label}: edge {edge['source']!r}->{edge['target']!r}")
    try:
        g = nx.node_link_graph(data, directed=True, multigraph=False, edges=key)
    except (nx.NetworkXError, KeyError, TypeError, ValueError) as exc:
        raise SocEmuError(f"not a valid node-link graph: {exc}", source=label) from None
    return g


def read_dag_file(path: str) -> TaskGraph:
    """A task graph from a GraphML or node-link JSON file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SocEmuError(f"cannot read: {exc}", source=path) from None
    return parse_dag_text(text, path)


def write_graphml(graph: TaskGraph, path: str) -> None:
    """Write ``graph`` as GraphML (attributes as in the module docstring)."""
    nx.write_graphml(graph_to_networkx(graph), path)


def write_node_link(graph: TaskGraph, path: str) -> None:
    """Write ``graph`` as node-link JSON (attributes as in the module docstring)."""
    data = nx.node_link_data(graph_to_networkx(graph), edges="edges")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
