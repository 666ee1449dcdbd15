"""Start-up and per-call cost of the ``atomgraph`` command (issue 24): each verb as a whole process against
``python -c "import torch"`` in the same run.

Run: python benchmarks/bench_startup.py [--repeats 5] [--big] [--importtime 12]

Prints
1. one row per call: median and best wall clock (s), the median as a multiple of ``import torch`` timed in the same
   rounds (the calls are interleaved round by round, so load on the machine hits them alike), the peak RSS of that
   process (MiB, from ``os.wait4``), the exit code, and whether the call left anything in its temp directory (each
   call runs with ``TMPDIR`` set to a fresh empty folder);
2. with ``--big``: a 4096² ``analyze`` as a process against the same analysis in process (warm, no file I/O);
3. ``python -X importtime``'s top offenders of ``classify`` and ``analyze``: self time summed per top-level package
   (ms), and which of the usual heavy packages were imported at all.

Inputs are simulated into a temporary folder: a graphene-si coordinate CSV of about 300 atoms (280² at 0.1 Å/px),
a 1024² frame and (``--big``) a 4096² frame; the refused calls ("bad input: ...") get a missing file, a CSV without
coordinate columns, a text file named .png and a full output folder. The command is the ``atomgraph`` script beside
this Python.
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

HEAVY = ["torch", "torch_geometric", "numpy", "scipy", "ase", "pydantic", "yaml", "matplotlib", "PIL", "tifffile",
         "networkx", "sklearn", "dask", "distributed", "pyarrow", "pandas", "sympy", "safetensors", "tqdm", "h5py",
         "rsciio"]


def atomgraph_command() -> list[str]:
    """The installed ``atomgraph`` console script of this Python (else the CLI through ``-c``)."""
    script = Path(sys.executable).parent / "atomgraph"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from atomgraph.cli import main; sys.exit(main())"]


def run_once(argv: list[str], workdir: Path) -> tuple[float, float, int, list[str]]:
    """(wall s, peak RSS MiB, exit code, files left in the call's own TMPDIR) of one process."""
    temp = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=workdir))
    env = {**os.environ, "TMPDIR": str(temp)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=workdir)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    left = sorted(p.name for p in temp.iterdir())
    shutil.rmtree(temp, ignore_errors=True)
    return wall, usage.ru_maxrss / 1024.0, proc.returncode, left


INPUT_NAMES = {"csv": "atoms300.csv", "img1024": "frame1024.npy", "img4096": "frame4096.npy"}


def make_inputs(folder: Path, big: bool) -> None:
    """Simulated inputs in ``folder`` (:data:`INPUT_NAMES`): a coordinate CSV of ~300 atoms (x_px,y_px,element at
    0.1 Å/px), a 1024² frame and (``big``) a 4096² frame (.npy, graphene-si, 0.1 Å/px, 2e5 e/Å²)."""
    import numpy as np

    from atomgraph import simulate

    sim = simulate("graphene-si", size=280, pixel_size_A=0.1, seed=0)
    real = sim.truth.subset(~sim.truth.vacancy)
    with open(folder / INPUT_NAMES["csv"], "w", encoding="utf-8") as fh:
        fh.write("x_px,y_px,element\n")
        for (x, y), element in zip(real.positions_A / 0.1, real.element):
            fh.write(f"{x:.4f},{y:.4f},{element}\n")
    for size in (1024, 4096) if big else (1024,):
        sim = simulate("graphene-si", size=size, pixel_size_A=0.1, dose=2e5, seed=1)
        np.save(folder / INPUT_NAMES[f"img{size}"], sim.image.astype(np.float32))


def refused_inputs(folder: Path) -> dict[str, Path]:
    """Inputs each verb refuses at its door (:mod:`atomgraph.cli.doors`): a CSV without coordinate columns, a text
    file named .png, an output folder that is not empty."""
    bad = {"columns": folder / "columns.csv", "text": folder / "text.png", "taken": folder / "taken"}
    bad["columns"].write_text("a,b\n1,2\n", encoding="utf-8")
    bad["text"].write_text("not a picture\n", encoding="utf-8")
    bad["taken"].mkdir()
    (bad["taken"] / "keep.txt").write_text("mine\n", encoding="utf-8")
    return bad


def importtime_offenders(argv: list[str], workdir: Path, top: int) -> tuple[list[tuple[str, float]], list[str]]:
    """(top-level package, self ms summed) of ``-X importtime`` for a CLI call, and which HEAVY ones it imported."""
    code = "import sys; from atomgraph.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "TMPDIR": tempfile.mkdtemp(prefix="tmpdir-", dir=workdir)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], capture_output=True, text=True,
                          cwd=workdir, env=env)
    per_package: dict[str, float] = {}
    names = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.split(":", 1)[1].split("|")
        name = name.strip()
        names.add(name)
        package = name.split(".")[0]
        per_package[package] = per_package.get(package, 0.0) + int(self_us) / 1000.0
    ranked = sorted(per_package.items(), key=lambda kv: -kv[1])[:top]
    return ranked, [m for m in HEAVY if m in names]


