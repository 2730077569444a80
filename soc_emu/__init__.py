"""soc-emu: an event-driven emulator of heterogeneous Systems-on-Chip running DAG-shaped jobs.

The package is layered so data flows one way:

* :mod:`soc_emu.model`      plain data: platforms, processing elements, interconnect, task graphs, workloads;
* :mod:`soc_emu.formats`    readers for the project's TOML files and for DS3's text files;
* :mod:`soc_emu.engine`     the SimPy engine that executes jobs and pauses at decision points;
* :mod:`soc_emu.schedulers` heuristics and HEFT behind one small interface (:class:`Scheduler`);
* :mod:`soc_emu.output`     streaming metrics, CSV / Perfetto traces and plots;
* :mod:`soc_emu.cli`        the ``soc-emu`` command.

The emulator core never imports ``torch`` or ``amaranth``: the learned scheduler lives in :mod:`agents`
and the accelerator generator in :mod:`hw`, both loaded lazily by the CLI.
"""

from soc_emu.errors import SocEmuError

__all__ = ["SocEmuError"]
__version__ = "0.1.0"
