"""Pad a kernel graph to whole lane tiles and whole off-chip lines, so that any positive size works.

The cores compute ``L`` (gated: ``L/2``) output columns per N tile and move tensors in lines of ``B``
int8 words. Instead of refusing a size those do not divide, the planner computes a *padded* graph:

- every task's ``N`` is rounded up to a multiple of its core's output tile;
- every tensor's column count (a GEMM's ``K``, a map's channels) to a multiple of ``B``.

Tensor dimensions are tied across tasks (a producer's ``N`` is its consumer's ``K``, attention's
sequence length is both rows of ``Q`` and columns of ``K^T``...), so the sizes are found per *axis
class*: a union of the ``(tensor, 0|1)`` axes that must stay equal, padded to the largest multiple any
member needs. The host pads the input and the weights with zeros (:meth:`TensorPad.pad`) and slices the
output back (:meth:`TensorPad.unpad`). Zeros keep every real result exact: a zero weight column gives an
accumulator of 0, a zero weight row adds nothing to any real column, zero input channels add nothing to
a convolution. The only operation that reads padded results as if they were real is the row softmax of
attention scores: a padded key column would enter the row sum, so a softmax task records its real row
length (``softmax_valid``) and the SFU masks the rest to probability 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from hw.kernels.graph import GemmTask, KernelGraph

Axis = tuple[str, int]      # (tensor name, 0 = rows, 1 = columns)


@dataclass(frozen=True)
class TensorPad:
    """How a real ``(blocks * rows, cols)`` tensor sits in its padded ``(blocks * padded_rows,
    padded_cols)`` form: each of ``blocks`` row blocks (the 9 taps of a convolution weight, else 1) is
    padded from ``rows`` to ``padded_rows`` rows, and the columns from ``cols`` to ``padded_cols``."""

    rows: int
    padded_rows: int
    cols: int
    padded_cols: int
    blocks: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        return (self.blocks * self.rows, self.cols)

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (self.blocks * self.padded_rows, self.padded_cols)

    def pad(self, array: np.ndarray) -> np.ndarray:
        """The real tensor with zero rows and columns added."""
        real = np.asarray(array).reshape(self.blocks, self.rows, self.cols)
        out = np.zeros((self.blocks, self.padded_rows, self.padded_cols), dtype=real.dtype)
        out[:, : self.rows, : self.cols] = real
        return out.reshape(self.padded_shape)

    def unpad(self, array: np.ndarray) -> np.ndarray:
        """The real part of a padded tensor."""
        padded = np.asarray(array).reshape(self.blocks, self.padded_rows, self.padded_cols)
        return padded[:, : self.rows, : self.cols].reshape(self.shape)


class _AxisClasses:
    """Union-find over tensor axes whose sizes must stay equal."""

    def __init__(self) -> None:
        self.parent: dict[Axis, Axis] = {}

    def find(self, axis: Axis) -> Axis:
        self.parent.setdefault(axis, axis)
        while self.parent[axis] != axis:
            self.parent[axis] = self.parent[self.parent[axis]]
            axis = self.parent[axis]
        return axis

    def union(self, a: Axis, b: Axis) -> None:
        self.parent[self.find(a)] = self.find(b)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def pad_graph(graph: KernelGraph, tiles: Mapping[str, int], line: int) -> KernelGraph:
    """``graph`` with each task's ``N`` a multiple of ``tiles[task]`` (its output columns per N tile)
    and every tensor's column count a multiple of ``line``; its ``padding`` maps each host-visible
    tensor (input, weights, task outputs) to its :class:`TensorPad`. Requantisation shifts stay those of
    the real sizes. Returns ``graph`` itself when nothing needs padding."""
    shapes: dict[str, tuple[int, int]] = {graph.input: graph.input_shape, **graph.weights}
    shapes.update({t.name: (t.m, t.n) for t in graph.tasks})
    classes = _AxisClasses()
    conv_weights: dict[str, Axis] = {}          # convolution weight -> its per-tap (channel) row axis
    if graph.input_t is not None:
        classes.union((graph.input_t, 0), (graph.input, 1))
        classes.union((graph.input_t, 1), (graph.input, 0))
    for t in graph.tasks:
        for w in (t.w, t.w_gate) if t.glu else (t.w,):
            if t.conv is not None:
                conv_weights[w] = (t.x, 1)
            else:
                classes.union((w, 0), (t.x, 1))
            classes.union((w, 1), (t.name, 1))
        if t.conv is None:
            classes.union((t.x, 0), (t.name, 0))

    multiple: dict[Axis, int] = {}

    def need(axis: Axis, value: int) -> None:
        root = classes.find(axis)
        multiple[root] = max(multiple.get(root, 1), value)

    for name in shapes:
        need((name, 1), line)
    for t in graph.tasks:
        need((t.name, 1), tiles[t.name])

    def size(axis: Axis) -> int:
        tensor, dim = axis
        return _round_up(shapes[tensor][dim], multiple.get(classes.find(axis), 1))

    pads: dict[str, TensorPad] = {}
    for name, (rows, cols) in shapes.items():
        if name in conv_weights:
            in_c = shapes[conv_weights[name][0]][1]
            pads[name] = TensorPad(in_c, size(conv_weights[name]), cols, size((name, 1)), blocks=rows // in_c)
        else:
            pads[name] = TensorPad(rows, size((name, 0)), cols, size((name, 1)))
    if all(p.padded_shape == p.shape for p in pads.values()):
        return graph
    tasks = tuple(_pad_task(t, pads) for t in graph.tasks)
    weights = {name: pads[name].padded_shape for name in graph.weights}
    return replace(graph, input_shape=pads[graph.input].padded_shape, weights=weights, tasks=tasks,
                   padding=pads)


def _pad_task(task: GemmTask, pads: Mapping[str, TensorPad]) -> GemmTask:
    out = pads[task.name]
    m, n = out.padded_shape
    if task.conv is not None:
        conv = replace(task.conv, in_c=pads[task.x].padded_cols)
        padded = replace(task, k=9 * conv.in_c, n=n, conv=conv)
    else:
        padded = replace(task, m=m, k=pads[task.x].padded_cols, n=n)
    if task.softmax and n != task.n:
        padded = replace(padded, softmax_valid=task.softmax_valid or task.n)
    return padded
