"""``atomgraph analyze`` of one frame as a process against the same analysis in process, for two checkouts at once
(issue 24's 4096² target: wall ≤ in-process analysis + 1.5 s, peak < 2 GiB).

Run: python benchmarks/bench_startup_pair.py BEFORE AFTER [--rounds 5] [--frame frame4096.npy] [--inputs DIR]

BEFORE and AFTER are checkouts (``git worktree add /tmp/before <commit>``); each call runs the ``atomgraph`` script
beside this Python with ``PYTHONPATH`` at the checkout, ``OMP_NUM_THREADS=1``, bytecode caching on (as installed)
and ``TMPDIR`` a fresh empty folder (anything left there fails the run). The two checkouts alternate call by call,
their order swapping every round, so load on a shared machine hits both alike. Prints per round and at the end:
the command's wall clock, CPU time (user + sys, less sensitive to load) and peak RSS (``os.wait4``), the analysis
in process (median of 3 warm calls, no file I/O, a process per round) and the difference; then whether both
wrote the same outputs (``atoms.csv``, ``defects.csv``, ``graph.npz``, ``source.json`` byte for byte,
``overlay.png`` pixel for pixel). Inputs: ``bench_startup.py --make-inputs DIR --big`` (made when DIR lacks them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import IN_PROCESS, atomgraph_command


def _env(root: str, tmp: str) -> dict:
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1", "TMPDIR": tmp}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def command(root: str, inputs: Path, frame: str, out: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of ``atomgraph analyze FRAME -o OUT`` with ``root`` first on the path."""
    shutil.rmtree(out, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix="tmpdir-", dir=inputs)
    argv = atomgraph_command() + ["analyze", frame, "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(root, tmp),
                            cwd=inputs)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    left = os.listdir(tmp)
    shutil.rmtree(tmp)
    if os.waitstatus_to_exitcode(status) != 0 or left:
        raise SystemExit(f"{root}: exit {os.waitstatus_to_exitcode(status)}, left in TMPDIR: {left}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def in_process(root: str, inputs: Path, frame: str) -> float:
    """Median seconds of 3 warm ``atomgraph.analyze`` calls of the frame (no file I/O), ``root`` first on the path."""
    tmp = tempfile.mkdtemp(prefix="tmpdir-", dir=inputs)
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(inputs / frame), "3"], capture_output=True,
                         text=True, check=True, env=_env(root, tmp))
    shutil.rmtree(tmp)
    return float(out.stdout.strip().splitlines()[-1])


def same_outputs(a: Path, b: Path) -> dict[str, bool]:
    """Whether two analyze folders hold the same results: files byte for byte, overlay.png pixel for pixel."""
    import numpy as np
    from PIL import Image

    same = {name: (a / name).read_bytes() == (b / name).read_bytes()
            for name in ("atoms.csv", "defects.csv", "graph.npz", "source.json")}
    with Image.open(a / "overlay.png") as pa, Image.open(b / "overlay.png") as pb:
        same["overlay.png (pixels)"] = np.array_equal(np.asarray(pa), np.asarray(pb))
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frame", default="frame4096.npy")
    parser.add_argument("--inputs", default=None,
                        help="folder of bench_startup.py's inputs (default: made in a temp folder)")
    args = parser.parse_args()
    inputs = Path(args.inputs or tempfile.mkdtemp(prefix="atomgraph-pair-"))
    if not (inputs / args.frame).is_file():
        subprocess.run([sys.executable, str(Path(__file__).with_name("bench_startup.py")), "--make-inputs",
                        str(inputs), "--big"], check=True)
    versions = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    res = {v: {"wall": [], "cpu": [], "rss": [], "inproc": []} for v in versions}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        order = list(versions) if r % 2 == 0 else list(versions)[::-1]
        for v in order:
            wall, cpu, rss = command(versions[v], inputs, args.frame, inputs / f"pair_{v}")
            res[v]["wall"].append(wall), res[v]["cpu"].append(cpu), res[v]["rss"].append(rss)
            print(f"round {r} {v}: command {wall:.2f} s (CPU {cpu:.2f} s), {rss:.0f} MiB", flush=True)
        for v in order[::-1]:
            res[v]["inproc"].append(in_process(versions[v], inputs, args.frame))
            print(f"round {r} {v}: in process {res[v]['inproc'][-1]:.2f} s", flush=True)
        loads.append(os.getloadavg()[0])
    for v in versions:
        wall, inproc = statistics.median(res[v]["wall"]), statistics.median(res[v]["inproc"])
        print(f"{v} ({versions[v]}): command median {wall:.2f} s (best {min(res[v]['wall']):.2f}), CPU median "
              f"{statistics.median(res[v]['cpu']):.2f} s, in process median {inproc:.2f} s, difference "
              f"{wall - inproc:+.2f} s, peak RSS {max(res[v]['rss']):.0f} MiB")
    print("load average (1 min) before and after each round:", [round(x, 2) for x in loads])
    print("same outputs:", same_outputs(inputs / "pair_before", inputs / "pair_after"))


if __name__ == "__main__":
    main()
