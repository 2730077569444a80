"""Checkpoints of the learned scheduler: save atomically, load with one clear error for any bad file.

A checkpoint is a ``torch.save`` of plain data (loadable with ``weights_only=True``):

``format``/``version``
    identify the file; ``model``: the :class:`~agents.model.ModelConfig` fields (feature sizes included);
``rule``
    the decision rule the model was trained with (binding, slack, PE slack);
``state_dict``
    the network weights; ``info``: free-form training facts (platform, workload, episodes, seconds);
``trainer``
    optionally, what ``--resume`` needs (optimizer state, counters, random states).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from agents.features import FEATURE_SETS, DecisionRule
from agents.guards import check_model_sizes, require_finite_tensors
from agents.model import DeepSoCSNet, ModelConfig
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.limits import CHECKPOINT_BYTES

FORMAT = "soc-emu-deepsocs"
VERSION = 1
#: File name of the shipped model inside ``agents/checkpoints``.
SHIPPED_NAME = "deepsocs_hetero.pt"


def shipped_checkpoint() -> Path:
    """Path of the checkpoint shipped in the package (trained on the default platform and workload)."""
    return Path(str(resources.files("agents") / "checkpoints" / SHIPPED_NAME))


@dataclass
class LoadedModel:
    """A network ready for inference plus what it was trained with."""

    net: DeepSoCSNet
    rule: DecisionRule
    info: dict[str, Any]
    trainer: dict[str, Any] | None
    path: str


def rule_to_dict(rule: DecisionRule) -> dict[str, Any]:
    return {"binding": rule.binding.value, "slack": rule.slack, "pe_slack": rule.pe_slack}


def save_checkpoint(
    path: str | os.PathLike[str],
    net: DeepSoCSNet,
    rule: DecisionRule,
    *,
    info: dict[str, Any] | None = None,
    trainer: dict[str, Any] | None = None,
) -> None:
    """Write a checkpoint atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": net.config.to_dict(),
        "rule": rule_to_dict(rule),
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "info": dict(info or {}),
        "trainer": trainer,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary data file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike[str] | None = None, *, source: str = "--model") -> LoadedModel:
    """Load a checkpoint (default: the shipped one). Any problem is one :class:`SocEmuError`."""
    path = Path(path) if path is not None else shipped_checkpoint()
    where = f"{source} {path}" if source else str(path)
    if not path.is_file():  # also refuses devices and FIFOs
        raise SocEmuError(f"checkpoint file not found (or not a regular file): {path}", source=where)
    if path.stat().st_size > CHECKPOINT_BYTES.high:
        raise SocEmuError(f"{path.stat().st_size} bytes; checkpoints may have at most {CHECKPOINT_BYTES.high:.0f}",
                          source=where)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise SocEmuError(f"not a readable checkpoint (torch.load failed: {type(exc).__name__})", source=where) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SocEmuError(f"not a DeepSoCS checkpoint (expected format {FORMAT!r})", source=where)
    if payload.get("version") != VERSION:
        raise SocEmuError(f"checkpoint version {payload.get('version')!r} is not supported (expected {VERSION})", source=where)
    try:
        known = {f.name for f in fields(ModelConfig)}
        model_fields = dict(payload["model"])
        unknown = set(model_fields) - known
        if unknown:
            raise ValueError(f"unknown model fields {sorted(unknown)}")
        model_fields.setdefault("feature_set", 1)  # written before feature sets had versions
        check_model_sizes(model_fields, where)  # before any allocation: hidden = 10**9 must not run
        config = ModelConfig(**model_fields)
        rule_d = payload["rule"]
        rule = DecisionRule(Binding(rule_d["binding"]), float(rule_d["slack"]), float(rule_d["pe_slack"]))
        state = payload["state_dict"]
    except (KeyError, TypeError, ValueError) as exc:
        raise SocEmuError(f"checkpoint is malformed ({exc})", source=where) from None
    expected = FEATURE_SETS.get(config.feature_set) if type(config.feature_set) is int else None  # not bool
    if expected is None or config.feature_sizes() != expected.sizes():
        computed = expected.sizes() if expected is not None else f"only feature sets {sorted(FEATURE_SETS)}"
        raise SocEmuError(
            f"checkpoint was made for feature sizes {config.feature_sizes()} (feature set {config.feature_set}), "
            f"this version computes {computed}; retrain it with `soc-emu train`",
            source=where,
        )
    if not isinstance(state, dict):
        raise SocEmuError("checkpoint is malformed (state_dict is not a table of tensors)", source=where)
    require_finite_tensors(state, where)
    net = DeepSoCSNet(config)
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError) as exc:
        raise SocEmuError(f"checkpoint weights do not fit its model ({str(exc).splitlines()[0][:160]})", source=where) from None
    net.eval()
    return LoadedModel(net=net, rule=rule, info=dict(payload.get("info") or {}), trainer=payload.get("trainer"), path=str(path))
