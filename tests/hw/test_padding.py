"""Padding to whole lane tiles and lines: the padded problem computes the real one exactly.

The numpy golden model of the padded graph, on zero-padded operands, must give the golden output of the
unpadded problem after slicing, for every kernel at random odd shapes and random core tiles; the
planner plans the shapes that used to be refused; and the row-softmax SFU with a ``valid`` length masks
the padded columns in RTL (Amaranth simulation). The Verilator runs are in
``test_cocotb_shapes.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import plan
from hw.blocks import Softmax
from hw.golden.softmax import softmax_rows
from hw.kernels import DEFAULT_SIZES, build_kernel, random_sizes
from hw.kernels.golden import random_operands, run_kernel
from hw.kernels.padding import TensorPad, pad_graph
from hw.planner.lower import out_tile
from hw.sim.amaranth_streams import stream_through

KERNELS = tuple(DEFAULT_SIZES)


def _random_tiles(graph, rng: np.random.Generator) -> dict[str, int]:
    """A lane count per task (4 to 32) and the output columns per N tile it gives."""
    return {t.name: out_tile(t, int(rng.choice([8, 16, 32]) if t.glu else rng.choice([4, 8, 16, 32])))
            for t in graph.tasks}


@pytest.mark.parametrize("kernel", KERNELS)
def test_padded_golden_sliced_equals_the_unpadded_golden(kernel):
    rng = np.random.default_rng(12)
    for trial in range(6):
        sizes = random_sizes(kernel, rng, low=0.0, high=0.6) if trial else {k: 1 for k in DEFAULT_SIZES[kernel]}
        graph = build_kernel(kernel, sizes)
        tiles = _random_tiles(graph, rng)
        padded = pad_graph(graph, tiles, 4)
        for task, real in zip(padded.tasks, graph.tasks):
            assert task.n % tiles[task.name] == 0 and task.k % 4 == 0 and task.n >= real.n
            assert (task.shift, task.relu) == (real.shift, real.relu)      # requantisation of the real sizes
        for extreme in (False, True):
            x, w = random_operands(graph, rng, extreme=extreme)
            want = run_kernel(graph, x, w)[graph.output]
            pads = padded.padding
            got = run_kernel(padded, pads[graph.input].pad(x), {n: pads[n].pad(a) for n, a in w.items()})
            assert np.array_equal(pads[graph.output].unpad(got[padded.output]), want), (sizes, tiles)


def test_attention_pads_the_sequence_and_masks_padded_keys():
    graph = build_kernel("attention", {"seq": 7, "d_model": 5, "d_head": 9})
    padded = pad_graph(graph, {"kt": 8, "v": 4, "q": 8, "s": 16, "o": 4}, 4)
    dims = {t.name: (t.m, t.k, t.n) for t in padded.tasks}
    # the sequence length is tied across kt's and s's columns and every token row: 16 (s's tile)
    assert dims == {"kt": (16, 8, 16), "v": (16, 8, 12), "q": (16, 8, 16), "s": (16, 16, 16), "o": (16, 16, 12)}
    assert padded.task("s").softmax_valid == 7 and padded.input_shape == (16, 8)
    x, w = random_operands(graph, np.random.default_rng(3))
    probs = run_kernel(padded, padded.padding["x"].pad(x), {n: padded.padding[n].pad(a) for n, a in w.items()})["s"]
    assert np.all(probs[:, 7:] == 0) and np.all(probs[:7, :7].sum(axis=1) > 100)


def test_conv_weights_pad_each_tap_block_and_aligned_shapes_are_untouched():
    pad = TensorPad(rows=3, padded_rows=4, cols=5, padded_cols=8, blocks=9)
    w = np.arange(27 * 5).reshape(27, 5)
    padded = pad.pad(w)
    assert padded.shape == (36, 8) and np.array_equal(padded[4:7, :5], w[3:6]) and not padded[3].any()
    assert np.array_equal(pad.unpad(padded), w)
    graph = build_kernel("cnn", {"height": 6, "width": 5, "c_in": 3})
    padded = pad_graph(graph, {t.name: 16 for t in graph.tasks}, 4)
    assert padded.task("conv1").conv.in_c == 4 and padded.task("conv1").k == 36
    assert padded.weights["w1"] == (36, 16) and padded.input_shape == (30, 4)
    default = build_kernel("mlp")
    assert pad_graph(default, {t.name: 16 for t in default.tasks}, 4) is default


@pytest.mark.parametrize("kernel, sizes, variant", [
    ("mlp", {"d_h1": 200}, "sequential"),                            # "lanes (16) do not divide N=200"
    ("cnn", {"height": 6, "width": 5, "c_in": 3}, "sequential"),    # "90 elements ... not whole lines"
    ("attention", {"seq": 7}, "intar"),
    ("ffn", {"tokens": 1, "d_model": 1, "d_hidden": 1}, "dataflow"),
])
def test_formerly_refused_shapes_plan(kernel, sizes, variant):
    design = plan(kernel, variant, sizes=sizes)
    assert design.decisions["sizes"] == {**DEFAULT_SIZES[kernel], **sizes}
    assert design.padding and design.estimate["cycles"] > 0
    graph = build_kernel(kernel, sizes)
    assert design.padding[graph.output].shape == (graph.tasks[-1].m, graph.tasks[-1].n)


@pytest.mark.parametrize("width, row_len, valid", [(4, 16, 7), (4, 8, 1), (2, 8, 5)])
def test_softmax_block_masks_columns_past_valid(width, row_len, valid):
    rng = np.random.default_rng(valid)
    x = rng.integers(-128, 128, size=(4, row_len))
    x[0, valid:] = 127                       # padding larger than every real score must not count
    dut = Softmax(bits=8, width=width, row_len=row_len, in_frac_bits=4, valid=valid)
    out = stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": x.size // width}, seed=5, stall=0.3)
    got = np.asarray(out["o"]).reshape(x.shape)
    assert np.array_equal(got[:, :valid], softmax_rows(x[:, :valid], bits=8, in_frac_bits=4))
    assert not got[:, valid:].any()
