"""Turning user specs (built-in names, file paths, ``random:`` specs) into platforms and workloads.

Spec grammar
------------
* Platform spec: a built-in name (:func:`builtin_platforms`) or a path to a platform file, either our TOML
  format (:mod:`soc_emu.formats.toml_files`) or a DS3/DS3Gym SoC file (:mod:`soc_emu.formats.ds3`). The
  format is recognised from the file's content, not its extension.
* Workload spec, one of:
  - a built-in mix or application name (:func:`builtin_workloads`), or a path to a TOML workload (mix)
    file, a TOML application file, a DS3 job file or a GraphML / node-link JSON task graph
    (:mod:`soc_emu.formats.dag_files`); a single application gets the default arrivals
    (:class:`soc_emu.model.ArrivalProcess`: Poisson, mean gap 100 us) and no admission cap;
  - a comma-separated list of applications (names or paths), each optionally ``app:weight``
    (default weight 1), forming a mix with the default arrivals: ``wifi_tx:2,radar,my_app.toml``;
  - ``random:tasks=40,fanout=3,ccr=0.5,het=0.5,seed=1`` (see :mod:`soc_emu.workloads.random_dag`): a
    random DAG whose kernels extend the platform, so it needs :func:`load_scenario`.

:func:`load_scenario` is what the CLI calls: it loads both, applies a random spec to the platform and
checks that every task can run somewhere (:func:`check_compatible`).
"""

from __future__ import annotations

import os
import posixpath
import stat
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.model.compatibility import check_compatible
from soc_emu.formats.dag_files import is_dag_text, parse_dag_text
from soc_emu.formats.ds3 import detect_ds3, read_ds3_job, read_ds3_soc
from soc_emu.formats.toml_files import (
    IncludeReader,
    parse_toml,
    platform_from_toml,
    suggest,
    taskgraph_from_toml,
    toml_kind,
    workload_from_toml,
)
from soc_emu.model import JobMix, Platform, TaskGraph, Workload
from soc_emu.workloads.random_dag import generate, parse_random_spec

DEFAULT_PLATFORM = "hetero"
DEFAULT_WORKLOAD = "ds3_mix"
RANDOM_PREFIX = "random:"


# ----------------------------------------------------------------------------------------------
# built-in data (package files under soc_emu/data, found with importlib.resources)
# ----------------------------------------------------------------------------------------------
def _data_dir(kind: str) -> Traversable:
    return resources.files("soc_emu").joinpath("data").joinpath(kind)


def _builtin_names(kind: str) -> list[str]:
    return sorted(p.name[: -len(".toml")] for p in _data_dir(kind).iterdir() if p.name.endswith(".toml"))


def _builtin_text(kind: str, name: str) -> tuple[str, str]:
    """(text, label) of built-in ``kind``/``name``.toml."""
    return _data_dir(kind).joinpath(f"{name}.toml").read_text(encoding="utf-8"), f"{name}.toml"


def _description(kind: str, name: str) -> str:
    text, label = _builtin_text(kind, name)
    return str(parse_toml(text, label).get("description", ""))


def builtin_platforms() -> dict[str, str]:
    """Built-in platform names and their one-line descriptions."""
    return {name: _description("platforms", name) for name in _builtin_names("platforms")}


def builtin_workloads() -> dict[str, str]:
    """Built-in workload names (mixes, then single applications) and their descriptions."""
    out = {name: _description("workloads", name) for name in _builtin_names("workloads")}
    for name in _builtin_names("apps"):
        out.setdefault(name, "application: " + _description("apps", name))
    return out


def _is_builtin_name(spec: str, kind: str) -> bool:
    return os.sep not in spec and "/" not in spec and spec in _builtin_names(kind)


def _looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or "." in os.path.basename(spec) or os.path.exists(spec)


def _read_file(path: str) -> str:
    """A file's text. Errors carry the path in the message, not as ``source``, so that callers that
    re-label errors about a whole spec (``--workload: ...``) keep the file name.

    Only regular files are read (a FIFO would block, ``/dev/zero`` never ends), and at most
    :data:`soc_emu.limits.FILE_BYTES` of them."""
    try:
        return read_bounded_text(path, int(limits.FILE_BYTES.high))
    except FileNotFoundError:
        raise SocEmuError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SocEmuError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError:
        raise SocEmuError(f"{path}: not a text file (expected TOML or a DS3 file)") from None
    except OSError as exc:
        raise SocEmuError(f"{path}: cannot read: {exc.strerror}") from None


