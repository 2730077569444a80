"""Top level of a generated accelerator: the planned cores, the streams between them, off-chip memory.

The same top-level generator builds all three variants; they differ only in the plan (how many cores,
their lanes and programs, which streams exist). Streams are generated only between the core pairs the
plan connects, and each core only has the datapaths its program uses.

Ports (flattened by Amaranth with ``__`` separators): ``start``/``stress`` in, ``done``/``cycles`` out,
per-core counters ``c<i>_busy``/``c<i>_stall``/``c<i>_reconf``, off-chip word counters
``rd_weights``/``rd_inputs``/``rd_spill``/``wr_spill``/``wr_outputs``, the image debug port
``dbg_addr``/``dbg_data`` and the per-instruction end-cycle trace ``trace_core``/``trace_addr``/
``trace_data``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from hw.core.gemm_core import CNT_BITS, GemmCore
from hw.core.isa import ADDR_BITS
from hw.core.memory_system import READ_CLASSES, WRITE_CLASSES, MemorySystem, read_window_lines
from hw.core.stress import random_stall
from hw.planner.plan import DesignPlan


def build_core(plan: DesignPlan, index: int) -> GemmCore:
    """The :class:`GemmCore` of core ``index`` of ``plan`` (its X loader sized for the budget's latency)."""
    c = plan.cores[index]
    return GemmCore(name=c.name, lanes=c.lanes, words_per_line=plan.budget.words_per_cycle, program=c.program,
                    spad_words=c.spad_words, ring_words=c.ring_words, psum_entries=c.psum_entries,
                    wbuf_entries=c.wbuf_entries, glu_frac_bits=c.glu_frac_bits,
                    softmax_frac_bits=c.softmax_frac_bits, softmax_valid=c.softmax_valid, peers=len(plan.cores),
                    x_window_lines=read_window_lines(plan.budget.latency), seed=index + 1)


class Accelerator(wiring.Component):
    """A whole design built from a :class:`DesignPlan`."""

    def __init__(self, plan: DesignPlan, init: list[int] | None = None) -> None:
        self.plan = plan
        self.init = init if init is not None else [0] * plan.image_lines
        B = plan.budget.words_per_cycle
        self.cores = [build_core(plan, i) for i in range(len(plan.cores))]
        n_cores = len(self.cores)
        sig = {
            "start": In(1), "stress": In(1), "load_image": In(1), "image_loaded": Out(1), "done": Out(1), "cycles": Out(CNT_BITS),
            "dbg_addr": In(ADDR_BITS), "dbg_data": Out(8 * B),
            "trace_core": In(range(max(n_cores, 2))), "trace_addr": In(12), "trace_data": Out(CNT_BITS),
        }
        for i in range(n_cores):
            for name in ("busy", "stall", "reconf"):
                sig[f"c{i}_{name}"] = Out(CNT_BITS)
        for cls in READ_CLASSES:
            sig[f"rd_{cls}"] = Out(32)
        for cls in WRITE_CLASSES:
            sig[f"wr_{cls}"] = Out(32)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        read_clients = []
        write_clients = []
        for i, core in enumerate(self.cores):
            m.submodules[f"core{i}"] = core
            read_clients.append(core.rd_w)
            if core.uses_offchip_x:
                read_clients.append(core.rd_x)
            if core.uses_offchip_y:
                write_clients.append(core.wr)
        mem = MemorySystem(words_per_line=plan.budget.words_per_cycle, depth=plan.image_lines,
                           init=self.init, n_read=len(read_clients), n_write=len(write_clients),
                           latency=plan.budget.latency, regions=plan.class_ranges())
        m.submodules.offchip = mem
        for idx, client in enumerate(read_clients):
            wiring.connect(m, client, mem.rd[idx])
        for idx, client in enumerate(write_clients):
            wiring.connect(m, client, mem.wr[idx])
        m.d.comb += [mem.load_image.eq(self.load_image), self.image_loaded.eq(mem.load_seen)]
        m.d.comb += [mem.stress.eq(self.stress), mem.dbg_addr.eq(self.dbg_addr), self.dbg_data.eq(mem.dbg_data)]
        for cls in READ_CLASSES:
            m.d.comb += getattr(self, f"rd_{cls}").eq(getattr(mem, f"rd_{cls}"))
        for cls in WRITE_CLASSES:
            m.d.comb += getattr(self, f"wr_{cls}").eq(getattr(mem, f"wr_{cls}"))

        for n, s in enumerate(plan.streams):
            producer, consumer = self.cores[s.producer], self.cores[s.consumer]
            queue = fifo.SyncFIFO(width=8, depth=s.depth)
            m.submodules[f"stream{n}"] = queue
            tx_stall = random_stall(m, seed=101 + n, enable=self.stress, name=f"tx{n}")
            m.d.comb += [
                queue.w_en.eq(producer.s_out.valid & ~tx_stall),
                queue.w_data.eq(producer.s_out.payload),
                producer.s_out.ready.eq(queue.w_rdy & ~tx_stall),
                consumer.s_in.valid.eq(queue.r_rdy),
                consumer.s_in.payload.eq(queue.r_data),
                queue.r_en.eq(consumer.s_in.ready),
            ]

        all_done = Signal()
        started = Signal()
        for core in self.cores:
            if core.uses_wdep:      # weight-fetch semaphores: every core's retired count
                for j, peer in enumerate(self.cores):
                    m.d.comb += core.peer_retired[j].eq(peer.retired)
        for i, core in enumerate(self.cores):
            m.d.comb += [core.start.eq(self.start), core.stress.eq(self.stress), core.cycle.eq(self.cycles),
                         core.trace_addr.eq(self.trace_addr)]
            for name in ("busy", "stall", "reconf"):
                m.d.comb += getattr(self, f"c{i}_{name}").eq(getattr(core, name))
        done_bits = [core.done for core in self.cores]
        m.d.comb += all_done.eq(Cat(*done_bits).all())
        with m.Switch(self.trace_core):
            for i, core in enumerate(self.cores):
                with m.Case(i):
                    m.d.comb += self.trace_data.eq(core.trace_data)
        with m.If(self.start):
            m.d.sync += started.eq(1)
        m.d.comb += self.done.eq(started & all_done)
        with m.If(started & ~all_done):
            m.d.sync += self.cycles.eq(self.cycles + 1)
        return m
