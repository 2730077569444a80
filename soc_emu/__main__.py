"""``python -m soc_emu``: the same as the ``soc-emu`` command."""

from __future__ import annotations

import sys

from soc_emu.cli import main

if __name__ == "__main__":
    sys.exit(main())
