"""4-layer CNN with upsampling: ``conv1 -> up2 + conv2 -> up2 + conv3 -> conv4 (stride 2)``.

Scaled from InTAR's CNN-4L (224x224 maps, 3x3 "same" convolutions, two 2x upsamplings, a max-pool
before the last convolution): the map grows 16x in pixels through the decoder-like middle, so conv3's
output (``4h x 4w x channels``) is the data-volume peak and does not fit the default activation budget,
while conv1's and conv2's outputs do. The 2x nearest upsampling is folded into the next convolution's
operand reader (an address shift), so the upsampled maps are never stored; a stride-2 last convolution
takes the place of InTAR's max-pool as the down-sampling step. All convolutions are 3x3 with one pixel
of zero padding and ReLU except the last.
"""

from __future__ import annotations

from hw.kernels.graph import Conv, GemmTask, KernelGraph
from hw.kernels.sizing import positive, requant_shift

DEFAULT_SIZES = {"height": 4, "width": 4, "c_in": 4, "channels": 16}


def _conv(name: str, x: str, w: str, geometry: Conv, out_c: int, relu: bool) -> GemmTask:
    k = 9 * geometry.in_c
    return GemmTask(name, x, w, geometry.out_h * geometry.out_w, k, out_c, requant_shift(k), relu=relu,
                    conv=geometry)


def build(sizes: dict[str, int] | None = None) -> KernelGraph:
    s = {**DEFAULT_SIZES, **(sizes or {})}
    h, w, c0, c = (positive("cnn", key, s[key]) for key in ("height", "width", "c_in", "channels"))
    g1 = Conv(h, w, c0)
    g2 = Conv(g1.out_h, g1.out_w, c, up=2)
    g3 = Conv(g2.out_h, g2.out_w, c, up=2)
    g4 = Conv(g3.out_h, g3.out_w, c, stride=2)
    tasks = (
        _conv("conv1", "x", "w1", g1, c, relu=True),
        _conv("conv2", "conv1", "w2", g2, c, relu=True),
        _conv("conv3", "conv2", "w3", g3, c, relu=True),
        _conv("conv4", "conv3", "w4", g4, c, relu=False),
    )
    weights = {f"w{i + 1}": (t.k, t.n) for i, t in enumerate(tasks)}
    return KernelGraph("cnn", "x", (h * w, c0), weights, tasks, sizes=s)
