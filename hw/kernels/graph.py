"""Kernel task graphs: GEMM-shaped tasks over named int8 tensors.

Every compute task is ``Y[M, N] = requant(X[M, K] @ W[K, N])`` where ``requant`` is an arithmetic right
shift by ``shift``, saturation to int8 and an optional ReLU. A gated task (LLM FFN up/gate projection)
computes both ``requant(X @ W_up)`` and ``requant(X @ W_gate)`` in one pass and combines them on the
output stream: ``Y = mul_requant(SiLU(up), gate)`` (PWL SiLU and multiply in Q``frac_bits``). ``X`` is the kernel input or another task's
output; ``W`` is a weight tensor held off-chip. The planner maps these tasks onto compute cores.

A convolution task (``conv`` set) is the same GEMM over the *im2col* view of a feature map: its input
tensor is an ``H x W x C`` map stored pixel-major (shape ``(H*W, C)``), ``M`` is the number of output
pixels, ``K = 9*C`` (3x3 taps, then channels) and ``N`` the output channels. The map is optionally
upsampled 2x (nearest) before the convolution, which pads by one pixel and has stride 1 or 2; the
hardware folds both into its operand addresses, so upsampled maps are never stored.

Attention-style tasks widen the operand sources: ``X`` may also be a weight tensor (held off-chip, like
the input), and ``W`` may be an earlier task's output (a *dynamic* weight, written off-chip by its
producer in the consumer's weight-tile layout) or the input transposed (``input_t``, laid out by the host
as weight tiles). A task with ``softmax_frac_bits`` passes each output row through the row-softmax SFU
(input ``x / 2**softmax_frac_bits``, probabilities in Q0.7); ``softmax_valid`` limits it to a row's first
columns (the others are padding: masked out of the row and output as 0).

A padded graph (see :mod:`hw.kernels.padding`) records in ``padding`` how each host-visible tensor sits in
its padded shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hw.errors import HwError

if TYPE_CHECKING:
    from hw.kernels.padding import TensorPad


@dataclass(frozen=True)
class Conv:
    """Geometry of a 3x3, pad-1 convolution over an ``in_h x in_w x in_c`` map (upsampled by ``up``)."""

    in_h: int
    in_w: int
    in_c: int
    stride: int = 1
    up: int = 1

    def __post_init__(self) -> None:
        if self.stride not in (1, 2):
            raise HwError(f"stride must be 1 or 2, not {self.stride}", source="conv")
        if self.up not in (1, 2):
            raise HwError(f"upsampling must be 1 or 2, not {self.up}", source="conv")

    @property
    def out_h(self) -> int:
        return (self.in_h * self.up - 1) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.in_w * self.up - 1) // self.stride + 1

    @property
    def in_pixels(self) -> int:
        return self.in_h * self.in_w


@dataclass(frozen=True)
class GemmTask:
    """One task ``out = requant(x @ w)``; ``x`` names the input tensor, ``w`` the weight tensor."""

    name: str
    x: str
    w: str
    m: int
    k: int
    n: int
    shift: int
    relu: bool = False
    w_gate: str | None = None
    frac_bits: int = 4
    conv: Conv | None = None
    softmax_frac_bits: int | None = None
    softmax_valid: int | None = None

    @property
    def softmax(self) -> bool:
        """Row softmax on the requantised output (whole rows of ``n`` elements)."""
        return self.softmax_frac_bits is not None

    @property
    def x_shape(self) -> tuple[int, int]:
        """Shape of the input tensor: ``(M, K)``, or ``(pixels, channels)`` of a convolution's map."""
        if self.conv is not None:
            return (self.conv.in_pixels, self.conv.in_c)
        return (self.m, self.k)

    @property
    def glu(self) -> bool:
        """Gated (SwiGLU-style) task: ``out = SiLU(requant(x @ w)) * requant(x @ w_gate)``."""
        return self.w_gate is not None

    @property
    def gemm_n(self) -> int:
        """Columns the MAC array computes (both halves of a gated task)."""
        return 2 * self.n if self.glu else self.n

    @property
    def macs(self) -> int:
        return self.m * self.k * self.gemm_n

    @property
    def out_elems(self) -> int:
        return self.m * self.n


@dataclass(frozen=True)
class KernelGraph:
    """A chain-shaped (topologically ordered) list of GEMM tasks with its tensors' shapes."""

    name: str
    input: str
    input_shape: tuple[int, int]
    weights: dict[str, tuple[int, int]]
    tasks: tuple[GemmTask, ...]
    sizes: dict[str, int] = field(default_factory=dict)
    input_t: str | None = None
    padding: dict[str, TensorPad] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shapes = {self.input: self.input_shape}
        static = dict(self.weights)
        if self.input_t is not None:
            static[self.input_t] = self.input_shape[::-1]
        for task in self.tasks:
            x_shape = shapes.get(task.x, self.weights.get(task.x))
            if x_shape is None:
                raise HwError(f"task {task.name} reads {task.x!r}, produced by no earlier task",
                              source=f"kernel {self.name}")
            if x_shape != task.x_shape:
                raise HwError(f"task {task.name}: input {task.x} is {x_shape}, expected "
                              f"{task.x_shape}", source=f"kernel {self.name}")
            if task.conv is not None and (task.glu or (task.m, task.k) != (
                    task.conv.out_h * task.conv.out_w, 9 * task.conv.in_c)):
                raise HwError(f"task {task.name}: convolution must have M = output pixels and K = 9 x "
                              "input channels (and no gate)", source=f"kernel {self.name}")
            for weight in (task.w, task.w_gate) if task.glu else (task.w,):
                if static.get(weight, shapes.get(weight)) != (task.k, task.n) or weight == self.input:
                    raise HwError(f"task {task.name}: weight {weight} must be {(task.k, task.n)}",
                                  source=f"kernel {self.name}")
            shapes[task.name] = (task.m, task.n)

    def dynamic_weight(self, task: GemmTask) -> bool:
        """Whether ``task``'s W operand is an earlier task's output."""
        return any(t.name == task.w for t in self.tasks)

    def weight_consumers(self, tensor: str) -> list[GemmTask]:
        return [task for task in self.tasks if task.w == tensor]

    @property
    def output(self) -> str:
        return self.tasks[-1].name

    @property
    def macs(self) -> int:
        return sum(task.macs for task in self.tasks)

    def task(self, name: str) -> GemmTask:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def consumers(self, tensor: str) -> list[GemmTask]:
        return [task for task in self.tasks if task.x == tensor]
