"""Whole ``analyze`` (locate -> graph -> classify -> defects, no file I/O): time and peak memory per image size.

Each size runs in a fresh subprocess so its peak RSS is its own. Times are medians over repeats; torch runs
inference on the library's default thread count (1; ATOMGRAPH_THREADS overrides).
Run: python benchmarks/bench_pipeline.py [--sizes 256 512 1024 2048 4096] [--repeats 5] [--model graphene-si]
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
sim = atomgraph.simulate(model, size=size, pixel_size=0.1, dose=2e5, seed=99)
image = sim.image
del sim
atomgraph.analyze(image, model=model, pixel_size=0.1)  # warm-up (imports, weights)
times, stages = [], []
for _ in range(repeats):
    t0 = time.perf_counter()
    result = atomgraph.analyze(image, model=model, pixel_size=0.1)
    times.append(time.perf_counter() - t0)
    stages.append(result.timings_s)
median = statistics.median(times)
stage = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
print(json.dumps({"size": size, "median_s": median, "stages": stage, "peak_rss_GiB": peak,
                  "nodes": len(result.atoms), "defects": len(result.defects)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default="graphene-si")
    args = parser.parse_args()
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
