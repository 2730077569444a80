"""Fixed-latency stream pipelines that move as a whole, and pipelined reduction trees.

The element-wise stream blocks (ReLU, the piecewise-linear activations, the element-wise multiply) are
short pipelines: every stage register loads when the output register is free or being drained, so a
stalled output holds the whole pipeline (no bubble is squeezed out, which costs nothing at one beat per
cycle and keeps the handshake to one ``advance`` signal). A skid register in front makes the input's
``ready`` a register, so that ``ready`` never runs combinationally from one block through the next
(blocks in a row would otherwise chain their handshakes into one long path); a register slice cuts a
handshake completely (valid, data and ready all registers). The softmax reduces a beat with balanced trees
(maximum, sum) that are registered every few levels so that no cycle holds more than a couple of
comparators or adders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from amaranth.hdl import Module, Mux, Signal, Value

from hw.blocks.vectors import wire


class StagedRegisters:
    """Pipeline registers that load together whenever ``advance`` is high.

    ``stage(value, name)`` returns a register holding ``value`` one stage later; a block's element
    function calls it to cut its combinational path into stages (see
    :class:`hw.blocks.elementwise.ElementwiseStage`).
    """

    def __init__(self, m: Module, advance: Value) -> None:
        self._m = m
        self._advance = advance

    def stage(self, value: Value, name: str) -> Signal:
        """A register that takes ``value`` when the pipeline advances."""
        register = Signal(value.shape(), name=name)
        with self._m.If(self._advance):
            self._m.d.sync += register.eq(value)
        return register


def skid_buffer(m: Module, valid: Value, payload: Value, advance: Value, name: str = "skid") -> tuple[Value, Value, Value]:
    """A skid register in front of a pipeline that moves when ``advance`` is high.

    The input is ready while the skid register is empty (a registered ``ready``). A beat that arrives
    while the pipeline is held waits in the skid register and enters the pipeline first when it moves.
    Returns ``(ready, valid, payload)``: the input's ready and what the pipeline's first stage takes."""
    held = Signal(name=f"{name}_valid")
    data = Signal(len(payload), name=f"{name}_data")
    with m.If(advance):
        m.d.sync += held.eq(0)
    with m.Elif(valid & ~held):
        m.d.sync += [held.eq(1), data.eq(payload)]
    entering = Signal(len(payload), name=f"{name}_out")
    m.d.comb += entering.eq(Mux(held, data, payload))
    return ~held, held | valid, entering


def register_slice(m: Module, valid: Value, payload: Value, take: Value,
                   name: str = "slice") -> tuple[Value, Signal, Signal]:
    """A two-entry register slice on a stream: everything it hands on is a flip-flop.

    ``valid``/``payload`` are the source's; ``take`` is high when the consumer takes the slice's
    output this cycle (it may depend on the returned ``valid`` combinationally). Returns ``(ready,
    out_valid, out_payload)``: the source's ready and the output, all registers. A beat that arrives
    while the output is held waits in a spare register (the source is then not ready), so the slice
    passes one beat per cycle and no handshake path crosses it: a consumer with a deep decision on
    ``out_valid`` does not reach back into its source's FIFO pointers."""
    out_valid = Signal(name=f"{name}_valid")
    out = Signal(len(payload), name=f"{name}_data")
    spare_valid = Signal(name=f"{name}_spare_valid")
    spare = Signal(len(payload), name=f"{name}_spare")
    ready = ~spare_valid
    with m.If(take | ~out_valid):
        with m.If(spare_valid):
            m.d.sync += [out.eq(spare), out_valid.eq(1), spare_valid.eq(0)]
        with m.Else():
            m.d.sync += [out.eq(payload), out_valid.eq(valid)]
    with m.Elif(valid & ready):
        m.d.sync += [spare.eq(payload), spare_valid.eq(1)]
    return ready, out_valid, out


def valid_chain(m: Module, advance: Value, valid_in: Value, latency: int, name: str = "valid") -> Signal:
    """The valid bits of a ``latency``-stage pipeline that moves when ``advance`` is high; returns the
    last stage's valid bit (the beat entering at cycle ``t`` leaves at ``t + latency`` if never held)."""
    valid = valid_in
    for index in range(latency):
        following = Signal(name=f"{name}{index}")
        with m.If(advance):
            m.d.sync += following.eq(valid)
        valid = following
    return valid


def reduce_tree(m: Module, values: Sequence[Value], combine: Callable[[Value, Value], Value], *, valid: Value,
                levels_per_stage: int, name: str) -> tuple[Value, Value, int]:
    """Combine ``values`` pairwise as a balanced tree, registered after every ``levels_per_stage``
    levels and after the last level; the tree always advances (no stall).

    Returns ``(result, result_valid, stages)``: the reduced value, the valid bit that travelled with it
    from ``valid`` and the number of register stages (0 for a single value). Named wires keep every
    operand expression built once (a nested expression would repeat operands at every level)."""
    level, levels, stages, count = list(values), 0, 0, 0
    while len(level) > 1:
        paired = []
        for j in range(0, len(level) - 1, 2):
            paired.append(wire(m, combine(level[j], level[j + 1]), f"{name}{count}"))
            count += 1
        if len(level) % 2:
            paired.append(level[-1])
        levels += 1
        if levels % levels_per_stage == 0 or len(paired) == 1:
            registered = []
            for index, value in enumerate(paired):
                register = Signal(value.shape(), name=f"{name}_r{stages}_{index}")
                m.d.sync += register.eq(value)
                registered.append(register)
            carried = Signal(name=f"{name}_valid{stages}")
            m.d.sync += carried.eq(valid)
            paired, valid, stages = registered, carried, stages + 1
        level = paired
    return level[0], valid, stages
