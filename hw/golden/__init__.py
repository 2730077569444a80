"""Bit-exact numpy models of the blocks in :mod:`hw.blocks`.

Each function is the exact integer function its RTL block computes, so tests compare simulator output
with ``==``. Inputs are integer arrays (any integer dtype); outputs are ``int64`` arrays.
"""
