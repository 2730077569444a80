"""The Ray backend: each batch of runs is one Ray task (``--backend ray``).

``--address auto|HOST:PORT`` joins a running cluster (``ray start --head`` and its nodes); without an
address a Ray instance starts in this process with ``--workers`` CPUs. If Ray is already initialised in
this process (a test's session fixture, a notebook), the backend uses it and leaves it running.

An address is probed with a plain TCP connection (:data:`PROBE_TIMEOUT_S`) before Ray is asked to join,
so an unreachable cluster is one error line within seconds, not a long hang. Tasks are retried
(:data:`MAX_RETRIES`) when their worker or node dies; a batch still lost after that is reported and the
rerun resumes it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.study.backends import RowsCallback, chunks, default_workers
from soc_emu.study.expand import RunSpec
from soc_emu.study.worker import run_chunk

PROBE_TIMEOUT_S = 5.0
MAX_RETRIES = 3


class RayBackend:
    """Runs batches as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None,
                 chunk_size: int | None = None) -> None:
        self.address = address
        self.chunk_size = chunk_size
        self._requested_workers = workers
        self.workers = workers or default_workers()
        self.lost_runs = 0

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        ray = _import_ray()
        started = self._connect(ray)
        try:
            if self.address is not None or self._requested_workers is None:
                self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
            task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(run_on_node)
            pending = {task.remote(batch): batch for batch in chunks(runs, self.workers, self.chunk_size)}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        batch = pending.pop(ref)
                        try:
                            rows = ray.get(ref)
                        except ray.exceptions.RayError:  # worker or node lost beyond the retries
                            self.lost_runs += len(batch)
                            continue
                        on_rows(rows)
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            if started:
                ray.shutdown()
        if self.lost_runs:
            raise SocEmuError(f"{self.lost_runs} runs were lost with their Ray workers or nodes; the finished "
                              "runs are saved, rerun the same command to resume", source="--backend ray")

    def _connect(self, ray: Any) -> bool:
        """Join or start Ray; ``True`` if this call started it (and must shut it down)."""
        if self.address is not None and self.address != "auto":
            probe(self.address)
        if ray.is_initialized():
            return False
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
        if self.address is None:
            ray.init(num_cpus=self.workers, include_dashboard=False, **quiet)
            return True
        try:
            ray.init(address=self.address, **quiet)
        except Exception as exc:  # noqa: BLE001 - any failure to join (refused, auth, version) is one line
            raise SocEmuError(f"cannot join the Ray cluster: {' '.join(str(exc).split())[:300]}",
                              source=f"--address {self.address}") from None
        return True


def run_on_node(batch: Sequence[RunSpec]) -> list[dict[str, Any]]:
    """:func:`run_chunk` in a Ray task; the ``host`` column also names the Ray node (a study spread over
    several nodes on one machine shows which node ran what)."""
    import ray

    node = ray.get_runtime_context().get_node_id()[:12]
    rows = run_chunk(batch)
    for row in rows:
        row["host"] = f"{row['host']}/{node}"
    return rows


def probe(address: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Check that ``HOST:PORT`` accepts TCP connections within ``timeout_s`` (else a SocEmuError)."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise SocEmuError("expected auto or HOST:PORT", source=f"--address {address}")
    try:
        with socket.create_connection((host, int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise SocEmuError(f"no Ray cluster reachable there ({reason})", source=f"--address {address}") from None


def _import_ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise SocEmuError("the ray backend needs Ray: pip install 'ray>=2.40'", source="--backend ray") from None
    return ray
