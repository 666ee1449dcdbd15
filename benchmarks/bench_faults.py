"""A batch killed with SIGTERM and rerun (issue 23): every frame exactly once, nothing finished recomputed.

Simulates ``--frames`` small graphene-Si frames, runs ``atomgraph batch`` on them, sends SIGTERM once
``--kill-after`` frames are committed to ``frames.parquet``, reruns the same command to the end and prints what
happened as a markdown table: frames committed at the signal and after it (flushed on the way out), what the rerun
analyzed and skipped, and how often each frame appears in ``frames.parquet``.

    OMP_NUM_THREADS=1 python benchmarks/bench_faults.py --frames 300 --kill-after 100 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_makers as fm  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, default=160, help="frame side in px (default 160)")
    parser.add_argument("--kill-after", type=int, default=100, help="SIGTERM once this many frames are committed")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        frames = fm.small_frames(Path(tmp) / "in", args.frames, size=args.size)
        t1 = time.perf_counter()
        run = fm.batch_killed_and_rerun(frames, Path(tmp) / "out", kill_after_frames=args.kill_after,
                                        workers=args.workers, timeout_s=3600)
        t2 = time.perf_counter()
    summary = run["rerun_stdout"].strip().splitlines()[-1] if run["rerun_stdout"].strip() else ""
    analyzed = int(summary.split(" analyzed")[0].split()[-1]) if " analyzed" in summary else -1
    skipped = int(summary.split(" skipped")[0].split()[-1]) if " skipped" in summary else -1
    failed = int(summary.split(" failed")[0].split()[-1]) if " failed" in summary else -1
    counts = sorted(set(run["rows"].values()))
    ok = (run["rerun_code"] == 0 and len(run["rows"]) == args.frames and counts == [1]
          and skipped >= run["after_kill"])
    print(f"rerun: {summary}\n\n| what | value |\n| --- | ---: |")
    for name, value in [("frames", args.frames), ("frame size (px)", args.size), ("workers", args.workers),
                        ("committed when SIGTERM was sent", run["at_kill"]),
                        ("committed after the killed run exited (flushed on SIGTERM)", run["after_kill"]),
                        ("exit code of the killed run", run["first_code"]),
                        ("rerun: analyzed", analyzed), ("rerun: skipped (done before)", skipped),
                        ("rerun: failed (status error: refused as `atomgraph analyze` refuses them)", failed),
                        ("rerun: recomputed that had been committed", max(0, run["after_kill"] - skipped)),
                        ("frames in frames.parquet", len(run["rows"])),
                        ("times each frame appears", ", ".join(map(str, counts))),
                        ("statuses", ", ".join(f"{k} {run['statuses'].count(k)}" for k in sorted(set(run["statuses"])))),
                        ("simulate frames (s)", f"{t1 - t0:.1f}"), ("batch, kill, rerun (s)", f"{t2 - t1:.1f}")]:
        print(f"| {name} | {value} |")
    print("\nevery frame exactly once, nothing committed recomputed: " + ("yes" if ok else "NO"), file=sys.stderr)
    if not ok:
        print(run["first_stderr"][-2000:], run["rerun_stderr"][-2000:], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