def read_bounded_text(path: str, max_bytes: int) -> str:
    """The UTF-8 text of the regular file ``path``, refusing anything else and anything larger than
    ``max_bytes`` (checked with ``stat`` before opening, so a FIFO is never opened, and again while
    reading, so a file growing meanwhile cannot exceed the cap)."""
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(info.st_mode):
        raise SocEmuError(f"{path}: not a regular file (a device, FIFO or socket cannot be read as input)")
    if info.st_size > max_bytes:
        raise SocEmuError(f"{path}: {info.st_size} bytes; input files may have at most {max_bytes} bytes")
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SocEmuError(f"{path}: larger than {max_bytes} bytes; input files may have at most that")
    return data.decode("utf-8")


def _unknown(what: str, spec: str, known: list[str]) -> SocEmuError:
    return SocEmuError(f"unknown {what} {spec!r}{suggest(spec, known)}; or give a file path", source=spec)


# ----------------------------------------------------------------------------------------------
# platforms
# ----------------------------------------------------------------------------------------------
def _builtin_include(kind: str) -> IncludeReader:
    """Reads files that a built-in ``kind`` file refers to, relative to its folder under soc_emu/data."""

    def read(ref: str) -> tuple[str, str]:
        rel = posixpath.normpath(posixpath.join(kind, ref))
        if rel.startswith("..") or posixpath.isabs(rel):
            raise SocEmuError(f"{ref}: outside the built-in data", source=kind)
        return _data_dir(posixpath.dirname(rel)).joinpath(posixpath.basename(rel)).read_text("utf-8"), ref

    return read


def _file_include(path: str) -> IncludeReader:
    """Reads files that the file at ``path`` refers to, relative to its folder."""

    def read(ref: str) -> tuple[str, str]:
        full = os.path.join(os.path.dirname(path), ref)
        return _read_file(full), full

    return read


def platform_from_text(text: str, label: str, read_include: IncludeReader | None = None) -> Platform:
    """A platform from file content: DS3 SoC text or our TOML (recognised by content)."""
    if is_dag_text(text):
        raise SocEmuError("this is a task graph (GraphML / node-link JSON) file, not a platform", source=label)
    ds3 = detect_ds3(text)
    if ds3 == "soc":
        return read_ds3_soc(text, label)
    if ds3 == "job":
        raise SocEmuError("this is a DS3 job (application) file, not a platform", source=label)
    data = parse_toml(text, label)
    kind = toml_kind(data)
    if kind != "platform":
        what = f"a {kind} file" if kind else "not a platform file (no [[pe_group]] table)"
        raise SocEmuError(f"expected a platform, but this is {what}" if kind else what, source=label)
    return platform_from_toml(data, label, read_include)


def load_platform(spec: str) -> Platform:
    """A built-in platform by name, or a platform file (TOML or DS3) by path."""
    if _is_builtin_name(spec, "platforms"):
        return platform_from_text(*_builtin_text("platforms", spec), _builtin_include("platforms"))
    if _looks_like_path(spec):
        return platform_from_text(_read_file(spec), spec, _file_include(spec))
    raise _unknown("platform", spec, _builtin_names("platforms"))


# ----------------------------------------------------------------------------------------------
# applications and workloads
# ----------------------------------------------------------------------------------------------
def _graph_or_workload_from_text(text: str, label: str, base_dir: str) -> TaskGraph | Workload:
    if is_dag_text(text):  # GraphML or node-link JSON (networkx)
        return parse_dag_text(text, label)
    ds3 = detect_ds3(text)
    if ds3 == "job":
        return read_ds3_job(text, label)
    if ds3 == "soc":
        raise SocEmuError("this is a DS3 SoC (platform) file, not a workload", source=label)
    data = parse_toml(text, label)
    kind = toml_kind(data)
    if kind == "application":
        return taskgraph_from_toml(data, label)
    if kind == "workload":
        return workload_from_toml(data, label, lambda ref: _resolve_app(ref, base_dir))
    if kind == "platform":
        raise SocEmuError("expected a workload or application, but this is a platform file", source=label)
    raise SocEmuError("not a workload or application file (expected 'applications' or 'tasks')", source=label)


