"""Task graphs through networkx: GraphML and node-link JSON files, DiGraphs in the Python API, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from soc_emu.cli import main
from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_workload
from soc_emu.formats.dag_files import read_dag_file, write_graphml, write_node_link
from soc_emu.model import TaskGraph

FIXTURES = Path(__file__).parent / "fixtures"


def peft_graph() -> TaskGraph:
    return load_workload(str(FIXTURES / "peft_app.toml")).mix.graphs[0]


def same_graph(a: TaskGraph, b: TaskGraph) -> bool:
    return (a.name, a.tasks, a.edges, a.deadline_us) == (b.name, b.tasks, b.edges, b.deadline_us)


@pytest.mark.parametrize("writer", [write_graphml, write_node_link])
def test_files_round_trip(tmp_path: Path, writer) -> None:
    graph = peft_graph()
    path = tmp_path / ("g.graphml" if writer is write_graphml else "g.json")
    writer(graph, str(path))
    back = read_dag_file(str(path))
    assert same_graph(back, graph)
    assert back.source == str(path)


def test_a_digraph_in_the_python_api() -> None:
    g = nx.DiGraph(name="pipeline")
    g.add_node("load", kernel="fft")
    g.add_node("work", kernel="mm", name="multiply")
    g.add_edge("load", "work", volume=64)
    graph = TaskGraph.from_networkx(g)
    assert graph.name == "pipeline"
    assert [(t.name, t.kernel) for t in graph.tasks] == [("load", "fft"), ("multiply", "mm")]
    assert graph.preds[1] == ((0, 64.0),)
    assert nx.utils.graphs_equal(TaskGraph.from_networkx(graph.to_networkx()).to_networkx(), graph.to_networkx())


def test_a_graphml_file_runs_in_the_engine(tmp_path: Path, capsys) -> None:
    path = tmp_path / "peft.graphml"
    write_graphml(peft_graph(), str(path))
    platform = str(FIXTURES / "peft_platform.toml")
    assert main(["run", "--platform", platform, "--workload", str(path), "--scheduler", "peft", "--jobs", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mean_latency_us"] == 122.0
    assert load_platform(platform).name == "peft_example"


def write_json(tmp_path: Path, data: object) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


NODES = [{"id": "a", "kernel": "k"}, {"id": "b", "kernel": "k"}]


@pytest.mark.parametrize(
    ("data", "where", "what"),
    [
        ({"nodes": NODES, "edges": [{"source": "a", "target": "b", "volume": 1}, {"source": "b", "target": "a", "volume": 1}]},
         "node 'a'", "cycle: 'a' -> 'b' -> 'a'"),
        ({"nodes": [{"id": "a"}], "edges": []}, "node 'a'", "missing attribute 'kernel'"),
        ({"nodes": NODES, "edges": [{"source": "a", "target": "b"}]}, "edge 'a'->'b'", "missing attribute 'volume'"),
        ({"nodes": NODES, "edges": [{"source": "a", "target": "b", "volume": -3}]}, "edge 'a'->'b'", "number >= 0"),
        ({"nodes": NODES, "edges": [{"source": "a", "target": "z", "volume": 1}]}, "edge 'a'->'z'", "target 'z' is not a node"),
        ({"nodes": NODES, "edges": [], "directed": False}, "bad.json", "undirected"),
        ([1, 2], "bad.json", "'nodes' list"),
    ],
)
def test_bad_node_link_json_names_the_file_and_the_node_or_edge(tmp_path: Path, data, where: str, what: str) -> None:
    path = write_json(tmp_path, data)
    with pytest.raises(SocEmuError) as err:
        read_dag_file(path)
    assert err.value.source is not None and err.value.source.startswith(path)
    assert where in str(err.value) and what in str(err.value)


def test_malformed_files_are_one_line_errors_with_exit_status_2(tmp_path: Path, capsys) -> None:
    cases = {
        "broken.graphml": "<?xml version='1.0'?><graphml><graph edgedefault='directed'><node id='a'>",
        "broken.json": '{"nodes": [',
    }
    platform = str(FIXTURES / "peft_platform.toml")
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert main(["run", "--platform", platform, "--workload", str(path), "--jobs", "1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("soc-emu: error: ") and f"{path}: not valid " in err


def test_graphml_cycle_and_missing_kernel(tmp_path: Path) -> None:
    g = nx.DiGraph()
    g.add_node("x", kernel="k")
    g.add_node("y")
    g.add_edge("x", "y", volume=1.0)
    path = tmp_path / "g.graphml"
    nx.write_graphml(g, str(path))
    with pytest.raises(SocEmuError, match=r"g\.graphml: node 'y': missing attribute 'kernel'"):
        read_dag_file(str(path))
    g.nodes["y"]["kernel"] = "k"
    g.add_edge("y", "x", volume=1.0)
    nx.write_graphml(g, str(path))
    with pytest.raises(SocEmuError, match="cycle"):
        read_dag_file(str(path))
