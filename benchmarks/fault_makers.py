"""Inputs and situations of the fault-injection pass (issue 23), shared by ``tests/test_faults.py`` and
``benchmarks/bad_inputs.py`` (one copy of each maker).

Every maker builds in the folder it is given and returns what the test or benchmark needs (a path, a process).
Units: sizes in px, pixel sizes in Å/px, times in s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

MODEL = "graphene-si"
PX = 0.1


def tiff_bomb(d: Path, side: int = 16000) -> Path:
    """A small zlib TIFF (about 270 kB for 16000²) whose header declares ``side`` x ``side`` uint8 pixels: must be
    refused from the header, before anything is decoded."""
    import tifffile

    path = d / "bomb.tif"
    tile = np.zeros((1024, 1024), np.uint8)
    n = -(-side // 1024)
    tifffile.imwrite(path, (tile for _ in range(n * n)), shape=(side, side), dtype=np.uint8, compression="zlib",
                     tile=(1024, 1024))
    return path


def copied_model(d: Path, kind: str = "locator", model: str = MODEL) -> Path:
    """A copy of a bundled ``kind`` model (weights + card) in ``d``; returns the weights path."""
    from atomgraph.models.paths import weights_path

    src = weights_path(kind, model)
    dst = d / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def tampered_weights(d: Path, kind: str = "locator") -> Path:
    """A copy of a bundled model whose weights differ by one byte from what their card's sha256 records."""
    path = copied_model(d, kind)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # a bit of the last tensor's data: the file still parses
    path.write_bytes(bytes(data))
    return path


def absurd_locator_card(d: Path) -> Path:
    """A copy of the bundled locator whose card asks for 10^7 channels per level."""
    path = copied_model(d, "locator")
    card = path.with_suffix(".json")
    info = json.loads(card.read_text(encoding="utf-8"))
    info["architecture"]["widths"] = [10_000_000] * 3
    card.write_text(json.dumps(info), encoding="utf-8")
    return path


def small_frames(d: Path, n: int, size: int = 160, seed: int = 0) -> list[Path]:
    """``n`` simulated graphene-Si frames (``size``² px at 0.1 Å/px) as .npy files ``frame_000.npy``, ...; the
    default defects include Si4 (divacancy) sites, so some frames get vacancy nodes and some do not: the mix that
    made one batch part's ``p_*`` columns float64 and another's float32."""
    from atomgraph import simulate

    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        sim = simulate(MODEL, size=size, pixel_size_A=PX, dose=1e5, seed=seed + k)
        paths.append(d / f"frame_{k:03d}.npy")
        np.save(paths[-1], sim.image)
    return paths


def npy_bytes(image: np.ndarray) -> bytes:
    """The bytes of ``image`` saved as .npy."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, image)
    return buffer.getvalue()


def slow_writer(path: Path, data: bytes, pause_s: float = 1.5, first: float = 0.5) -> threading.Thread:
    """Start a thread that writes ``first`` of ``data`` to ``path``, pauses ``pause_s`` (a microscope stalling
    mid-file), then writes the rest. Returns the started thread."""

    def write() -> None:
        cut = int(len(data) * first)
        with open(path, "wb") as handle:
            handle.write(data[:cut])
            handle.flush()
            time.sleep(pause_s)
            handle.write(data[cut:])

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def holder_process(output: Path) -> subprocess.Popen:
    """Another process that claims ``output`` (atomgraph's writer lock) and sleeps; returns once the claim is
    held. Kill it to leave a stale lock behind."""
    code = ("import sys, time\nfrom atomgraph.io.output_lock import claim_output\n"
            "with claim_output(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(output)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def leftover_of_killed_run(output: Path) -> Path:
    """The hidden temporary folder a run killed while building ``output`` leaves beside it
    (``.NAME.XXXXXXXX``, as :class:`atomgraph.io.safe_write.OutputFolder` names it), with a file in it."""
    path = output.parent / f".{output.name}.k1lled00"
    path.mkdir()
    (path / "atoms.csv").write_text("id\n", encoding="utf-8")
    return path


def atomgraph_command() -> list[str]:
    """The installed ``atomgraph`` command beside this Python, else ``python -m atomgraph.cli``."""
    exe = Path(sys.executable).with_name("atomgraph")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "atomgraph.cli"]


def committed_frames(output: Path) -> int:
    """Frames rows already committed to a batch folder's ``frames.parquet`` (0 when none)."""
    import pyarrow.parquet as pq

    folder = output / "frames.parquet"
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)


def batch_killed_and_rerun(frames: list[Path], output: Path, kill_after_frames: int = 1, workers: int = 1,
                           timeout_s: float = 300.0, env: dict | None = None) -> dict:
    """Run ``atomgraph batch`` on ``frames`` into ``output``, send it SIGTERM once at least ``kill_after_frames``
    frames are committed, then rerun it to the end. Returns the exit codes, frames committed at the kill and after
    it (flushed on the signal), the rerun's "analyzed/skipped" line and the frames table's (source, frame) pairs
    with their counts."""
    import pyarrow.parquet as pq

    cmd = atomgraph_command() + ["batch", *map(str, frames), "--model", MODEL, "--pixel-size", str(PX), "-o",
                                 str(output), "--workers", str(workers), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    t0 = time.monotonic()
    while committed_frames(output) < kill_after_frames and proc.poll() is None:
        if time.monotonic() - t0 > timeout_s:
            proc.kill()
            raise TimeoutError("batch committed no frame in time")
        time.sleep(0.05)
    at_kill = committed_frames(output)
    proc.terminate()
    _, first_err = proc.communicate(timeout=timeout_s)
    after_kill = committed_frames(output)
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
    table = pq.read_table(output / "frames.parquet").to_pydict()
    pairs: dict[tuple[str, int], int] = {}
    for source, frame in zip(table["source"], table["frame"]):
        pairs[(source, frame)] = pairs.get((source, frame), 0) + 1
    return {"first_code": proc.returncode, "first_stderr": first_err, "at_kill": at_kill, "after_kill": after_kill,
            "rerun_code": rerun.returncode, "rerun_stdout": rerun.stdout, "rerun_stderr": rerun.stderr,
            "rows": pairs, "statuses": table["status"]}
