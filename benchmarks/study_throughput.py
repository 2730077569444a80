"""Study throughput: a 1,000-run study of short runs on the local backend (1 and 2 workers) and on a local
Ray with 2 CPUs.

Prints, per backend: wall time, runs per second, the runs' own time (simulation alone, and each whole run
with loading) and the per-run overhead, i.e. worker time not spent inside runs::

    overhead per run = (wall time x workers - sum of the runs' own times) / runs

It also checks that the three backends give identical deterministic rows. Ray's start-up (``ray.init``)
is timed separately and left out of its wall time (a cluster is started once and serves many studies);
the local pool's start-up is included in its wall time.

Targets (issue 8): 2 local workers >= 1.8x the runs/s of 1 worker; Ray overhead <= 20 ms per run.

    .venv/bin/python benchmarks/study_throughput.py            # 1,000 runs of 50 jobs (a few minutes)
    .venv/bin/python benchmarks/study_throughput.py --runs 200  # quicker
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from soc_emu.study import deterministic, parse_spec, run_study
from soc_emu.study.backends import make_backend


def study_data(runs: int, jobs: int) -> dict[str, Any]:
    """``runs`` runs: 2 schedulers x 5 rates x runs/10 seeds, ``jobs`` jobs each."""
    seeds = max(1, runs // 10)
    return {"name": f"throughput-{runs}", "schedulers": ["etf", "heft"], "rates": [10, 20, 30, 40, 50],
            "seeds": list(range(seeds)), "jobs": jobs}


def measure(label: str, spec: Any, backend: Any, workers: int, out: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_study(spec, out_dir=out, backend=backend)
    wall = time.perf_counter() - t0
    n = len(result.rows)
    assert not result.failed, result.failed[0]["error"]
    sim = sum(r["wall_seconds"] for r in result.rows)
    own = sum(r["run_seconds"] for r in result.rows)
    return {"label": label, "rows": result.rows, "wall": wall, "runs": n, "rate": n / wall,
            "sim_ms": 1000 * sim / n, "run_ms": 1000 * own / n,
            "overhead_ms": 1000 * (wall * workers - own) / n, "workers": workers}


def pool_start_seconds() -> dict[str, float]:
    """Seconds to start a 2-worker pool and run one 5-job run in each, with the backend's start method
    (forkserver, emulator preloaded) and with spawn."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from soc_emu.study import expand
    from soc_emu.study.backends.local import _context, _worker_init
    from soc_emu.study.worker import run_chunk

    runs = expand(parse_spec({"schedulers": ["heft"], "jobs": 5, "seeds": [0, 1]}))
    out = {}
    for name, ctx in (("forkserver", _context()), ("spawn", mp.get_context("spawn"))):
        t0 = time.perf_counter()
        with ProcessPoolExecutor(2, mp_context=ctx, initializer=_worker_init) as pool:
            list(pool.map(run_chunk, [[runs[0]], [runs[1]]]))
        out[name] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000, help="runs in the study (default 1000)")
    parser.add_argument("--jobs", type=int, default=50, help="jobs per run (default 50)")
    args = parser.parse_args()
    spec = parse_spec(study_data(args.runs, args.jobs))
    starts = pool_start_seconds()
    results = []
    with tempfile.TemporaryDirectory(prefix="study-throughput-") as tmp:
        for workers in (1, 2):
            results.append(measure(f"local, {workers} worker{'s' if workers > 1 else ''}", spec,
                                   make_backend("local", workers=workers), workers, Path(tmp) / f"local{workers}"))
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        ray_start = time.perf_counter() - t0
        try:
            results.append(measure("ray, 2 CPUs", spec, make_backend("ray", workers=2), 2, Path(tmp) / "ray"))
        finally:
            ray.shutdown()
    reference = [deterministic(r) for r in results[0]["rows"]]
    identical = all([deterministic(r) for r in res["rows"]] == reference for res in results[1:])

    print(f"study: {results[0]['runs']} runs of {args.jobs} jobs (hetero / ds3_mix, etf and heft, 5 rates)")
    print(f"{'backend':<18}{'wall s':>9}{'runs/s':>9}{'sim ms/run':>12}{'run ms/run':>12}{'overhead ms/run':>17}")
    for res in results:
        print(f"{res['label']:<18}{res['wall']:>9.1f}{res['rate']:>9.1f}{res['sim_ms']:>12.1f}{res['run_ms']:>12.1f}"
              f"{res['overhead_ms']:>17.1f}")
    print("2-worker pool start-up with one short run per worker: "
          + ", ".join(f"{name} {sec:.2f} s" for name, sec in starts.items()))
    speedup = results[1]["rate"] / results[0]["rate"]
    print(f"ray.init: {ray_start:.1f} s (not in the ray row's wall time)")
    print(f"2 workers vs 1: {speedup:.2f}x (target >= 1.8x: {'met' if speedup >= 1.8 else 'NOT met'})")
    ray_overhead = results[2]["overhead_ms"]
    print(f"ray overhead: {ray_overhead:.1f} ms/run (target <= 20 ms: {'met' if ray_overhead <= 20 else 'NOT met'})")
    print(f"identical deterministic rows on all three backends: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
