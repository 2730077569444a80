"""Studies: many emulator runs over schedulers x rates x seeds x noise x failures x platforms x workloads.

::

    study spec (TOML / flags) -> expand -> backend (local process pool | Ray tasks) -> runner.execute
                                   `-> results table (resumable) -> summary (95% CI) -> plots

* :mod:`~soc_emu.study.spec` parses and validates a spec; :mod:`~soc_emu.study.expand` turns it into
  :class:`RunSpec` s keyed by a hash of their full configuration;
* :mod:`~soc_emu.study.backends` run them; :mod:`~soc_emu.study.worker` turns one run into one row;
* :mod:`~soc_emu.study.table` keeps the rows (append-only CSV, resume); :mod:`~soc_emu.study.stats`
  computes the confidence intervals; :mod:`~soc_emu.study.plots` draws them;
* :mod:`~soc_emu.study.presets` builds the specs of ``soc-emu sweep`` and ``soc-emu compare``;
  :mod:`~soc_emu.study.report` prints a comparison's table and verdict against a baseline.

The package is scheduler-agnostic: names go through the scheduler registry.
"""

from __future__ import annotations

from soc_emu.study.expand import RunSpec, expand
from soc_emu.study.runner import StudyInterrupted, StudyResult, run_study
from soc_emu.study.spec import StudySpec, load_spec, parse_spec
from soc_emu.study.worker import NONDETERMINISTIC_COLUMNS, deterministic

__all__ = ["NONDETERMINISTIC_COLUMNS", "RunSpec", "StudyInterrupted", "StudyResult", "StudySpec", "deterministic",
           "expand", "load_spec", "parse_spec", "run_study"]
