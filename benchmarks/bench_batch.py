"""``atomgraph.batch`` throughput on a LocalCluster: frames/s with 1 and 2 workers and their ratio, peak memory per
worker, time to first result; optionally one worker killed mid-run (no frame may be lost).

For each worker count, a LocalCluster is started the way ``batch`` starts its own (processes, one thread each),
then ``batch(..., scheduler=address)`` runs on simulated graphene-Si frames saved as .npy. Reported:

- start s: starting the cluster (worker processes up, nothing imported yet);
- first result s: from the ``batch`` call to the first analyzed frame (planning, models loaded in every worker,
  the first frame with its one-time costs);
- frames/s: analyzed frames per second from the first task submitted to the last result (steady throughput);
- peak RSS per worker: the largest ``ru_maxrss`` among the worker processes at the end, GiB.

Run: python benchmarks/bench_batch.py [--frames 32] [--size 1024] [--workers 1 2] [--kill-after 0]
     python benchmarks/bench_batch.py --frames 1000 --size 512 --workers 2 --kill-after 300   # the 1,000-frame run
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def _kill_self() -> None:  # runs in a worker: die the way an out-of-memory kill does
    os._exit(1)


def make_frames(folder: Path, n: int, size: int, model: str) -> list[str]:
    """``n`` simulated frames (seeds 0..n-1, cycled over 8 distinct images to save time) as .npy files."""
    import numpy as np

    import atomgraph

    images = [atomgraph.simulate(model, size=size, pixel_size_A=0.1, dose=2e5, seed=s).image for s in range(min(n, 8))]
    paths = []
    for i in range(n):
        # distinct content per file (the resume key is the pixels): a tiny offset keeps the analysis the same
        path = folder / f"frame{i:04d}.npy"
        np.save(path, images[i % len(images)] + np.float32(i * 1e-3))
        paths.append(str(path))
    return paths


def run(paths: list[str], workers: int, model: str, out: Path, kill_after: int) -> dict:
    from distributed import Client

    import atomgraph
    from atomgraph.batch import _connect, _shutdown
    from atomgraph.batch.store import read_results

    t0 = time.perf_counter()
    client, cluster = _connect(None, workers, None, 120)
    start_s = time.perf_counter() - t0
    killer = Client(cluster.scheduler_address) if kill_after else None
    seen = {"n": 0, "killed": None}

    def on_result(row: dict) -> None:
        seen["n"] += 1
        if killer is not None and seen["n"] == kill_after and seen["killed"] is None:
            victim = sorted(killer.scheduler_info()["workers"])[0]
            seen["killed"] = victim
            try:
                killer.run(_kill_self, workers=[victim], nanny=False)
            except Exception:  # noqa: BLE001 - the worker dies before it can answer
                pass

    try:
        summary = atomgraph.batch(paths, model=model, output=out, pixel_size_A=0.1, scheduler=cluster.scheduler_address,
                                  on_result=on_result)
        peaks = client.run(_peak_rss_gib)
        frames = read_results(out, "frames").to_pydict()
    finally:
        if killer is not None:
            killer.close()
        _shutdown(client, cluster)
    return {"workers": workers, "start_s": start_s, "first_s": summary.first_result_seconds,
            "fps": summary.frames_per_second, "compute_s": summary.compute_seconds, "ok": summary.ok,
            "failed": summary.failed, "rows": len(frames["status"]), "peak_GiB": max(peaks.values()),
            "killed": seen["killed"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="graphene-si")
    parser.add_argument("--kill-after", type=int, default=0, help="kill one worker after this many results")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        paths = make_frames(work, args.frames, args.size, args.model)
        load = os.getloadavg()[0]
        print(f"{args.frames} frames of {args.size}², {args.model}, 0.1 Å/px; load average before: {load:.1f} "
              f"on {os.cpu_count()} cores" + (f"; one worker killed after {args.kill_after} results"
                                               if args.kill_after else ""))
        print("| workers | start s | first result s | frames/s | compute s | ok / failed / rows | peak RSS per "
              "worker GiB |")
        print("|---|---|---|---|---|---|---|")
        results = []
        for n in args.workers:
            r = run(paths, n, args.model, work / f"out{n}", args.kill_after)
            results.append(r)
            print(f"| {n} | {r['start_s']:.1f} | {r['first_s']:.1f} | {r['fps']:.2f} | {r['compute_s']:.1f} | "
                  f"{r['ok']} / {r['failed']} / {r['rows']} | {r['peak_GiB']:.2f} |", flush=True)
        if len(results) >= 2:
            print(f"throughput ratio {results[-1]['workers']} vs {results[0]['workers']} workers: "
                  f"{results[-1]['fps'] / results[0]['fps']:.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
