"""Kernel graphs and their integer golden models."""

from __future__ import annotations

import numpy as np
import pytest

from hw.errors import HwError
from hw.kernels import build_kernel
from hw.kernels.golden import random_operands, requantise, run_kernel


def test_requantise_shifts_floors_saturates_and_relus():
    acc = np.array([1000, -1000, 40000, -40000, -1, 255])
    assert requantise(acc, 4, relu=False).tolist() == [62, -63, 127, -128, -1, 15]
    assert requantise(acc, 4, relu=True).tolist() == [62, 0, 127, 0, 0, 15]


def test_mlp_golden_matches_a_direct_float_free_computation():
    graph = build_kernel("mlp")
    x, w = random_operands(graph, np.random.default_rng(0))
    tensors = run_kernel(graph, x, w)
    h = x
    for task, weight in zip(graph.tasks, ("w1", "w2", "w3")):
        acc = h @ w[weight]
        h = np.clip(acc >> task.shift, -128, 127)
        if task.relu:
            h = np.maximum(h, 0)
    assert np.array_equal(tensors["fc3"], h)
    assert tensors["fc3"].shape == (8, 32)


def test_mlp_hdv_shape_largest_intermediate_exceeds_default_budget():
    from hw.planner import Budget

    graph = build_kernel("mlp")
    sizes = {t.name: t.out_elems for t in graph.tasks[:-1]}
    assert max(sizes.values()) > Budget().buffer_bytes > min(sizes.values())


def test_random_operands_are_seeded_and_extreme_values_are_extreme():
    graph = build_kernel("mlp")
    a, _ = random_operands(graph, np.random.default_rng(7))
    b, _ = random_operands(graph, np.random.default_rng(7))
    assert np.array_equal(a, b)
    x, w = random_operands(graph, np.random.default_rng(7), extreme=True)
    assert set(np.unique(x)) <= {-128, -127, 0, 126, 127}


def test_kernel_size_errors():
    with pytest.raises(HwError, match="--size"):
        build_kernel("mlp", {"tokens": 0})
    with pytest.raises(HwError, match="--kernel"):
        build_kernel("nope")


# ---------------------------------------------------------------- convolutions (CNN kernel) ----------------

