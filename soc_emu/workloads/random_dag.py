"""Random layered task graphs in the style of Topcuoglu et al. 2002 (the HEFT paper's generator).

* Shape: ``tasks`` tasks in ``round(sqrt(tasks) / shape)`` layers (at least 1); every layer gets one task,
  the rest are spread uniformly at random. Edges go only from a lower to a higher layer, so the graph is
  always acyclic.
* Out-degree: each task outside the last layer draws ``1..fanout`` successors (uniform), preferring the
  next layer and otherwise any later layer; no task ever has more than ``fanout`` successors. A task that
  nobody picked stays an entry task (DAGs with several entries are valid).
* Computation: task ``i`` has a mean cost ``w_i ~ U(0.5, 1.5) * mean_exec_us`` (kept away from 0), and
  on PE ``p`` it takes ``w_i * U(1 - het/2, 1 + het/2)`` (Topcuoglu's heterogeneity factor beta = ``het``).
  Each task gets its own kernel ``rand_<i>``, added to the execution table of every PE of the platform.
* Communication: the communication-to-computation ratio ``ccr`` is the mean edge transfer time between
  two different PEs divided by the mean task cost. Edge volumes are ``U(0.5, 1.5) * v`` where ``v`` is
  chosen so that the mean transfer time over all ordered pairs of different PEs equals ``ccr * mean_exec_us``
  (latency included; volumes are 0 when latency alone exceeds it). That mean is
  :meth:`Platform.mean_transfer_terms`; HEFT's ``c_bar`` (mean bandwidth) is lower on uneven links.

The ``random:`` workload spec (see :func:`parse_random_spec`) reads
``random:tasks=40,fanout=3,ccr=0.5,het=0.5,seed=1[,shape=1.0][,exec=20]``; the seed makes the graph
independent of the run's seed, so one spec names one graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.model import Edge, Platform, Task, TaskGraph


@dataclass(frozen=True)
class RandomDagSpec:
    """Parameters of one random task graph.

    Attributes
    ----------
    tasks: number of tasks (>= 1).
    fanout: maximum out-degree of a task (>= 1).
    ccr: communication-to-computation ratio (>= 0).
    het: heterogeneity factor beta in [0, 2): per-PE time spread around a task's mean.
    shape: Topcuoglu's shape parameter alpha (> 0): layers = sqrt(tasks) / shape.
    mean_exec_us: mean task cost (> 0).
    seed: seed of the graph's own generator when built from a ``random:`` spec.
    name: application name (and kernel prefix ``rand``).
    """

    tasks: int = 40
    fanout: int = 3
    ccr: float = 0.5
    het: float = 0.5
    shape: float = 1.0
    mean_exec_us: float = 20.0
    seed: int = 0
    name: str = "random"

    def __post_init__(self) -> None:
        checks = (
            ("tasks", isinstance(self.tasks, int) and limits.TASKS.contains(self.tasks), limits.TASKS.describe()),
            ("fanout", isinstance(self.fanout, int) and 1 <= self.fanout <= 1000, "an integer in [1, 1000]"),
            ("ccr", 0 <= self.ccr <= 1e6, "a number in [0, 1e6]"),
            ("het", 0 <= self.het < 2, "a number in [0, 2)"),
            ("shape", 0 < self.shape <= 1e6, "a number in (0, 1e6]"),
            ("exec", 0 < self.mean_exec_us <= 1e9, "a number in (0, 1e9] us"),
            ("seed", isinstance(self.seed, int) and limits.SEED.contains(self.seed), limits.SEED.describe()),
        )
        for key, ok, what in checks:
            if not ok:
                raise SocEmuError(f"{key} must be {what}", source=f"random:{key}")


_KEYS = {"tasks": int, "fanout": int, "ccr": float, "het": float, "shape": float, "exec": float, "seed": int}
_FIELD = {"exec": "mean_exec_us"}


def parse_random_spec(spec: str) -> RandomDagSpec:
    """Parse ``random:key=value,...`` (keys: tasks, fanout, ccr, het, shape, exec, seed; all optional)."""
    if not spec.startswith("random:") and spec != "random":
        raise SocEmuError(f"not a random workload spec: {spec!r}", source="random")
    body = spec[len("random:"):] if spec.startswith("random:") else ""
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise SocEmuError(f"expected key=value with key one of {', '.join(_KEYS)}, got {part!r}",
                              source=f"random:{key or part}")
        try:
            values[_FIELD.get(key, key)] = _KEYS[key](raw.strip())
        except ValueError:
            raise SocEmuError(f"expected {_KEYS[key].__name__}, got {raw!r}", source=f"random:{key}") from None
    return RandomDagSpec(**values)  # type: ignore[arg-type]


def _layers(n: int, shape: float, rng: np.random.Generator) -> list[list[int]]:
    height = max(1, min(n, round(math.sqrt(n) / shape)))
    sizes = np.ones(height, dtype=int) + rng.multinomial(n - height, np.full(height, 1.0 / height))
    layers, start = [], 0
    for size in sizes:
        layers.append(list(range(start, start + int(size))))
        start += int(size)
    return layers


def generate(spec: RandomDagSpec, platform: Platform, rng: np.random.Generator) -> tuple[TaskGraph, Platform]:
    """A random DAG for ``spec`` and ``platform`` extended with its kernels (every PE runs every task)."""
    n = spec.tasks
    layers = _layers(n, spec.shape, rng)
    layer_of = {t: li for li, layer in enumerate(layers) for t in layer}
    edges: set[tuple[int, int]] = set()
    for li, layer in enumerate(layers[:-1]):
        later = [t for lay in layers[li + 1:] for t in lay]
        nxt = layers[li + 1]
        for t in layer:
            degree = int(rng.integers(1, spec.fanout + 1))
            first = int(rng.choice(nxt))
            chosen = {first}
            pool = [x for x in later if x != first]
            extra = min(degree - 1, len(pool))
            if extra:
                chosen.update(int(x) for x in rng.choice(pool, size=extra, replace=False))
            edges.update((t, d) for d in chosen)
    assert all(layer_of[s] < layer_of[d] for s, d in edges)

    weights = rng.uniform(0.5, 1.5, size=n) * spec.mean_exec_us
    spread = rng.uniform(1 - spec.het / 2, 1 + spec.het / 2, size=(len(platform.pes), n))
    kernels = [f"rand_{i}" for i in range(n)]
    clash = set(kernels) & platform.kernels
    if clash:
        raise SocEmuError(f"platform already defines kernels {sorted(clash)[:3]}", source=f"random: {platform.name}")
    pes = tuple(
        replace(pe, exec_times_us={**pe.exec_times_us, **{k: float(weights[i] * spread[pe.index, i])
                                                          for i, k in enumerate(kernels)}})
        for pe in platform.pes
    )
    mean_lat, per_unit = platform.mean_transfer_terms()
    target = spec.ccr * spec.mean_exec_us
    base_volume = max(0.0, (target - mean_lat) / per_unit) if per_unit > 0 else 0.0
    ordered = sorted(edges)
    volumes = rng.uniform(0.5, 1.5, size=len(ordered)) * base_volume
    graph = TaskGraph(
        name=spec.name,
        tasks=tuple(Task(index=i, name=f"t{i}", kernel=kernels[i]) for i in range(n)),
        edges=tuple(Edge(s, d, float(v)) for (s, d), v in zip(ordered, volumes)),
        source=f"random:tasks={spec.tasks},fanout={spec.fanout},ccr={spec.ccr},het={spec.het},seed={spec.seed}",
    )
    extended = Platform(name=platform.name, pes=pes, interconnect=platform.interconnect,
                        description=platform.description, source=platform.source)
    return graph, extended
