"""The Ray backend: each item of a map (a batch of a study's runs, a training rollout) is one Ray task
(``--backend ray``).

``--address auto|HOST:PORT`` joins a running cluster (``ray start --head`` and its nodes); without an
address a Ray instance starts in this process with ``--workers`` CPUs. If Ray is already initialised in
this process (a test's session fixture, a notebook), the backend uses it and leaves it running. Inside
``with backend:`` the connection stays up across maps; outside, each map joins (or starts) and leaves.

An address is probed with a plain TCP connection (:data:`PROBE_TIMEOUT_S`) before Ray is asked to join,
so an unreachable cluster is one error line within seconds, not a long hang. Tasks are retried
(:data:`MAX_RETRIES`) when their worker or node dies; an item still lost after that is reported
(:class:`LostWork`) once the others are done, and a study's rerun resumes it. A function that raises
stops the map with its own error.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from soc_emu.errors import SocEmuError
from soc_emu.study.backends import LostWork, ResultCallback, RowsCallback, default_workers, run_batches
from soc_emu.study.expand import RunSpec
from soc_emu.study.worker import run_chunk

T = TypeVar("T")
R = TypeVar("R")
PROBE_TIMEOUT_S = 5.0
MAX_RETRIES = 3


class RayBackend:
    """Maps functions over items as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None,
                 chunk_size: int | None = None) -> None:
        self.address = address
        self.chunk_size = chunk_size
        self._requested_workers = workers
        self.workers = workers or default_workers()
        self._depth = 0
        self._started = False
        self._tasks: dict[Callable[..., Any], Any] = {}

    def __enter__(self) -> RayBackend:
        if self._depth == 0:
            ray = _import_ray()
            self._started = self._connect(ray)
            if self.address is not None or self._requested_workers is None:
                self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._tasks.clear()
            if self._started:
                _import_ray().shutdown()
                self._started = False

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        run_batches(self, run_on_node, runs, on_rows, self.chunk_size)

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: ResultCallback | None = None) -> list[R]:
        ray = _import_ray()
        results: dict[int, R] = {}
        lost: list[int] = []
        with self:
            task = self._tasks.get(fn)
            if task is None:
                task = self._tasks[fn] = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(fn)
            pending = {task.remote(item): index for index, item in enumerate(items)}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        index = pending.pop(ref)
                        try:
                            result = ray.get(ref)
                        except ray.exceptions.RayTaskError as exc:  # the function itself raised: its error
                            raise _own_error(exc) from None
                        except ray.exceptions.RayError:  # worker or node lost beyond the retries
                            lost.append(index)
                            continue
                        results[index] = result
                        if on_result is not None:
                            on_result(index, result)
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        if lost:
            raise LostWork(f"{len(lost)} of {len(items)} tasks were lost with their Ray workers or nodes",
                           source="--backend ray", lost=sorted(lost))
        return [results[index] for index in range(len(items))]

    def _connect(self, ray: Any) -> bool:
        """Join or start Ray; ``True`` if this call started it (and must shut it down)."""
        if self.address is not None and self.address != "auto":
            probe(self.address)
        if ray.is_initialized():
            return False
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
        if self.address is None:  # "local": a new instance, even if RAY_ADDRESS or a `ray start` cluster exists
            ray.init(address="local", num_cpus=self.workers, include_dashboard=False, **quiet)
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


def _own_error(exc: Any) -> BaseException:
    """The error a Ray task raised: a :class:`SocEmuError` as itself (one line for the CLI), anything else as
    Ray's instance of the cause's class, which carries the remote traceback."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, SocEmuError) else exc.as_instanceof_cause()


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
