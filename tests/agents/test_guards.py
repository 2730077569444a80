"""Hostile checkpoints and diverging training: one SocEmuError naming the file or flag, never a traceback,
an allocation of gigabytes, or a silently NaN model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.features import DecisionRule
from agents.guards import require_finite_step
from agents.model import DeepSoCSNet, ModelConfig
from soc_emu.cli import main
from soc_emu.errors import SocEmuError


def _saved(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    """A valid small checkpoint, loaded as plain data, changed by ``edit`` and saved again."""
    path = tmp_path / "edited.pt"
    save_checkpoint(path, DeepSoCSNet(ModelConfig(hidden=8, embed=4)), DecisionRule())
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("hidden", [-1, 0, 10**9, 2.5])
def test_absurd_model_sizes_are_refused_before_allocation(tmp_path: Path, hidden: object) -> None:
    path = _saved(tmp_path, lambda p: p["model"].__setitem__("hidden", hidden))
    with pytest.raises(SocEmuError, match=r"model\.hidden: expected an integer in \[2, 1024\]"):
        load_checkpoint(path)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused(tmp_path: Path, bad: float) -> None:
    def poison(payload: dict) -> None:  # type: ignore[type-arg]
        name = next(iter(payload["state_dict"]))
        payload["state_dict"][name].view(-1)[0] = bad

    path = _saved(tmp_path, poison)
    with pytest.raises(SocEmuError, match="NaN or infinite"):
        load_checkpoint(path)


def test_weights_shaped_unlike_the_metadata_are_refused(tmp_path: Path) -> None:
    def reshape(payload: dict) -> None:  # type: ignore[type-arg]
        name = next(k for k in payload["state_dict"] if k.endswith("weight"))
        payload["state_dict"][name] = torch.zeros(3, 3)

    with pytest.raises(SocEmuError, match="weights do not fit"):
        load_checkpoint(_saved(tmp_path, reshape))


def test_a_fifo_or_device_is_not_read_as_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        rc = main(["run", "--scheduler", "deepsocs", "--model", path, "--jobs", "2"])
        err = capsys.readouterr().err
        assert rc == 2 and "not a regular file" in err and err.count("\n") == 1


def test_training_stops_the_first_time_the_loss_or_a_weight_is_not_finite() -> None:
    net = DeepSoCSNet(ModelConfig(hidden=8, embed=4))
    require_finite_step(0.5, net, "step 1")  # a healthy step passes
    with pytest.raises(SocEmuError, match="loss became nan at step 2"):
        require_finite_step(math.nan, net, "step 2")
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] = math.inf
    with pytest.raises(SocEmuError, match="became NaN or infinite at step 3"):
        require_finite_step(0.5, net, "step 3")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--lr", "inf"], "--lr: expected a number in (0, 1]"),
        (["--lr", "nan"], "--lr: expected a number in (0, 1]"),
        (["--lr", "0"], "--lr"),
        (["--hidden", "0"], "--hidden: expected an integer in [2, 1024]"),
        (["--embed", "-3"], "--embed"),
        (["--seed", "-1"], "--seed"),
        (["--mp-steps", "-1"], "--mp-steps"),
        (["--rollouts", "0"], "--rollouts"),
        (["--entropy", "1", "nan"], "--entropy"),
        (["--eval-rates", "25,inf"], "--eval-rates"),
        (["--time-budget", "0"], "--time-budget"),
    ],
)
def test_every_training_flag_is_range_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              argv: list[str], needle: str) -> None:
    rc = main(["train", "--out", str(tmp_path / "run"), *argv])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("soc-emu: error: ") and needle in err, err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_train_out_must_be_a_writable_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a_file"
    target.write_text("")
    rc = main(["train", "--out", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "--out" in err and "not a directory" in err


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """PIDs of the live (not zombie) descendants of ``pid``, from /proc (the local backend's workers are
    children of its fork server, itself a child of ``pid``)."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent_of[int(entry.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [child for child, parent in parent_of.items() if parent in frontier]
        found += [k for k in kids if _alive(k)]
        frontier = kids
    return found


@pytest.mark.parametrize(("sig", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_training_stops_its_workers_with_one_line(tmp_path: Path, sig: str, status: int) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "soc_emu", "train", "--out", str(tmp_path / "run"), "--quiet", "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while len(_children(proc.pid)) < 4 and time.monotonic() < deadline:  # 2 workers, fork server, resource tracker
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) >= 4, "the worker pool did not start"
        time.sleep(1.0)
        sent = time.monotonic()
        if sig == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        else:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == status and err == f"soc-emu: interrupted by {sig}\n", err
    assert took < 15, f"took {took:.1f} s"  # a hang detector (it used to wait forever for lost episodes)
    time.sleep(1.0)
    assert not [pid for pid in workers if _alive(pid)], "worker processes outlived the training"