def naive_conv3x3(fmap: np.ndarray, h: int, w: int, c: int, weights: np.ndarray, *, stride: int, up: int
                  ) -> np.ndarray:
    """Reference 3x3, pad-1 convolution with explicit loops: pixel-major ``(h*w, c)`` map in, optional
    nearest upsampling by ``up`` (source pixel ``(iy // up, ix // up)``), exact int64 accumulation."""
    up_h, up_w = h * up, w * up
    out_h = (up_h + 2 - 3) // stride + 1
    out_w = (up_w + 2 - 3) // stride + 1
    out = np.zeros((out_h * out_w, weights.shape[1]), dtype=np.int64)
    for oy in range(out_h):
        for ox in range(out_w):
            acc = np.zeros(weights.shape[1], dtype=np.int64)
            for ky in range(3):
                for kx in range(3):
                    iy, ix = oy * stride + ky - 1, ox * stride + kx - 1
                    if not (0 <= iy < up_h and 0 <= ix < up_w):
                        continue                     # zero padding
                    pixel = (iy // up) * w + ix // up
                    for ch in range(c):
                        acc += int(fmap[pixel, ch]) * weights[(ky * 3 + kx) * c + ch]
            out[oy * out_w + ox] = acc
    return out


GEOMETRIES = [  # (in_h, in_w, in_c, stride, up)
    (4, 4, 4, 1, 1),
    (3, 5, 2, 1, 1),
    (5, 3, 3, 2, 1),
    (7, 2, 1, 2, 1),
    (3, 5, 8, 1, 2),
    (1, 1, 5, 1, 2),
    (2, 3, 6, 2, 2),
    (6, 4, 16, 2, 1),
]


@pytest.mark.parametrize("h, w, c, stride, up", GEOMETRIES)
def test_im2col_gemm_equals_a_naive_convolution(h, w, c, stride, up):
    from hw.kernels.golden import im2col
    from hw.kernels.graph import Conv

    rng = np.random.default_rng(h * 1000 + w * 100 + c * 10 + stride + up)
    fmap = rng.integers(-128, 128, size=(h * w, c), dtype=np.int64)
    weights = rng.integers(-128, 128, size=(9 * c, 5), dtype=np.int64)
    conv = Conv(h, w, c, stride=stride, up=up)
    columns = im2col(fmap, conv)
    expected = naive_conv3x3(fmap, h, w, c, weights, stride=stride, up=up)
    assert columns.shape == (conv.out_h * conv.out_w, 9 * c)
    assert expected.shape[0] == conv.out_h * conv.out_w
    assert np.array_equal(columns @ weights, expected)


def test_conv_task_golden_is_requantised_naive_convolution():
    from hw.kernels.golden import gemm_task

    graph = build_kernel("cnn", {"height": 3, "width": 5, "c_in": 8})
    x, w = random_operands(graph, np.random.default_rng(11))
    tensors = run_kernel(graph, x, w)
    h = x
    for task, weight in zip(graph.tasks, ("w1", "w2", "w3", "w4")):
        conv = task.conv
        acc = naive_conv3x3(h, conv.in_h, conv.in_w, conv.in_c, w[weight], stride=conv.stride, up=conv.up)
        h = np.clip(acc >> task.shift, -128, 127)
        if task.relu:
            h = np.maximum(h, 0)
        assert np.array_equal(tensors[task.name], h), task.name
        assert np.array_equal(gemm_task(task, tensors[task.x], w), h), task.name
    assert (tensors["conv4"] < 0).any()        # the last convolution has no ReLU


def test_cnn_golden_shapes_follow_the_upsampling_and_stride():
    graph = build_kernel("cnn")
    x, w = random_operands(graph, np.random.default_rng(0))
    tensors = run_kernel(graph, x, w)
    assert x.shape == (16, 4)                                  # 4x4 map, 4 channels, pixel-major
    assert {name: tensors[name].shape for name in ("conv1", "conv2", "conv3", "conv4")} == {
        "conv1": (16, 16), "conv2": (64, 16), "conv3": (256, 16), "conv4": (64, 16)}
    assert tensors[graph.output].shape == (64, 16)
    odd = build_kernel("cnn", {"height": 3, "width": 5, "c_in": 8, "channels": 8})
    assert [(t.m, t.k, t.n) for t in odd.tasks] == [(15, 72, 8), (60, 72, 8), (240, 72, 8), (60, 72, 8)]


def test_cnn_hdv_shape_conv3_exceeds_default_budget_and_earlier_maps_fit():
    from hw.planner import Budget

    graph = build_kernel("cnn")
    sizes = {t.name: t.out_elems for t in graph.tasks[:-1]}
    assert max(sizes, key=sizes.get) == "conv3"
    assert sizes["conv3"] > Budget().buffer_bytes > max(sizes["conv1"], sizes["conv2"])


@pytest.mark.parametrize("kwargs, word", [({"stride": 3}, "stride"), ({"up": 3}, "upsampling"),
                                          ({"stride": 0}, "stride"), ({"up": 0}, "upsampling")])
def test_conv_rejects_unsupported_stride_and_upsampling(kwargs, word):
    from hw.kernels.graph import Conv

    with pytest.raises(HwError, match=word):
        Conv(4, 4, 4, **kwargs)


def test_kernel_graph_rejects_a_conv_whose_input_map_does_not_match():
    from hw.kernels.graph import Conv, GemmTask, KernelGraph

    g1 = Conv(4, 4, 4)
    wrong = Conv(3, 3, 8)                      # conv1 produces a 4x4x8 map (16 pixels), not 3x3x8
    tasks = (GemmTask("conv1", "x", "w1", 16, 36, 8, 7, relu=True, conv=g1),
             GemmTask("conv2", "conv1", "w2", wrong.out_h * wrong.out_w, 72, 8, 7, conv=wrong))
    weights = {"w1": (36, 8), "w2": (72, 8)}
    with pytest.raises(HwError) as info:
        KernelGraph("tiny", "x", (16, 4), weights, tasks)
    assert "conv2" in str(info.value) and "(16, 8)" in str(info.value) and "(9, 8)" in str(info.value)
    assert info.value.source == "kernel tiny"
    # the same graph with the matching geometry is accepted
    right = Conv(4, 4, 8)
    ok = (tasks[0], GemmTask("conv2", "conv1", "w2", 16, 72, 8, 7, conv=right))
    assert KernelGraph("tiny", "x", (16, 4), weights, ok).output == "conv2"


def test_cnn_size_errors_name_the_size_flag():
    with pytest.raises(HwError, match="--size channels"):
        build_kernel("cnn", {"channels": 0})
    with pytest.raises(HwError, match="--size"):
        build_kernel("cnn", {"tokens": 8})


# ---------------------------------------------------------------- single-head self-attention --------------

def _sat(acc: np.ndarray, shift: int) -> np.ndarray:
    return np.clip(np.asarray(acc, dtype=np.int64) >> shift, -128, 127)


@pytest.mark.parametrize("sizes, proj_shift, score_shift", [
    (None, 9, 10),                                            # d_model 32, d_head 128: 6 + ceil(5/2), 6 + ceil(7/2)
    ({"seq": 16, "d_model": 128, "d_head": 16}, 10, 8),       # 6 + ceil(7/2), 6 + ceil(4/2)
])
@pytest.mark.parametrize("extreme", [False, True])
def test_attention_golden_equals_an_independent_numpy_computation(sizes, proj_shift, score_shift, extreme):
    from hw.golden.softmax import softmax_rows

    graph = build_kernel("attention", sizes)
    n, dm, d = (graph.sizes[k] for k in ("seq", "d_model", "d_head"))
    assert [(t.name, t.m, t.k, t.n, t.shift) for t in graph.tasks] == [
        ("kt", d, dm, n, proj_shift), ("v", n, dm, d, proj_shift), ("q", n, dm, d, proj_shift),
        ("s", n, d, n, score_shift), ("o", n, n, d, 7)]
    x, w = random_operands(graph, np.random.default_rng(5), extreme=extreme)
    assert x.shape == (n, dm) and w["wk_t"].shape == (d, dm)
    tensors = run_kernel(graph, x, w)

    wk = w["wk_t"].T                                           # the kernel stores W_k transposed
    q = _sat(x @ w["wq"], proj_shift)
    k = _sat(x @ wk, proj_shift)
    v = _sat(x @ w["wv"], proj_shift)
    assert np.array_equal(tensors["q"], q) and np.array_equal(tensors["v"], v)
    # the kt task computes K^T directly as requant(W_k^T X^T); requant is element-wise, so it is (X W_k)^T
    assert np.array_equal(tensors["kt"], _sat(w["wk_t"] @ x.T, proj_shift))
    assert np.array_equal(tensors["kt"], k.T)
    scores = _sat(q @ k.T, score_shift)
    probs = softmax_rows(scores, bits=8, in_frac_bits=4)
    assert np.array_equal(tensors["s"], probs)
    assert np.array_equal(tensors["o"], _sat(probs @ v, 7))
    assert tensors["o"].shape == (n, d) and np.unique(tensors["o"]).size > 20


def test_attention_softmax_rows_are_q07_probabilities_close_to_float_softmax():
    graph = build_kernel("attention")
    x, w = random_operands(graph, np.random.default_rng(2))
    tensors = run_kernel(graph, x, w)
    probs = tensors["s"]
    n = graph.sizes["seq"]
    assert probs.min() >= 0 and probs.max() <= 127
    # sum_j e_j * (2**K // sum) <= 2**K, so the pre-truncation row sum is in (127.5, 128]; truncating each of
    # the n probabilities loses less than 1
    sums = probs.sum(axis=1)
    assert np.all(sums <= 128) and np.all(sums > 127.5 - n), sums
    assert 110 <= sums.mean() <= 127
    scores = np.clip((tensors["q"] @ tensors["kt"]) >> graph.task("s").shift, -128, 127) / 16.0   # Q.4
    real = np.exp(scores - scores.max(axis=1, keepdims=True))
    real /= real.sum(axis=1, keepdims=True)
    assert np.max(np.abs(probs / 128 - real)) < 1.5 / 128
    # the probabilities spread over several keys (not one-hot rows)
    assert np.all((probs > 0).sum(axis=1) >= 2) and probs.max() < 127


def test_attention_data_volume_q_k_v_each_exceed_the_budget_and_the_score_matrix_fits():
    from hw.api import make_budget
    from hw.planner import Budget

    graph = build_kernel("attention")
    elems = {t.name: t.out_elems for t in graph.tasks}
    assert elems == {"kt": 128 * 32, "v": 32 * 128, "q": 32 * 128, "s": 32 * 32, "o": 32 * 128}
    assert min(elems["kt"], elems["v"], elems["q"]) > elems["s"]
    # attention takes the common activation budget (only its lanes and cores differ)
    budget = make_budget(None, "attention").buffer_bytes
    assert budget == Budget().buffer_bytes == 2560
    # the head is 4x the sequence, as in InTAR (1024 vs 256): each of Q, K and V alone exceeds the
    # budget (4096 > 2560 bytes), while the score matrix fits (1024 bytes)
    assert all(elems[name] > budget for name in ("kt", "v", "q"))
    assert elems["s"] <= budget
    # with a head as narrow as twice the sequence, each of them fits again
    narrow = build_kernel("attention", {"d_head": 64})
    assert all(narrow.task(name).out_elems <= budget for name in ("kt", "v", "q"))


def test_attention_graph_records_dynamic_weights_and_the_transposed_input():
    graph = build_kernel("attention")
    assert graph.input_t == "x_t" and graph.task("kt").w == "x_t" and graph.task("kt").x == "wk_t"
    assert [t.name for t in graph.tasks if graph.dynamic_weight(t)] == ["s", "o"]
    assert [t.name for t in graph.weight_consumers("kt")] == ["s"]
    assert [t.name for t in graph.weight_consumers("v")] == ["o"]
    assert graph.weight_consumers("q") == [] and [t.name for t in graph.consumers("q")] == ["s"]
    assert [t.name for t in graph.tasks if t.softmax] == ["s"]


def test_kernel_graph_rejects_a_dynamic_weight_of_the_wrong_shape():
    from hw.kernels.graph import GemmTask, KernelGraph

    weights = {"wk_t": (16, 8), "wq": (8, 16)}
    good = (GemmTask("kt", "wk_t", "x_t", 16, 8, 4, 7), GemmTask("q", "x", "wq", 4, 8, 16, 7),
            GemmTask("s", "q", "kt", 4, 16, 4, 7, softmax_frac_bits=4))
    assert KernelGraph("att", "x", (4, 8), weights, good, input_t="x_t").output == "s"
    bad = good[:2] + (GemmTask("s", "q", "kt", 4, 16, 8, 7, softmax_frac_bits=4),)    # kt is 16 x 4, not 16 x 8
    with pytest.raises(HwError) as info:
        KernelGraph("att", "x", (4, 8), weights, bad, input_t="x_t")
    assert "task s" in str(info.value) and "weight kt must be (16, 8)" in str(info.value)
    assert info.value.source == "kernel att"
    # a dynamic weight must be produced earlier in the chain
    late = (good[1], GemmTask("s", "q", "kt", 4, 16, 4, 7), good[0])
    with pytest.raises(HwError, match="weight kt must be"):
        KernelGraph("att", "x", (4, 8), weights, late, input_t="x_t")
    # the transposed input only exists if the graph declares it
    with pytest.raises(HwError, match="weight x_t must be"):
        KernelGraph("att", "x", (4, 8), weights, good)


def test_kernel_graph_rejects_the_raw_input_as_a_weight_even_if_the_shape_fits():
    from hw.kernels.graph import GemmTask, KernelGraph

    square = (GemmTask("y", "x", "x", 8, 8, 8, 7),)        # x is 8 x 8: the shape alone would pass
    with pytest.raises(HwError) as info:
        KernelGraph("bad", "x", (8, 8), {}, square)
    assert "weight x must be (8, 8)" in str(info.value) and info.value.source == "kernel bad"
    # the host-transposed input is the legal way to use X as a W operand
    ok = KernelGraph("ok", "x", (8, 8), {}, (GemmTask("y", "x", "x_t", 8, 8, 8, 7),), input_t="x_t")
    assert ok.output == "y"


def test_kernel_graph_accepts_a_weight_tensor_as_the_x_operand_and_rejects_unknown_ones():
    from hw.kernels.graph import GemmTask, KernelGraph

    weights = {"wk_t": (16, 8)}
    ok = KernelGraph("t", "x", (4, 8), weights, (GemmTask("kt", "wk_t", "x_t", 16, 8, 4, 7),), input_t="x_t")
    assert ok.task("kt").x_shape == (16, 8)
    with pytest.raises(HwError, match="input wk_t is \\(16, 8\\), expected \\(8, 8\\)"):
        KernelGraph("t", "x", (4, 8), weights, (GemmTask("kt", "wk_t", "x_t", 8, 8, 4, 7),), input_t="x_t")
    with pytest.raises(HwError, match="reads 'nope'"):
        KernelGraph("t", "x", (4, 8), weights, (GemmTask("kt", "nope", "x_t", 16, 8, 4, 7),), input_t="x_t")


def test_attention_size_errors_name_the_size_flag():
    with pytest.raises(HwError, match="--size d_head"):
        build_kernel("attention", {"d_head": 0})
    with pytest.raises(HwError, match="--size"):
        build_kernel("attention", {"heads": 2})