def _resolve_app(ref: str, base_dir: str | None) -> TaskGraph:
    """An application by built-in name or path (relative paths from ``base_dir``); KeyError if unknown."""
    if _is_builtin_name(ref, "apps"):
        text, label = _builtin_text("apps", ref)
        found = _graph_or_workload_from_text(text, label, "")
    elif base_dir is not None and (_looks_like_path(ref) or os.path.exists(os.path.join(base_dir, ref))):
        path = os.path.join(base_dir, ref)  # an absolute ref stays as it is
        text = _read_file(path)
        if detect_ds3(text) is None and toml_kind(parse_toml(text, path)) == "workload":
            # Refused before it is parsed: a mix names applications only, so no include can loop.
            raise SocEmuError("expected an application, but this is a workload (mix) file; a mix cannot "
                              "include a mix (or itself)", source=path)
        found = _graph_or_workload_from_text(text, path, os.path.dirname(path))
    else:
        raise KeyError(_builtin_names("apps"))
    if isinstance(found, Workload):
        raise SocEmuError("expected an application, but this is a workload (mix) file", source=ref)
    return found


def _single_app_workload(graph: TaskGraph, source: str) -> Workload:
    return Workload(name=graph.name, mix=JobMix(graphs=(graph,), probabilities=(1.0,)), source=source)


def _split_weight(item: str) -> tuple[str, float]:
    ref, sep, weight = item.rpartition(":")
    if not sep:
        return item, 1.0
    try:
        value = float(weight)
    except ValueError:
        raise SocEmuError(f"expected app:weight with a number, got {item!r}", source="workload") from None
    if not limits.WEIGHT.contains(value):
        raise SocEmuError(f"weight must be {limits.WEIGHT.describe()}, got {item!r}", source="workload")
    return ref, value


def load_workload(spec: str) -> Workload:
    """A workload from a built-in name, a file, or a comma-separated ``app[:weight]`` list.

    ``random:`` specs need a platform: use :func:`load_scenario`.
    """
    spec = spec.strip()
    if spec.startswith(RANDOM_PREFIX) or spec == "random":
        raise SocEmuError("a random workload extends the platform's kernels; load it with load_scenario()",
                          source=spec)
    if "," in spec or (":" in spec and not os.path.exists(spec)):
        graphs: list[TaskGraph] = []
        weights: list[float] = []
        for item in filter(None, (s.strip() for s in spec.split(","))):
            ref, weight = _split_weight(item)
            try:
                graph = _resolve_app(ref, os.getcwd())
            except KeyError as exc:
                raise _unknown("application", ref, list(exc.args[0])) from None
            if any(g.name == graph.name for g in graphs):
                raise SocEmuError(f"application {graph.name!r} is listed twice", source=spec)
            graphs.append(graph)
            weights.append(weight)
            if len(graphs) > limits.APPS.high:
                raise SocEmuError(f"more than {limits.APPS.high:.0f} applications", source="workload")
        if not graphs:
            raise SocEmuError("empty workload list", source="workload")
        if not sum(weights) > 0:
            raise SocEmuError("weights must not all be zero", source=spec)
        return Workload(name="+".join(g.name for g in graphs),
                        mix=JobMix(graphs=tuple(graphs), probabilities=tuple(weights)), source=spec)
    if _is_builtin_name(spec, "workloads"):
        found = _graph_or_workload_from_text(*_builtin_text("workloads", spec), "")
    elif _is_builtin_name(spec, "apps"):
        found = _graph_or_workload_from_text(*_builtin_text("apps", spec), "")
    elif _looks_like_path(spec):
        found = _graph_or_workload_from_text(_read_file(spec), spec, os.path.dirname(spec))
    else:
        raise _unknown("workload", spec, list(builtin_workloads()))
    return found if isinstance(found, Workload) else _single_app_workload(found, spec)


# ----------------------------------------------------------------------------------------------
# scenario
# ----------------------------------------------------------------------------------------------
def load_scenario(
    platform_spec: str = DEFAULT_PLATFORM, workload_spec: str = DEFAULT_WORKLOAD
) -> tuple[Platform, Workload]:
    """Load a platform and a workload, apply a ``random:`` spec, and check they fit together.

    For ``random:...`` the graph is drawn from ``numpy.random.default_rng(seed)`` with the spec's own
    seed (default 0), and the returned platform is the loaded one extended with the graph's kernels.
    """
    platform = load_platform(platform_spec)
    spec = workload_spec.strip()
    if spec.startswith(RANDOM_PREFIX) or spec == "random":
        dag_spec = parse_random_spec(spec)
        graph, platform = generate(dag_spec, platform, np.random.default_rng(dag_spec.seed))
        workload = _single_app_workload(graph, spec)
    else:
        workload = load_workload(spec)
    check_compatible(platform, workload)
    return platform, workload