IN_PROCESS = """
import statistics, sys, time
import numpy as np
from atomgraph import analyze
image = np.load(sys.argv[1])
analyze(image, model="graphene-si", pixel_size_A=0.1)
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    analyze(image, model="graphene-si", pixel_size_A=0.1)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def in_process_analyze(path: Path, repeats: int) -> float:
    """Median seconds of ``atomgraph.analyze`` of a frame (no file I/O) in one process, after one warm-up call."""
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, str(path), str(repeats)], capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--big", action="store_true", help="also the 4096² analyze (slow)")
    parser.add_argument("--importtime", type=int, default=12, help="offenders listed per verb (default 12)")
    parser.add_argument("--make-inputs", metavar="DIR", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_inputs:
        make_inputs(Path(args.make_inputs), args.big)
        return

    work = Path(tempfile.mkdtemp(prefix="atomgraph-startup-"))
    try:
        # the inputs are simulated in a child process: this one stays small, since a forked child's peak RSS
        # counts the parent's pages until it execs
        subprocess.run([sys.executable, __file__, "--make-inputs", str(work), *(["--big"] if args.big else [])],
                       check=True)
        inputs = {key: work / name for key, name in INPUT_NAMES.items() if (work / name).is_file()}
        inputs["n_atoms"] = sum(1 for _ in open(inputs["csv"], encoding="utf-8")) - 1
        bad = refused_inputs(work)
        ag = atomgraph_command()
        calls = {
            'python -c "import torch"': [sys.executable, "-c", "import torch"],
            "atomgraph --help": [*ag, "--help"],
            "atomgraph models": [*ag, "models"],
            "bad input: classify missing.csv": [*ag, "classify", "missing.csv", "-o", "out.csv"],
            "bad input: analyze missing.npy": [*ag, "analyze", "missing.npy", "--model", "graphene-si",
                                               "-o", "out"],
            "bad input: classify CSV without coordinate columns": [*ag, "classify", str(bad["columns"]), "-o",
                                                                   "out.csv"],
            "bad input: analyze a text file": [*ag, "analyze", str(bad["text"]), "--pixel-size", "0.1", "-o", "out"],
            "bad input: analyze into a full folder, no --force": [*ag, "analyze", str(inputs["img1024"]),
                                                                  "--pixel-size", "0.1", "-o", str(bad["taken"])],
            f"classify {inputs['n_atoms']}-atom CSV": [*ag, "classify", str(inputs["csv"]), "--model",
                                                       "graphene-si", "--pixel-size", "0.1", "-o", "graph.csv",
                                                       "--force"],
            "analyze 1024²": [*ag, "analyze", str(inputs["img1024"]), "--model", "graphene-si", "--pixel-size",
                              "0.1", "-o", "out1024", "--force"],
        }
        if args.big:
            calls["analyze 4096²"] = [*ag, "analyze", str(inputs["img4096"]), "--model", "graphene-si",
                                      "--pixel-size", "0.1", "-o", "out4096", "--force"]
        results: dict[str, list[tuple[float, float, int, list[str]]]] = {name: [] for name in calls}
        for _ in range(args.repeats):
            for name, argv in calls.items():
                results[name].append(run_once(argv, work))
        load = os.getloadavg()
        base = statistics.median(r[0] for r in results['python -c "import torch"'])
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f}, "
              f"{args.repeats} rounds, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
        print("| call | median wall s | best s | × import torch | peak RSS MiB | exit | temp files left |")
        print("|---|---|---|---|---|---|---|")
        for name, rows in results.items():
            walls = [r[0] for r in rows]
            left = sorted({f for r in rows for f in r[3]})
            median = statistics.median(walls)
            shown = ", ".join(left[:3]) + (" …" if len(left) > 3 else "") if left else "none"
            codes = " ".join(str(c) for c in sorted({r[2] for r in rows}))
            print(f"| {name} | {median:.2f} | {min(walls):.2f} | {median / base:.2f} | {max(r[1] for r in rows):.0f} "
                  f"| {codes} | {shown} |")
        if args.big:
            inside = in_process_analyze(inputs["img4096"], max(1, args.repeats // 2))
            cli = statistics.median(r[0] for r in results["analyze 4096²"])
            print(f"\n4096² analyze: command {cli:.2f} s, in process (warm, no file I/O) {inside:.2f} s, "
                  f"difference {cli - inside:.2f} s")
        for label, argv in (("classify", calls[f"classify {inputs['n_atoms']}-atom CSV"][len(ag):]),
                            ("analyze 1024²", calls["analyze 1024²"][len(ag):])):
            ranked, heavy = importtime_offenders(argv, work, args.importtime)
            print(f"\n-X importtime, {label}: self time per top-level package (ms): "
                  + ", ".join(f"{name} {ms:.0f}" for name, ms in ranked))
            print(f"  imported: {', '.join(heavy)}; not imported: {', '.join(m for m in HEAVY if m not in heavy)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
