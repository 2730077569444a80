"""Writing result files safely: output folders checked before any work, documents replaced atomically.

A result document (metrics, configuration, a study table) is written to a temporary file in the same
folder and moved over the target with ``os.replace``, so a reader never sees half a file and an
interrupted write leaves the previous version (or nothing), never a truncated one.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from soc_emu.errors import SocEmuError


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_csv(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *,
                     source: str | None = None) -> Path:
    """Write ``rows`` as a CSV file with a header of ``columns`` (``\n`` line ends), atomically; an OS error
    becomes one :class:`SocEmuError` naming ``source`` (default: the path)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    try:
        return atomic_write_text(path, buffer.getvalue())
    except OSError as exc:
        raise SocEmuError(f"cannot write: {exc.strerror}", source=source or str(path)) from None


def prepare_output_dir(path: str | os.PathLike[str], flag: str, files: Iterable[str] = ()) -> Path:
    """Create ``path`` if needed and prove it writable (a probe file is created and removed), and check
    that none of ``files`` inside it exists as something other than a regular file. Called before any
    work, so a run that cannot write its results fails in its first second rather than at its end."""
    if not str(path).strip():
        raise SocEmuError("expected a directory, got an empty string", source=flag)
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SocEmuError(f"{out} exists and is not a directory", source=flag) from None
    except OSError as exc:
        raise SocEmuError(f"cannot create the output directory {out}: {exc.strerror}", source=flag) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".soc-emu-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SocEmuError(f"cannot write into {out}: {exc.strerror}", source=flag) from None
    for name in files:
        target = out / name
        if target.exists() and not target.is_file():
            raise SocEmuError(f"{target} exists and is not a regular file", source=flag)
    return out
