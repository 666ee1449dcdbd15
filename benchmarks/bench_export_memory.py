"""Peak memory and wall clock of ``atomgraph classify`` on a large coordinate file, one process per export format
(issue 23: 10⁶ points to every format within 4 GB).

Run: python benchmarks/bench_export_memory.py [--atoms 1000000] [--formats csv,graphml,json,extxyz,pt,npz]

The input is a graphene sheet of about ``--atoms`` atoms (``ase.build.graphene`` repeated, rows ``x_A,y_A,element``,
one C in 5,000 made Si), written once into a temporary folder. Each format runs as its own ``atomgraph classify``
process (the console script beside this Python, ``OMP_NUM_THREADS=1`` unless set); the peak RSS is that process's
``ru_maxrss`` from ``os.wait4``. Prints one row per format: wall s, peak RSS MiB, output size MB, exit code.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FORMATS = ("csv", "graphml", "json", "extxyz", "pt", "npz")


def graphene_csv(path: Path, atoms: int, seed: int = 0) -> int:
    """Write a ``x_A,y_A,element`` graphene sheet of about ``atoms`` atoms (a few Si); return the row count."""
    from ase.build import graphene

    side = int(np.ceil(np.sqrt(atoms / 2)))
    positions = graphene(a=2.46, vacuum=None).repeat((side, side, 1)).positions[:atoms, :2]
    element = np.full(len(positions), "C", dtype="<U2")
    rng = np.random.default_rng(seed)
    element[rng.choice(len(positions), size=max(1, len(positions) // 5000), replace=False)] = "Si"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x_A,y_A,element\n")
        handle.writelines(f"{x:.4f},{y:.4f},{e}\n" for (x, y), e in zip(positions.tolist(), element.tolist()))
    return len(positions)


def atomgraph_command() -> list[str]:
    script = Path(sys.executable).parent / "atomgraph"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from atomgraph.cli import main; sys.exit(main())"]


def run(argv: list[str]) -> tuple[float, float, int]:
    """(wall s, peak RSS MiB, exit code) of one process."""
    env = {"OMP_NUM_THREADS": "1", **os.environ}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code:
        print(f"  exit {code}: {err[-1] if err else ''}", file=sys.stderr)
    return wall, usage.ru_maxrss / 1024.0, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--model", default="graphene-si")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        source = work / "sheet.csv"
        n = graphene_csv(source, args.atoms)
        print(f"{n} atoms ({source.stat().st_size / 1e6:.1f} MB CSV), model {args.model}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
        print("| format | wall s | peak RSS MiB | output MB | exit |")
        print("|---|---|---|---|---|")
        for fmt in args.formats.split(","):
            out = work / f"graph.{fmt}"
            wall, rss, code = run(atomgraph_command() + ["classify", str(source), "--model", args.model,
                                                         "-o", str(out), "--force"])
            size = sum(p.stat().st_size for p in work.glob("graph*") if p.is_file()) / 1e6
            print(f"| {fmt} | {wall:.1f} | {rss:.0f} | {size:.1f} | {code} |", flush=True)
            for p in work.glob("graph*"):
                p.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
