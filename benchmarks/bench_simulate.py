"""Simulator throughput: images per second at 256² and 1024² (training must not wait on data).

Run: python benchmarks/bench_simulate.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import atomgraph


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("| material | size | images/s (median of runs) | ms/image |")
    print("|---|---|---|---|")
    for material in ("graphene-si", "mose2-w"):
        for size, n in ((256, args.repeats), (1024, max(3, args.repeats // 4))):
            times = []
            for seed in range(n):
                t0 = time.perf_counter()
                atomgraph.simulate(material, size=size, seed=seed)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(f"| {material} | {size}² | {1 / med:.1f} | {1000 * med:.1f} |")


if __name__ == "__main__":
    main()
