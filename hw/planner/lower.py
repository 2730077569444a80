"""Lower a mapping (task groups on cores, stream modes, spills) to core programs and an off-chip image.

A *mapping* assigns consecutive tasks of the chain to *groups*; each group runs on one core with its
own lane count, task after task. Inside a group, an intermediate stays in the core's scratchpad or is
spilled off-chip. Between groups the producer's last task streams its output to the consumer's first
task, in one of two ways:

- ``whole``: the consumer buffers the entire input in its stream-in ring and reads it as a normal X
  operand (the first N tile waits for each element to arrive; later tiles reuse it);
- ``chunked``: the consumer runs one instruction per producer column tile (``K = L_producer``),
  accumulating 32-bit partial sums, so it works while the producer is still producing (InTAR's
  task pipeline) at the cost of a partial-sum memory ``M x N_consumer x 4`` bytes;
- ``rows``: a convolution reads its stream-in ring as a line buffer and releases input rows as its
  3x3 window slides; a GEMM consumer and its producer both run pixel-major (``m_outer``), so rows
  arrive whole and each is freed once all its N tiles are done: either way only a few rows are ever
  buffered.

Convolutions read off-chip maps (the kernel input, spilled maps) the same way: the core's X loader
streams the map once into the ring and the operand reader walks it as a line buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hw.core.isa import Dest, Instruction, XSource
from hw.errors import HwError
from hw.kernels.graph import GemmTask, KernelGraph
from hw.planner.plan import Budget, CorePlan, DesignPlan, Region, StreamPlan

STREAM_DEPTH = 16


@dataclass(frozen=True)
class Group:
    tasks: tuple[str, ...]
    lanes: int


@dataclass(frozen=True)
class Mapping:
    """Groups in chain order, the stream mode of each cut between groups, and the spilled tensors."""

    groups: tuple[Group, ...]
    cuts: tuple[str, ...] = ()
    spilled: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        parts = []
        for i, group in enumerate(self.groups):
            parts.append(f"[{'+'.join(group.tasks)} @{group.lanes}]")
            if i < len(self.cuts):
                parts.append("|" if self.cuts[i] == "none" else f"={self.cuts[i]}=>")
        return " ".join(parts)


def _pow2_at_least(value: int) -> int:
    result = 1
    while result < value:
        result *= 2
    return result


def _log2(value: int) -> int:
    return value.bit_length() - 1


def cut_modes(graph: KernelGraph, consumer: GemmTask, before: str) -> tuple[str, ...]:
    """Stream modes a cut between task ``before`` and ``consumer`` may use: none if ``consumer`` does
    not read ``before``; line buffers for convolutions; for GEMMs ``rows`` (both run pixel-major, so
    rows stream through a two-row ring; not with gated tasks), ``whole``, and ``chunked`` unless rows
    arrive whole (softmax producers), rows are re-read per N tile (softmax consumers) or the W operand
    is a dynamic weight laid out for the whole K."""
    if consumer.x != before:
        return ("none",)
    if consumer.conv is not None:
        return ("rows",)
    producer = graph.task(consumer.x)
    modes = ("whole",) if producer.glu or consumer.glu else ("rows", "whole")
    if consumer.softmax or graph.dynamic_weight(consumer) or producer.softmax:
        return modes
    return ("chunked", *modes)


def line_buffer_words(task: GemmTask) -> int:
    """Ring words for a convolution reading its map as a line buffer: four input rows (the 3x3 window
    spans at most three, the fourth lets the producer run ahead), or the whole map if smaller."""
    conv = task.conv
    assert conv is not None
    return _pow2_at_least(min(conv.in_pixels * conv.in_c, 4 * conv.in_w * conv.in_c))


def _wbuf_entries(program: list[Instruction]) -> int:
    """Weight buffer depth: GEMM cores double-buffer their largest tile; convolution cores keep all of
    an instruction's tiles resident and, with several instructions, room to prefetch the next one's."""
    if not any(i.pixel_major for i in program):
        return _pow2_at_least(2 * max(i.k_bound for i in program))
    resident = [i.k_bound * (i.n_tiles if i.pixel_major else 2) for i in program]
    pairs = [a + b for a, b in zip(resident, resident[1:])] or resident
    return _pow2_at_least(max(pairs))


def _pixel_major_tasks(graph: KernelGraph, mapping: Mapping) -> set[str]:
    """GEMMs that run pixel-major: softmax tasks and both ends of a GEMM ``rows`` cut. Raises HwError
    (source ``mapping``) if one of them would also be an end of a ``chunked`` cut."""
    tasks = {t.name: t for t in graph.tasks}
    groups = mapping.groups
    m_outer = {t.name for t in graph.tasks if t.softmax}
    for gi, mode in enumerate(mapping.cuts):
        if mode == "rows" and tasks[groups[gi + 1].tasks[0]].conv is None:
            # (a convolution producer already runs pixel-major)
            m_outer |= {n for n in (groups[gi].tasks[-1], groups[gi + 1].tasks[0]) if tasks[n].conv is None}
    for gi, mode in enumerate(mapping.cuts):
        if mode == "chunked" and groups[gi].tasks[-1] in m_outer:
            raise HwError("a pixel-major producer cannot feed K-chunks", source="mapping")
        if mode == "chunked" and groups[gi + 1].tasks[0] in m_outer:
            raise HwError("a K-chunked consumer cannot run pixel-major", source="mapping")
    return m_outer


def _check_edges(graph: KernelGraph, mapping: Mapping, group_of: dict[str, int]) -> None:
    """Raise HwError (source ``mapping``) unless every X edge stays in its core or is the stream from a
    group's last task to the next group's first, and every dynamic weight has a single W consumer."""
    for t in graph.tasks:
        for consumer in graph.consumers(t.name):
            g, c = group_of[t.name], group_of[consumer.name]
            last_of_group = mapping.groups[g].tasks[-1] == t.name
            if c != g and not (c == g + 1 and last_of_group and mapping.groups[c].tasks[0] == consumer.name):
                raise HwError(f"{consumer.name} reads {t.name} from a core it is not streamed to", source="mapping")
        if graph.weight_consumers(t.name) and (graph.consumers(t.name) or len(graph.weight_consumers(t.name)) > 1):
            raise HwError(f"dynamic weight {t.name} must have exactly one (W operand) consumer", source="mapping")


def out_tile(task: GemmTask, lanes: int) -> int:
    """Output columns a core with ``lanes`` lanes produces per N tile (half of them for gated tasks)."""
    return lanes // 2 if task.glu else lanes


def check_lanes(task: GemmTask, lanes: int, B: int, source: str) -> None:
    """Raise HwError unless a core of ``lanes`` lanes can compute ``task``: a power of two and a multiple of
    B (gated tasks: ``lanes/2`` too). ``N`` need not divide: the planner pads it (:mod:`hw.kernels.padding`)."""
    if lanes < 1 or lanes & (lanes - 1):
        raise HwError(f"lanes must be a power of two, not {lanes}", source=source)
    if lanes % B:
        raise HwError(f"lanes ({lanes}) must be a multiple of the off-chip words per cycle ({B})",
                      source=source)
    width = out_tile(task, lanes)
    if width < 1 or width % B:
        raise HwError(f"gated task {task.name} needs lanes/2 ({width}) to be a multiple of the off-chip "
                      f"words per cycle ({B})", source=source)


def lower(graph: KernelGraph, mapping: Mapping, budget: Budget, variant: str) -> DesignPlan:
    """Build the :class:`DesignPlan` of ``mapping`` (programs, buffers, streams, off-chip layout)."""
    B = budget.words_per_cycle
    tasks = {t.name: t for t in graph.tasks}
    group_of = {name: gi for gi, g in enumerate(mapping.groups) for name in g.tasks}
    last_task = graph.tasks[-1].name
    for group in mapping.groups:
        for name in group.tasks:
            check_lanes(tasks[name], group.lanes, B, "--lanes")
            if tasks[name].n % out_tile(tasks[name], group.lanes):
                raise HwError(f"lanes ({group.lanes}) do not divide N={tasks[name].gemm_n} of task {name} "
                              "(lower the padded graph)", source="--lanes")
    lanes_of = {name: mapping.groups[gi].lanes for name, gi in group_of.items()}
    m_outer = _pixel_major_tasks(graph, mapping)
    dynamic = {name for name in tasks if graph.weight_consumers(name)}
    _check_edges(graph, mapping, group_of)

    # ---- off-chip layout: inputs, spills, outputs, then weights (each kind contiguous) ----
    regions: list[Region] = []
    line = 0

    def add_region(name: str, kind: str, elems: int) -> Region:
        nonlocal line
        if elems % B:
            raise HwError(f"tensor {name} ({elems} elements) is not a whole number of {B}-word lines",
                          source="--words-per-cycle")
        region = Region(name, kind, line, elems // B)
        regions.append(region)
        line += region.lines
        return region

    weight_layout: list[tuple[int, tuple[tuple[str, int, int, int, int], ...]]] = []

    def place_weights(t: GemmTask, k_lo: int, k_hi: int, lanes: int, n_tiles: int) -> int:
        """Lay out the weight tiles of one instruction in fetch order; returns the first line.

        A tile is ``(k_hi - k_lo) x lanes`` elements, row-major; a gated task's tile holds ``lanes/2``
        up-projection columns next to the same ``lanes/2`` gate-projection columns."""
        nonlocal line
        first = line
        width = out_tile(t, lanes)
        for nt in range(n_tiles):
            cols = (nt * width, (nt + 1) * width)
            pieces = ((t.w, k_lo, k_hi, *cols),) + (((t.w_gate, k_lo, k_hi, *cols),) if t.glu else ())
            weight_layout.append((line, pieces))
            line += (k_hi - k_lo) * lanes // B
        return first

    m0, k0 = graph.input_shape
    add_region(graph.input, "inputs", m0 * k0)
    host_rows: list[tuple[int, str]] = [(0, graph.input)]
    input_t_base: dict[str, int] = {}
    for t in graph.tasks:
        if graph.input_t is not None and t.w == graph.input_t:
            # the host lays the transposed input out as this task's weight tiles
            first = line
            input_t_base[t.name] = place_weights(t, 0, t.k, lanes_of[t.name], t.n // out_tile(t, lanes_of[t.name]))
            regions.append(Region(f"{graph.input_t}:{t.name}", "inputs", first, line - first))
    order = [t.name for t in graph.tasks]
    for name in sorted(set(mapping.spilled) | dynamic, key=order.index):
        add_region(name, "spill", tasks[name].out_elems)
    add_region(last_task, "outputs", tasks[last_task].out_elems)
    weights_first = line
    for name in sorted({t.x for t in graph.tasks if t.x in graph.weights}):
        rows, cols = graph.weights[name]
        host_rows.append((add_region(name, "weights", rows * cols).line, name))
    instr_index: dict[str, int] = {}     # task -> index of its (last) instruction in its core's program

    def region_of(name: str) -> Region:
        return next(r for r in regions if r.name == name)

    def weight_fields(t: GemmTask, k_lo: int, k_hi: int, lanes: int, n_tiles: int) -> dict[str, object]:
        """Where an instruction's weight tiles come from: static tiles laid out now, the host's transposed
        input, or a dynamic weight (wait until its producer core has retired the producing task)."""
        if t.w == graph.input_t:
            return {"w_base": input_t_base[t.name]}
        if t.w in tasks:
            return {"w_base": region_of(t.w).line, "w_dep": True, "w_core": group_of[t.w],
                    "w_count": instr_index[t.w] + 1}
        return {"w_base": place_weights(t, k_lo, k_hi, lanes, n_tiles)}

    cores: list[CorePlan] = []
    streams: list[StreamPlan] = []
    for gi, group in enumerate(mapping.groups):
        L = group.lanes
        program: list[Instruction] = []
        core = CorePlan(name=f"core{gi}", lanes=L, program=program)
        spad: dict[str, tuple[int, int]] = {}   # tensor -> (base, size) in the scratchpad
        spad_end = 0
        ring_index = 0                          # ring entries written by earlier instructions
        for idx, name in enumerate(group.tasks):
            t = tasks[name]
            width = out_tile(t, L)
            n_tiles = t.n // width
            if t.glu:
                core.glu_frac_bits = t.frac_bits
            # --- destination ---
            y_stride, y_tinc = t.n, width
            if name == last_task:
                dst, y_base = Dest.OFFCHIP, region_of(name).line * B
            elif name in dynamic:
                # written off-chip in the consumer's weight-tile layout (tile nt: K rows x L_c columns)
                (consumer,) = graph.weight_consumers(name)
                lc = out_tile(consumer, lanes_of[consumer.name])
                if consumer.n // lc > 1:
                    if width != lc:
                        raise HwError(f"{name} ({width} columns per tile) cannot be written in the tile layout "
                                      f"of {consumer.name} ({lc} lanes)", source="mapping")
                    y_stride, y_tinc = lc, t.m * lc
                dst, y_base = Dest.OFFCHIP, region_of(name).line * B
            elif idx == len(group.tasks) - 1:
                dst, y_base = Dest.STREAM, 0
            elif name in mapping.spilled:
                dst, y_base = Dest.OFFCHIP, region_of(name).line * B
            else:
                prev = spad.get(t.x)
                if prev is None:
                    base = 0
                elif t.out_elems <= prev[0]:
                    base = 0
                else:
                    base = prev[0] + prev[1]
                spad[name] = (base, t.out_elems)
                spad_end = max(spad_end, base + t.out_elems)
                dst, y_base = Dest.SPAD, base
            common = dict(task=name, m_bound=t.m, n_tiles=n_tiles, dst=dst, y_base=y_base, y_stride=y_stride,
                          shift=t.shift, relu=t.relu, y_tinc=y_tinc, glu=t.glu)
            if name in m_outer:
                common.update(m_outer=True)
            if t.softmax:
                common.update(softmax=True)
                core.softmax_frac_bits = t.softmax_frac_bits
                core.softmax_valid = t.softmax_valid
            w_fields = weight_fields(t, 0, t.k, L, n_tiles) if t.conv is not None else {}
            # --- X source ---
            if t.conv is not None:
                c = t.conv
                common.update(conv=True, in_h=c.in_h, in_w=c.in_w, in_c=c.in_c, out_w=c.out_w,
                              s_log=c.stride - 1, up=c.up - 1)
                elems = c.in_pixels * c.in_c
                if t.x == graph.input or t.x in mapping.spilled:
                    region = region_of(t.x)
                    core.ring_words = max(core.ring_words, line_buffer_words(t))
                    program.append(Instruction(**common, k_bound=t.k, x_src=XSource.LINEBUF, x_base=region.line,
                                               x_stride=0, x_end=elems // B, r_base=ring_index,
                                               r_end=ring_index + elems, x_dep=t.x != graph.input,
                                               **w_fields))
                    ring_index += elems
                elif idx == 0:
                    if mapping.cuts[gi - 1] != "rows":
                        raise HwError(f"convolution {name} can only read its stream as a line buffer",
                                      source="mapping")
                    streams.append(StreamPlan(group_of[t.x], gi, STREAM_DEPTH))
                    core.ring_words = max(core.ring_words, line_buffer_words(t))
                    program.append(Instruction(**common, k_bound=t.k, x_src=XSource.RING, x_base=0, x_stride=0,
                                               r_base=ring_index, r_end=ring_index + elems, **w_fields))
                    ring_index += elems
                else:
                    base, _ = spad[t.x]
                    program.append(Instruction(**common, k_bound=t.k, x_src=XSource.SPAD, x_base=base,
                                               x_stride=0, x_dep=True, **w_fields))
            elif t.x == graph.input or t.x in graph.weights:
                region = region_of(t.x)
                program.append(Instruction(**common, k_bound=t.k, x_src=XSource.OFFCHIP, x_base=region.line,
                                           x_stride=t.k, x_end=t.m * t.k // B,
                                           **weight_fields(t, 0, t.k, L, n_tiles)))
            elif idx == 0:
                producer = tasks[t.x]
                pg = mapping.groups[group_of[t.x]]
                Lp = out_tile(producer, pg.lanes)    # producer output columns per tile
                mode = mapping.cuts[gi - 1]
                streams.append(StreamPlan(group_of[t.x], gi, STREAM_DEPTH))
                if mode == "rows":
                    # pixel-major producer and consumer: each row is freed once all its N tiles are done
                    core.ring_words = _pow2_at_least(2 * t.k)
                    program.append(Instruction(**common, k_bound=t.k, x_src=XSource.RING, x_base=0, x_stride=t.k,
                                               x_tlog=15, x_tstride=0, x_end=t.m * t.k, x_rows=True,
                                               **weight_fields(t, 0, t.k, L, n_tiles)))
                elif mode == "whole":
                    core.ring_words = _pow2_at_least(t.m * t.k)
                    # a pixel-major producer streams whole rows (row-major); others column tile by column tile
                    layout = (dict(x_stride=t.k, x_tlog=15, x_tstride=0) if producer.name in m_outer
                              else dict(x_stride=Lp, x_tlog=_log2(Lp), x_tstride=t.m * Lp))
                    program.append(Instruction(**common, k_bound=t.k, x_src=XSource.RING, x_base=0, **layout,
                                               x_end=t.m * t.k, **weight_fields(t, 0, t.k, L, n_tiles)))
                else:
                    chunks = producer.n // Lp
                    core.ring_words = _pow2_at_least(2 * t.m * Lp)
                    core.psum_entries = t.m * n_tiles
                    for jt in range(chunks):
                        final = jt == chunks - 1
                        fields = dict(common)
                        if not final:
                            fields.update(dst=Dest.NONE, y_base=0)
                        program.append(Instruction(
                            **fields, k_bound=Lp, x_src=XSource.RING, x_base=jt * t.m * Lp, x_stride=Lp,
                            x_end=(jt + 1) * t.m * Lp, acc_init=jt > 0, acc_out=not final,
                            **weight_fields(t, jt * Lp, (jt + 1) * Lp, L, n_tiles)))
            elif t.x in mapping.spilled:
                region = region_of(t.x)
                program.append(Instruction(**common, k_bound=t.k, x_src=XSource.OFFCHIP, x_base=region.line,
                                           x_stride=t.k, x_end=t.m * t.k // B, x_dep=True,
                                           **weight_fields(t, 0, t.k, L, n_tiles)))
            else:
                base, _ = spad[t.x]
                program.append(Instruction(**common, k_bound=t.k, x_src=XSource.SPAD, x_base=base, x_stride=t.k,
                                           x_dep=True, **weight_fields(t, 0, t.k, L, n_tiles)))
            instr_index[name] = len(program) - 1
        core.spad_words = spad_end
        core.wbuf_entries = _wbuf_entries(program)
        cores.append(core)

    for core in cores:
        for instr in core.program:
            try:
                instr.encode()
            except ValueError as error:     # a loop bound, stride or address beyond its ISA field
                raise HwError(f"task {instr.task}: {error}; use smaller sizes", source="--size") from None
    regions.append(Region("weights", "weights", weights_first, line - weights_first))
    return DesignPlan(
        kernel=graph.name, variant=variant, budget=budget, cores=cores, streams=streams, regions=regions,
        image_lines=line, weight_layout=weight_layout, input_region=graph.input, output_region=last_task,
        decisions={"mapping": mapping.describe(), "dynamic_weights": sorted(dynamic, key=order.index)},
        host_rows=host_rows, input_t=graph.input_t, padding=dict(graph.padding),
    )
