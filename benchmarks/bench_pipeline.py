"""Whole ``analyze``: time and peak memory per image size, two ways.

1. ``atomgraph.analyze()`` in a warm process (locate -> graph -> classify -> defects, no file I/O): each size runs in
   a fresh subprocess so its peak RSS is its own; times are medians over repeats after one warm-up call.
2. ``--cli``: the whole command a user runs, ``atomgraph analyze FRAME.npy --pixel-size 0.1 -o OUT`` in a fresh
   process, wall clock from start to exit: Python start-up and imports (torch, torch_geometric, matplotlib), reading
   the .npy, the first (cold) analysis, and writing the default outputs (atoms.csv, defects.csv, graph.npz,
   overlay.png capped at 2048 px); ``--export`` adds graph formats. Peak RSS of that process from ``wait4``.

torch runs inference on the library's default thread count (1; ATOMGRAPH_THREADS overrides).
Run: python benchmarks/bench_pipeline.py [--sizes 256 512 1024 2048 4096] [--repeats 5] [--model graphene-si]
     python benchmarks/bench_pipeline.py --cli [--sizes 1024 4096] [--repeats 3] [--export graphml,json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, statistics, sys, time
import torch
# inference threads: the library default (1; ATOMGRAPH_THREADS overrides)
import atomgraph
size, repeats, model = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sim = atomgraph.simulate(model, size=size, pixel_size_A=0.1, dose=2e5, seed=99)
image = sim.image
del sim
atomgraph.analyze(image, model=model, pixel_size_A=0.1)  # warm-up (imports, weights)
times, stages = [], []
for _ in range(repeats):
    t0 = time.perf_counter()
    result = atomgraph.analyze(image, model=model, pixel_size_A=0.1)
    times.append(time.perf_counter() - t0)
    stages.append(result.timings_s)
median = statistics.median(times)
stage = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
print(json.dumps({"size": size, "median_s": median, "stages": stage, "peak_rss_GiB": peak,
                  "nodes": len(result.atoms), "defects": len(result.defects)}))
"""


def run_cli(size: int, repeats: int, model: str, export: str) -> None:
    """Time the whole ``atomgraph analyze`` command (fresh process each run) on one simulated frame."""
    import os
    import shutil
    import statistics
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    import atomgraph

    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        frame = work / "frame.npy"
        np.save(frame, atomgraph.simulate(model, size=size, pixel_size_A=0.1, dose=2e5, seed=99).image)
        beside = Path(sys.executable).with_name("atomgraph")  # the entry point of this environment
        exe = [str(beside)] if beside.exists() else [sys.executable, "-m", "atomgraph.cli"]
        times, peaks, sizes = [], [], {}
        for k in range(repeats):
            out = work / f"out{k}"
            cmd = [*exe, "analyze", str(frame), "--model", model, "--pixel-size", "0.1", "-o", str(out)]
            if export:
                cmd += ["--export", export]
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)
            times.append(time.perf_counter() - t0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise SystemExit(f"atomgraph analyze failed: {proc.stderr.read().decode()[-500:]}")
            peaks.append(usage.ru_maxrss / 1024 ** 2)  # KiB -> GiB
            sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
        files = ", ".join(f"{name} {n / 1e6:.1f} MB" for name, n in sizes.items())
        print(f"| {size}² | {statistics.median(times):.2f} | {min(times):.2f} | {max(peaks):.2f} | {files} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="graphene-si")
    parser.add_argument("--cli", action="store_true", help="time the whole `atomgraph analyze` command, writing included")
    parser.add_argument("--export", default="", help="with --cli: --export FORMATS passed to analyze")
    args = parser.parse_args()
    if args.cli:
        print(f"whole `atomgraph analyze` command (fresh process, imports + read + analyze + write), model "
              f"{args.model}, 0.1 Å/px, {args.repeats} runs" + (f", --export {args.export}" if args.export else ""))
        print("| size | median wall s | best wall s | peak RSS GiB | files |")
        print("|---|---|---|---|---|")
        for size in args.sizes or [1024, 4096]:
            run_cli(size, args.repeats, args.model, args.export)
        return
    args.sizes = args.sizes or [256, 512, 1024, 2048, 4096]
    print(f"analyze, model {args.model}, 0.1 Å/px, dose 2e5 e/Å², median of {args.repeats} (fewer for large sizes)")
    print("| size | nodes | total s | locate s | graph s | classify s | peak RSS GiB |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        repeats = args.repeats if size <= 1024 else max(1, args.repeats // 3)
        out = subprocess.run([sys.executable, "-c", CHILD, str(size), str(repeats), args.model],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        s = r["stages"]
        print(f"| {size}² | {r['nodes']} | {r['median_s']:.3f} | {s['locate']:.3f} | {s['graph']:.3f} | "
              f"{s['classify']:.3f} | {r['peak_rss_GiB']:.2f} |")


if __name__ == "__main__":
    main()
