"""Software versions saved with a study's results (``study.json``), so a figure can be traced back."""

from __future__ import annotations

from importlib import metadata

#: Libraries beyond the run's own (see :func:`soc_emu.runner._versions`) that a study depends on.
STUDY_LIBRARIES = ("ray", "tqdm", "matplotlib", "torch")


def software_versions() -> dict[str, str]:
    """Versions of soc-emu, Python, the OS and the libraries behind the results (read from the installed
    package metadata, so nothing heavy is imported)."""
    from soc_emu.runner import _versions

    found = _versions()
    for dist in STUDY_LIBRARIES:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found
