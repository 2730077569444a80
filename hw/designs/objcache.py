"""A minimal compiler wrapper (Verilator's ``OBJCACHE`` hook) that reuses Verilator's runtime objects.

Every Verilator build compiles the same runtime sources (``verilated*.cpp``), which takes most of a
small design's build time on 2 cores. Used as
``OBJCACHE=python -m hw.designs.objcache``-style prefix, this script compiles sources that live outside
the build folder once per (command line, source file) and copies the cached object (and its ``.d``
dependency file) afterwards. Design-specific sources are always compiled.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    sources = [a for a in argv if a.endswith(".cpp")]
    # Only Verilator's own runtime (verilated*.cpp) is design-independent; cocotb's verilator.cpp
    # includes the design's model header and must be compiled for every design.
    if len(sources) != 1 or not os.path.isabs(sources[0]) or not Path(sources[0]).name.startswith("verilated"):
        return subprocess.call(argv)
    source = Path(sources[0])
    output = Path(argv[argv.index("-o") + 1]) if "-o" in argv else Path(source.stem + ".o")
    stat = source.stat()
    key = hashlib.sha256(" ".join(argv + [str(stat.st_size), str(stat.st_mtime_ns)]).encode()).hexdigest()[:24]
    cache = Path(os.environ.get("HW_OBJCACHE_DIR", "sim_build/objcache")) / key
    cached_obj = cache / output.name
    if cached_obj.is_file():
        shutil.copyfile(cached_obj, output)
        dep = cache / (output.stem + ".d")
        if dep.is_file():
            shutil.copyfile(dep, output.with_suffix(".d"))
        return 0
    code = subprocess.call(argv)
    if code == 0:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / (output.name + f".{os.getpid()}")
        shutil.copyfile(output, tmp)
        tmp.replace(cached_obj)
        if output.with_suffix(".d").is_file():
            shutil.copyfile(output.with_suffix(".d"), cache / (output.stem + ".d"))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
