"""The emulator core never imports torch; only the agent does, and only when asked for."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_and_cli_do_not_import_torch() -> None:
    mods = _modules_after(
        "import soc_emu.runner, soc_emu.schedulers, soc_emu.cli\n"
        "from soc_emu.cli import build_parser\nbuild_parser()\n"
        "from soc_emu.runner import RunConfig, execute\nfrom soc_emu.engine.options import RunOptions\n"
        "execute(RunConfig(scheduler='heft', options=RunOptions(num_jobs=3)))"
    )
    assert "torch" not in mods and "agents.model" not in mods


def test_deepsocs_is_loaded_lazily() -> None:
    mods = _modules_after("from soc_emu.schedulers.registry import make_scheduler\nmake_scheduler('deepsocs')")
    assert "torch" in mods and "agents.scheduler" in mods
