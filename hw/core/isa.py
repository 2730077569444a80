"""The compute core's instruction set: one instruction = one GEMM task (or a K-chunk of one).

An instruction drives the loop nest ``for nt < n_tiles: for m < m_bound: for k < k_bound`` of an
output-stationary L-lane MAC array, and selects where operands come from and where results go. The
encoding is a packed :class:`amaranth.lib.data.StructLayout`; the generator stores each core's program
in a ROM and only builds the source/destination paths that the program uses.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

from amaranth.hdl import Shape
from amaranth.lib import data


class XSource(enum.IntEnum):
    """Where the broadcast X operand comes from."""

    SPAD = 0      # the core's scratchpad, random access (reusable across N tiles)
    RING = 1      # the stream-in ring buffer filled by a producer core (waits for arrival)
    OFFCHIP = 2   # read from off-chip memory once per N tile (inputs, spilled intermediates)
    LINEBUF = 3   # convolutions: streamed from off-chip once into the ring, read as a line buffer


class Dest(enum.IntEnum):
    """Where requantised results go (``acc_out`` = partial sums bypass this)."""

    SPAD = 0
    STREAM = 1    # stream-out FIFO to the consumer core
    OFFCHIP = 2
    NONE = 3      # results kept as 32-bit partial sums only


ADDR_BITS = 24
COUNT_BITS = 12

INSTR_LAYOUT = data.StructLayout({
    "m_bound": COUNT_BITS,
    "n_tiles": COUNT_BITS,
    "k_bound": COUNT_BITS,
    "x_src": 2,
    "x_dep": 1,
    "x_base": ADDR_BITS,
    "x_stride": 16,
    "x_tlog": 4,
    "x_tstride": ADDR_BITS,
    "x_end": ADDR_BITS,
    "w_base": ADDR_BITS,
    "acc_init": 1,
    "acc_out": 1,
    "psum_base": 16,
    "shift": 5,
    "relu": 1,
    "dst": 2,
    "y_base": ADDR_BITS,
    "y_stride": 16,
    "y_tinc": ADDR_BITS,
    "glu": 1,
    "conv": 1,
    "in_h": COUNT_BITS,
    "in_w": COUNT_BITS,
    "in_c": COUNT_BITS,
    "out_w": COUNT_BITS,
    "s_log": 1,
    "up": 1,
    "r_base": ADDR_BITS,
    "r_end": ADDR_BITS,
    "m_outer": 1,
    "w_dep": 1,
    "w_core": 3,
    "w_count": COUNT_BITS,
    "softmax": 1,
    "x_rows": 1,
})


@dataclass(frozen=True)
class Instruction:
    """One GEMM (chunk) for a core.

    Addresses: ``x_base``/``y_base`` count elements for SPAD and RING (RING: the global stream index of
    ``X[0, 0]``) and lines (``B`` elements) for OFFCHIP; ``w_base`` is the off-chip line of the first
    weight tile (tiles of ``k_bound x lanes`` elements, consecutive). ``x_end`` is the ring index up to
    which the input is released when the instruction's last operand has been read (OFFCHIP: the lines
    read per N tile). X element ``(m, k)`` is read at ``x_base + m*x_stride + (k >> x_tlog)*x_tstride +
    (k mod 2**x_tlog)``: column tiles of ``2**x_tlog`` elements as a producer core streams them. ``x_dep`` makes the
    operand reader wait until all earlier instructions' results are written (read-after-write through
    the scratchpad or off-chip memory). ``acc_init``: start from the stored partial sums instead of 0;
    ``acc_out``: store partial sums instead of requantised results. ``y_tinc``: output columns per N tile
(``L``; ``L/2`` for ``glu``, where lanes ``[0, L/2)`` hold the up and ``[L/2, L)`` the gate projection
and the SiLU-times-gate epilogue emits ``L/2`` results per row).

    Convolutions (``conv``): the loops run pixel-major (``for m: for nt: for k``) with all ``n_tiles``
    weight tiles resident, so output pixels leave in row-major ``H x W x C`` order and the input can be
    consumed as a line buffer. The X reader generates im2col addresses: output pixel ``m`` is
    ``(oy, ox)`` with ``ox < out_w``; operand ``k`` is tap ``(ky, kx)`` and channel ``c < in_c``; the
    source pixel is ``(oy*2**s_log + ky - 1, ox*2**s_log + kx - 1)`` of the map upsampled by
    ``2**up`` (zero outside it), read at ``(iy >> up, ix >> up)`` of the stored ``in_h x in_w x in_c``
    map. The map starts at element ``x_base`` (SPAD) or ring index ``r_base`` (RING, LINEBUF); ring
    entries are released row by row as the window slides and up to ``r_end`` at the end. LINEBUF
    instructions also load ``x_end`` lines from off-chip line ``x_base`` into the ring.

    ``m_outer`` runs a GEMM pixel-major too (``for m: for nt: for k``, all weight tiles resident), so a
    row's output tiles leave together: ``softmax`` tasks need that, since the row-softmax SFU on the
    output stream takes whole rows. ``w_dep`` makes the weight fetcher wait until core ``w_core`` has
    retired (executed and written the results of) ``w_count`` instructions: the W operand is then a
    *dynamic* weight that core wrote off-chip. ``x_rows`` (pixel-major GEMMs reading a row-major
    ring) releases each X row once all its N tiles are done, so the ring only needs a couple of rows.
    """

    task: str
    m_bound: int
    n_tiles: int
    k_bound: int
    x_src: XSource
    x_base: int
    x_stride: int
    w_base: int
    dst: Dest
    y_base: int = 0
    y_stride: int = 0
    x_dep: bool = False
    x_end: int = 0
    x_tlog: int = 15
    x_tstride: int = 0
    acc_init: bool = False
    acc_out: bool = False
    psum_base: int = 0
    shift: int = 0
    relu: bool = False
    y_tinc: int = 0
    glu: bool = False
    conv: bool = False
    in_h: int = 0
    in_w: int = 0
    in_c: int = 0
    out_w: int = 0
    s_log: int = 0
    up: int = 0
    r_base: int = 0
    r_end: int = 0
    m_outer: bool = False
    w_dep: bool = False
    w_core: int = 0
    w_count: int = 0
    softmax: bool = False
    x_rows: bool = False

    @property
    def pixel_major(self) -> bool:
        """Loops run ``for m: for nt: for k`` with all N tiles' weights resident (convolutions, ``m_outer``)."""
        return self.conv or self.m_outer

    def results_per_tile(self, lanes: int) -> int:
        """Results one row of one N tile yields on a core with ``lanes`` lanes (half of them for gated tasks)."""
        return lanes // 2 if self.glu else lanes

    def encode(self) -> int:
        """The packed ROM word."""
        fields = asdict(self)
        del fields["task"]
        value = 0
        for name, field in INSTR_LAYOUT:
            raw = int(fields[name])
            width = Shape.cast(field.shape).width
            if not 0 <= raw < (1 << width):
                raise ValueError(f"instruction field {name}={raw} does not fit {width} bits")
            value |= raw << field.offset
        return value

    def to_json(self) -> dict[str, object]:
        fields = asdict(self)
        fields["x_src"] = self.x_src.name.lower()
        fields["dst"] = self.dst.name.lower()
        for key in ("x_dep", "acc_init", "acc_out", "relu", "glu", "conv", "m_outer", "w_dep", "softmax", "x_rows"):
            fields[key] = bool(fields[key])
        return fields
