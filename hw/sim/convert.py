"""Amaranth -> Verilog/RTLIL conversion, cached on disk per (component factory, parameters).

Conversion spawns Yosys (about 0.3 s warm, about 10 s for the very first WebAssembly compile), so
generated text is kept under ``sim_build/rtl/``. The cache key covers the factory's qualified name, the
parameters and the contents of every ``.py`` file under ``hw/`` (read once per process, so a
long run never files RTL of the code it imported under the key of files edited since), so editing any
generator invalidates it. ``emit_src=False`` keeps absolute source paths out of the output, so it is reproducible.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hw.sim.paths import REPO_ROOT, sim_build_dir

Factory = Callable[..., Any]


def params_digest(params: Mapping[str, Any]) -> str:
    """Stable 12-hex-digit digest of a parameter mapping (JSON with sorted keys, ``repr`` fallback)."""
    text = json.dumps(dict(params), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@functools.cache
def _sources_digest() -> str:
    # once per process: what this process converts is the code it imported, even if files change later
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "hw").rglob("*.py")):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def factory_name(factory: Factory) -> str:
    """``module.QualName`` of a component class or factory function."""
    return f"{factory.__module__}.{factory.__qualname__}"


def _cached(kind: str, factory: Factory, params: Mapping[str, Any], name: str,
            convert: Callable[[Any, str], str]) -> Path:
    key = json.dumps([kind, factory_name(factory), name, params_digest(params), _sources_digest()])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    out_dir = sim_build_dir() / "rtl"
    path = out_dir / f"{factory.__qualname__}-{digest}.{kind}"
    if path.is_file():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    text = convert(factory(**params), name)
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(text)
    scratch.replace(path)
    return path


def verilog_for(factory: Factory, params: Mapping[str, Any], *, name: str = "top") -> Path:
    """Path of the Verilog for ``factory(**params)`` with top module ``name`` (converted if not cached).

    ``factory`` is a ``wiring.Component`` subclass or any callable returning a component.
    """
    from amaranth.back import verilog

    return _cached("v", factory, params, name,
                   lambda component, top: verilog.convert(component, name=top, emit_src=False))


def rtlil_for(factory: Factory, params: Mapping[str, Any], *, name: str = "top") -> Path:
    """Like :func:`verilog_for`, but Yosys RTLIL text (the input of :mod:`hw.sim.resources`)."""
    from amaranth.back import rtlil

    return _cached("il", factory, params, name,
                   lambda component, top: rtlil.convert(component, name=top, emit_src=False))
