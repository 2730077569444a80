"""2x2 max-pool and 2x nearest upsample of row-major feature maps.

Maps are arrays of shape ``(rows, cols, width)``: one stream beat per pixel, ``width`` channels per beat,
pixels in row-major order. Several maps may follow each other (``rows`` counts all their rows).
"""

from __future__ import annotations

import numpy as np


def maxpool2x2(x: np.ndarray) -> np.ndarray:
    """``(rows, cols, c) -> (rows/2, cols/2, c)`` maximum of each 2x2 window (stride 2)."""
    x = np.asarray(x, dtype=np.int64)
    rows, cols, channels = x.shape
    return x.reshape(rows // 2, 2, cols // 2, 2, channels).max(axis=(1, 3))


def upsample2x(x: np.ndarray) -> np.ndarray:
    """``(rows, cols, c) -> (2 rows, 2 cols, c)`` nearest-neighbour: every pixel and every row twice."""
    x = np.asarray(x, dtype=np.int64)
    return np.repeat(np.repeat(x, 2, axis=0), 2, axis=1)
