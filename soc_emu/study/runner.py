"""The study runner: expand a spec, skip the runs already in the output folder, run the rest on a backend,
and write the tidy table, the summary and the effective spec.

>>> from soc_emu.study import parse_spec, run_study
>>> spec = parse_spec({"schedulers": ["etf", "heft"], "rates": [10, 20], "seeds": [0, 1], "jobs": 50})
>>> result = run_study(spec, out_dir="results/my_study", workers=2)            # doctest: +SKIP
>>> result.rows[0]["mean_latency_us"]                                            # doctest: +SKIP

Files in the output folder:

``study.json``
    The effective spec (every key written out; ``soc-emu study run study.json`` reruns it), its digest,
    the software versions and the command line (desmod-style provenance).
``runs.csv``
    One row per run: every parameter, every metric, the error if the run failed (see
    :mod:`soc_emu.study.worker` for the columns). Written as runs finish; resumed on the next call.
``summary.csv``
    Mean and 95% confidence half-width over seeds of the main metrics per scheduler and rate.

A folder that holds another study's results is refused (error, exit status 2); the same study resumes.
The runner knows no scheduler by name: the registry resolves every name, and the worker runs it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.output.files import atomic_write_csv, atomic_write_text
from soc_emu.study.backends import Backend, make_backend
from soc_emu.study.expand import RunSpec, expand
from soc_emu.study.spec import StudySpec
from soc_emu.study.stats import summarize
from soc_emu.study.table import ResultsTable, cell, typed
from soc_emu.study.worker import COLUMNS

FILES = {"study": "study.json", "runs": "runs.csv", "summary": "summary.csv"}


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a study: ``done`` of ``total`` runs are saved in ``out_dir``; the same call
    again resumes."""

    def __init__(self, done: int, total: int, out_dir: Path, cause: KeyboardInterrupt) -> None:
        super().__init__(f"{done} of {total} runs saved")
        self.done, self.total, self.out_dir, self.cause = done, total, out_dir, cause


@dataclass
class StudyResult:
    """What a study produced.

    Attributes
    ----------
    rows:
        Every run's row (typed values), in the spec's run order.
    summary:
        Per scheduler and rate: means and 95% CI half-widths over seeds (:func:`stats.summarize`).
    executed, resumed:
        Runs executed by this call, and runs found finished in the folder.
    paths:
        The files written (empty when the study ran without an output folder).
    """

    spec: StudySpec
    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    executed: int
    resumed: int
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows of the runs that raised an error."""
        return [row for row in self.rows if row.get("error")]


def run_study(spec: StudySpec, *, out_dir: str | Path | None = None, backend: Backend | None = None,
              workers: int | None = None, progress: bool = False,
              command_line: Sequence[str] | None = None) -> StudyResult:
    """Run every run of ``spec`` not yet in ``out_dir`` on ``backend`` (default: the local process pool
    with ``workers`` workers) and return all rows. Without ``out_dir`` the table lives in a temporary
    folder (nothing is kept, nothing resumes)."""
    runs = expand(spec)
    check_schedulers(spec)
    backend = backend or make_backend("local", workers=workers)
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="soc-emu-study-") as tmp:
            result = _run_in(Path(tmp), spec, runs, backend, progress, command_line)
        result.paths = {}
        return result
    return _run_in(prepare_folder(out_dir, spec, command_line), spec, runs, backend, progress, command_line)


def _run_in(out: Path, spec: StudySpec, runs: list[RunSpec], backend: Backend, progress: bool,
            command_line: Sequence[str] | None) -> StudyResult:
    if not (out / FILES["study"]).exists():
        write_provenance(out, spec, len(runs), command_line)
    with ResultsTable(out / FILES["runs"], COLUMNS) as table:
        done = table.done
        todo = [run for run in runs if run.key not in done]
        bar = _progress_bar(len(runs), len(runs) - len(todo), progress)

        def on_rows(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                table.append(row)
            bar.update(len(rows))

        try:
            if todo:
                backend.run(todo, on_rows)
        except KeyboardInterrupt as stop:
            raise StudyInterrupted(len(table.rows), len(runs), out, stop) from None
        finally:
            bar.close()
        table.finish(run.key for run in runs)
        rows = [typed(table.rows[run.key]) for run in runs if run.key in table.rows]
    summary = summarize(rows)
    paths = {key: out / name for key, name in FILES.items()}
    write_summary(paths["summary"], summary)
    return StudyResult(spec, rows, summary, executed=len(todo), resumed=len(runs) - len(todo), paths=paths)


def prepare_folder(out_dir: str | Path, spec: StudySpec, command_line: Sequence[str] | None) -> Path:
    """Create ``out_dir`` or check it holds this study (resume) and no other (error)."""
    out = Path(out_dir)
    flag = f"--out {out}"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SocEmuError(f"cannot create the output folder: {exc.strerror}", source=flag) from None
    saved = out / FILES["study"]
    if saved.exists():
        try:
            digest = json.loads(saved.read_text(encoding="utf-8")).get("study")
        except (OSError, json.JSONDecodeError, AttributeError):
            digest = None
        if digest != spec.digest():
            raise SocEmuError(f"the folder holds the results of a different study ({saved.name}: study "
                              f"{digest}, this one {spec.digest()}); choose another output folder", source=flag)
    elif (out / FILES["runs"]).exists():
        raise SocEmuError(f"the folder holds a {FILES['runs']} without {FILES['study']}; choose another output "
                          "folder", source=flag)
    return out


def write_provenance(out: Path, spec: StudySpec, runs: int, command_line: Sequence[str] | None) -> Path:
    """``study.json``: the effective spec, its digest, the number of runs, the versions, the command line."""
    from soc_emu.output.results import write_json
    from soc_emu.study.provenance import software_versions

    return write_json(out / FILES["study"], {
        "study": spec.digest(), "spec": spec.plain(), "runs": runs, "versions": software_versions(),
        "command_line": list(command_line) if command_line is not None else None,
    })


def write_summary(path: Path, summary: list[dict[str, Any]]) -> None:
    """``summary.csv`` (per-PE-type utilisation as one JSON cell)."""
    if not summary:
        atomic_write_text(path, "")
        return
    atomic_write_csv(path, ({k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else cell(v)
                             for k, v in row.items()} for row in summary), list(summary[0]))


def check_schedulers(spec: StudySpec) -> None:
    """Build every scheduler choice once, so bad options fail before any run (the registry loads each
    class; a learned scheduler's package is imported here, in the parent, not in every run)."""
    from soc_emu.runner import build_scheduler

    seen: set[tuple[str, str]] = set()
    for sc in spec.scenarios:
        for choice in sc.schedulers:
            if (choice.name, choice.options_json) in seen:
                continue
            seen.add((choice.name, choice.options_json))
            try:
                build_scheduler(choice.name, choice.options, None)
            except SocEmuError as exc:
                if exc.source not in (None, "--scheduler"):
                    raise  # it names its own file or field (a checkpoint, say)
                raise SocEmuError(exc.detail, source=f"{spec.source}: scenario {sc.name!r} schedulers "
                                                     f"{choice.label!r}") from None


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    """A tqdm bar with an ETA on stderr (a no-op when ``enabled`` is false)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", file=sys.stderr, disable=None if enabled else True,
                dynamic_ncols=True, smoothing=0.1)
