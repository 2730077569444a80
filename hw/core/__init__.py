"""The compute core and its units: one ``wiring.Component`` per file (see :mod:`hw.core.gemm_core`)."""
