"""The planner's output: cores with their programs, streams between them, and the off-chip image."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hw.core.isa import Instruction
from hw.kernels.padding import TensorPad


@dataclass(frozen=True)
class Budget:
    """Hardware budget shared by all variants of a kernel.

    ``lanes``: MAC lanes in total; ``cores``: most compute cores a design may use (dataflow needs one per
    task); ``buffer_bytes``: on-chip bytes for activations (scratchpads, stream rings, partial sums),
    weight buffers not included; ``weight_bytes``: on-chip bytes for weight buffers (``None``: 1 KiB
    per MAC lane, what one core needs to double-buffer a 384-deep tile), so that no variant buys speed
    with far more on-chip memory than another; ``words_per_cycle``: off-chip bandwidth per direction
    (int8 words); ``latency``: off-chip read latency in cycles.
    """

    lanes: int = 16
    cores: int = 4
    buffer_bytes: int = 2560
    words_per_cycle: int = 4
    latency: int = 64
    weight_bytes: int | None = None

    @property
    def weight_cap(self) -> int:
        """Weight-buffer bytes a design may hold."""
        return self.weight_bytes if self.weight_bytes is not None else 1024 * self.lanes


@dataclass
class CorePlan:
    name: str
    lanes: int
    program: list[Instruction]
    spad_words: int = 0
    ring_words: int = 0
    psum_entries: int = 0
    wbuf_entries: int = 1
    glu_frac_bits: int = 4
    softmax_frac_bits: int = 4
    softmax_valid: int | None = None     # real columns of a softmax row (the rest is padding), if fewer

    @property
    def buffer_bytes(self) -> int:
        return self.spad_words + self.ring_words + self.psum_entries * self.lanes * 4

    @property
    def wbuf_bytes(self) -> int:
        return self.wbuf_entries * self.lanes


@dataclass(frozen=True)
class StreamPlan:
    producer: int
    consumer: int
    depth: int = 16


@dataclass
class Region:
    """A named tensor in the off-chip image: first line and shape (row-major, ``B`` words per line)."""

    name: str
    kind: str          # "weights" | "inputs" | "spill" | "outputs"
    line: int
    lines: int


@dataclass
class DesignPlan:
    """Everything needed to build one design and to load and check it."""

    kernel: str
    variant: str
    budget: Budget
    cores: list[CorePlan]
    streams: list[StreamPlan]
    regions: list[Region]
    image_lines: int
    weight_layout: list[tuple[int, tuple[tuple[str, int, int, int, int], ...]]]  # (line, pieces)
    input_region: str
    output_region: str
    decisions: dict[str, object] = field(default_factory=dict)
    estimate: dict[str, float] = field(default_factory=dict)
    host_rows: list[tuple[int, str]] = field(default_factory=list)   # (line, tensor) written row-major
    input_t: str | None = None     # name of the transposed input, if weight tiles are cut from it
    padding: dict[str, TensorPad] = field(default_factory=dict)   # real tensor -> its padded layout

    def padded(self, name: str, array: np.ndarray) -> np.ndarray:
        """Tensor ``name`` as the design holds it: the real ``array`` zero-padded to whole tiles and lines."""
        pad = self.padding.get(name)
        return pad.pad(array) if pad is not None else np.asarray(array)

    def region(self, name: str) -> Region:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def class_ranges(self) -> dict[str, tuple[int, int]]:
        """Line range of each region kind (regions of one kind are laid out contiguously)."""
        ranges: dict[str, tuple[int, int]] = {}
        for region in self.regions:
            lo, hi = ranges.get(region.kind, (region.line, region.line + region.lines))
            ranges[region.kind] = (min(lo, region.line), max(hi, region.line + region.lines))
        return ranges

    def image(self, x: np.ndarray, weights: dict[str, np.ndarray]) -> list[int]:
        """Off-chip line contents for the real input ``x`` and ``weights`` (zero-padded as the design
        needs): weight tiles in fetch order (cut from the transposed input too, for tasks that use it as W)
        and the tensors the host writes row-major."""
        B = self.budget.words_per_cycle
        words = np.zeros(self.image_lines * B, dtype=np.int64)
        tensors = {name: self.padded(name, w) for name, w in weights.items()}
        tensors[self.input_region] = self.padded(self.input_region, x)
        if self.input_t is not None:
            tensors[self.input_t] = tensors[self.input_region].T
        for line, pieces in self.weight_layout:
            tile = np.hstack([np.asarray(tensors[name])[k0:k1, n0:n1] for name, k0, k1, n0, n1 in pieces]).reshape(-1)
            words[line * B: line * B + tile.size] = tile
        rows = self.host_rows or [(self.region(self.input_region).line, self.input_region)]
        for line, name in rows:
            flat = np.asarray(tensors[name]).reshape(-1)
            words[line * B: line * B + flat.size] = flat
        return pack_words(words, B)

    def read_output(self, lines: list[int], shape: tuple[int, int]) -> np.ndarray:
        """Decode the output tensor (real ``shape``) from the image lines of the output region."""
        pad = self.padding.get(self.output_region)
        stored = pad.padded_shape if pad is not None else shape
        B = self.budget.words_per_cycle
        values = []
        for line in lines:
            for j in range(B):
                byte = (line >> (8 * j)) & 0xFF
                values.append(byte - 256 if byte >= 128 else byte)
        output = np.array(values[: stored[0] * stored[1]], dtype=np.int64).reshape(stored)
        return pad.unpad(output) if pad is not None else output

    @property
    def total_lanes(self) -> int:
        return sum(core.lanes for core in self.cores)

    @property
    def buffer_bytes(self) -> int:
        return sum(core.buffer_bytes for core in self.cores)

    @property
    def wbuf_bytes(self) -> int:
        return sum(core.wbuf_bytes for core in self.cores)


def pack_words(words: np.ndarray, B: int) -> list[int]:
    lines = []
    words = np.asarray(words, dtype=np.int64) & 0xFF
    for base in range(0, len(words), B):
        value = 0
        for j, word in enumerate(words[base: base + B]):
            value |= int(word) << (8 * j)
        lines.append(value)
    return lines
