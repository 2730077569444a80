"""A study spread over two Ray nodes on this machine: its rows must equal a single-node run's.

Starts a Ray head (``ray start --head --block``, 1 CPU, loopback, every port chosen free) and a second
node (``ray start --address ... --block``, 1 CPU, its own ``node2`` resource), each in its own process
group with its own ``--temp-dir``. Runs the study with ``soc-emu study run --backend ray --address`` and
checks:

1. both nodes ran runs (the ``host`` column names the Ray node);
2. the deterministic columns equal those of the same study on the local backend with one worker.

With ``--kill-node`` the second node is killed (SIGKILL to its process group) once a fifth of the runs
are in; the study goes on (Ray retries the lost tasks on the head) or reports lost runs, in which case the
command is rerun and resumes. The rows must still match.

Only the Ray processes this script started are stopped (by process group); it never runs ``ray stop``.

    .venv/bin/python benchmarks/study_two_nodes.py [--runs 200] [--kill-node]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from soc_emu.study import NONDETERMINISTIC_COLUMNS, parse_spec, run_study

BIN = Path(sys.executable).parent
#: Ray >= 2.59 turns token authentication on for a head started while ~/.ray/auth_token exists, but a node
#: joining with `ray start --address` does not send the token; this private loopback cluster opts out.
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled"}


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on loopback right now."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def node_command(temp_dir: Path, head_port: int, head: bool, resources: dict[str, float]) -> list[str]:
    """``ray start`` for one node with every port it opens chosen free (other Rays may run on this machine)."""
    ports = free_ports(7)
    cmd = [str(BIN / "ray"), "start", "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
           "--disable-usage-stats", "--resources", json.dumps(resources),
           "--object-manager-port", str(ports[0]), "--node-manager-port", str(ports[1]),
           "--dashboard-agent-listen-port", str(ports[2]), "--dashboard-agent-grpc-port", str(ports[3]),
           "--metrics-export-port", str(ports[4]), "--runtime-env-agent-port", str(ports[5]),
           "--min-worker-port", str(20000 + ports[6] % 20000), "--max-worker-port", str(20000 + ports[6] % 20000 + 50)]
    if head:
        cmd += ["--head", "--port", str(head_port), "--include-dashboard", "false", "--temp-dir", str(temp_dir)]
    else:
        cmd += ["--address", f"127.0.0.1:{head_port}"]
    return cmd


@contextlib.contextmanager
def ray_node(cmd: list[str], log: Path) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    """One ``ray start --block`` in its own process group, killed (the whole group) on exit."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=RAY_ENV)
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def wait_for_nodes(address: str, count: int, timeout_s: float = 90.0) -> None:
    """Wait until ``count`` nodes are alive in the cluster at ``address``."""
    code = ("import ray, logging; ray.init(address=%r, logging_level=logging.ERROR); "
            "print(sum(n['Alive'] for n in ray.nodes()))" % address)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=RAY_ENV)
        except subprocess.TimeoutExpired:
            continue
        if out.returncode == 0 and out.stdout.strip().isdigit() and int(out.stdout.strip()) >= count:
            return
        time.sleep(1.0)
    raise SystemExit(f"the cluster at {address} did not reach {count} nodes in {timeout_s:.0f} s")


def study_args(runs: int) -> list[str]:
    seeds = max(1, runs // 10)
    return ["--name", f"two-nodes-{runs}", "--schedulers", "etf,heft", "--rates", "10,20,30,40,50",
            "--seeds", ",".join(map(str, range(seeds))), "--noise", "0.1", "--jobs", "50"]


def deterministic_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in NONDETERMINISTIC_COLUMNS} for row in csv.DictReader(f)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--kill-node", action="store_true", help="kill the second node mid-study")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="soc2n-", dir="/tmp"))
    head_port = free_ports(1)[0]
    address = f"127.0.0.1:{head_port}"
    out = tmp / "study"
    with ray_node(node_command(tmp / "ray", head_port, True, {"head": 1}), tmp / "head.log"):
        time.sleep(2.0)
        with ray_node(node_command(tmp / "ray", head_port, False, {"node2": 1}), tmp / "node2.log") as node2:
            wait_for_nodes(address, 2)
            print(f"cluster up at {address}: 2 nodes, 1 CPU each (logs in {tmp})")
            cmd = [str(BIN / "soc-emu"), "study", "run", *study_args(args.runs), "--backend", "ray",
                   "--address", address, "--out", str(out), "--no-plot"]
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=RAY_ENV)
            if args.kill_node:
                table = out / "runs.csv"
                while proc.poll() is None and not (table.exists() and table.read_text().count("\n") > args.runs // 5):
                    time.sleep(0.1)
                stop_group(node2, signal.SIGKILL)
                print(f"killed the second node after {table.read_text().count(chr(10)) - 1} runs")
            stdout, stderr = proc.communicate()
            print(f"study on 2 nodes: exit {proc.returncode} in {time.perf_counter() - t0:.1f} s: "
                  f"{stdout.strip().splitlines()[0] if stdout.strip() else stderr.strip()}")
            if proc.returncode != 0:
                again = subprocess.run(cmd, capture_output=True, text=True, env=RAY_ENV)
                print(f"rerun (resume): exit {again.returncode}: {again.stdout.strip().splitlines()[:1]}")
    hosts = sorted({row["host"] for row in csv.DictReader(open(out / "runs.csv"))})
    print(f"runs per Ray node: " + ", ".join(
        f"{h}: {sum(r['host'] == h for r in csv.DictReader(open(out / 'runs.csv')))}" for h in hosts))
    single = run_study(parse_spec(spec_from_args(args.runs)), out_dir=tmp / "single", workers=1)
    same = deterministic_rows(out / "runs.csv") == deterministic_rows(single.paths["runs"])
    print(f"rows equal the single-node rows: {'yes' if same else 'NO'} ({len(single.rows)} runs)")
    if not same or (len(hosts) < 2 and not args.kill_node):
        raise SystemExit(1)


def spec_from_args(runs: int) -> dict[str, object]:
    """The spec of :func:`study_args` as data (for the single-node reference run)."""
    seeds = max(1, runs // 10)
    return {"name": f"two-nodes-{runs}", "schedulers": ["etf", "heft"], "rates": [10, 20, 30, 40, 50],
            "seeds": list(range(seeds)), "noise": [0.1], "jobs": 50}


if __name__ == "__main__":
    main()
