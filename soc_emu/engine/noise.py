"""Execution-time noise: actual time = nominal x (1 + rsd x z), z ~ N(0, 1).

The factor must stay positive (a task cannot take negative time), so ``z`` is drawn from a standard normal
*truncated* below at ``-1/rsd``: draws with ``1 + rsd x z <= 0`` are rejected and redrawn. For the usual
``rsd <= 0.3`` that happens for fewer than 1 draw in 3 million, so the mean stays at the nominal time;
for large ``rsd`` the truncation shifts the mean upwards. Schedulers never see these times, only nominal ones.

The engine draws one factor per task when a job *arrives* (so the k-th arriving job gets the same factors
under every scheduler: common random numbers for fair comparisons) and a task keeps its factor on whatever
PE it runs, and when it is re-run after a PE failure.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 4096


class ExecutionNoise:
    """Multiplicative noise factors drawn in chunks from one generator (fast per task, reproducible)."""

    __slots__ = ("_rng", "_rsd", "_buf", "_pos")

    def __init__(self, rng: np.random.Generator, rsd: float) -> None:
        self._rng = rng
        self._rsd = rsd
        self._buf: list[float] = []
        self._pos = 0

    def factors(self, n: int) -> list[float]:
        """The next ``n`` factors."""
        return [self.factor() for _ in range(n)]

    def factor(self) -> float:
        """The next factor ``1 + rsd x z`` (> 0)."""
        while True:
            if self._pos >= len(self._buf):
                self._buf = (1.0 + self._rsd * self._rng.standard_normal(_CHUNK)).tolist()
                self._pos = 0
            f = self._buf[self._pos]
            self._pos += 1
            if f > 0.0:
                return f
