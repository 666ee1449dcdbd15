"""Throw every bad input of issues 7 and 23 at the ``atomgraph`` CLI and print a markdown table: input -> message ->
exit code (with ``--subprocess``, also each run's peak memory).

Each case builds its input in a fresh temporary folder, runs ``atomgraph.cli.main`` (or, with ``--subprocess``, the
installed ``atomgraph`` command), and records the exit code, the stderr line and whether anything was written next
to the input. A case *fails* when the exit code is not the expected one, the message is not one line, a traceback is
printed, or a failed run left a file behind.

    /work/venv/bin/python benchmarks/bad_inputs.py            # in-process (fast)
    /work/venv/bin/python benchmarks/bad_inputs.py --subprocess   # + peak memory (MB) of each run

The issue-23 cases (bombs, absurd parameters, tampered weights, a held output, leftovers of a killed run) are built
with the makers of ``benchmarks/fault_makers.py``, which ``tests/test_faults.py`` uses too.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_makers as fm  # noqa: E402

MODEL = "graphene-si"
_HOLDERS: list = []  # processes holding an output's lock during a case; killed after it


# ------------------------------------------------------------------------------------------------------ input makers
def _image(d: Path, name: str = "img.npy", shape=(64, 64), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path = d / name
    np.save(path, rng.random(shape).astype(np.float32))
    return path


def _npy(d: Path, name: str, arr) -> Path:
    path = d / name
    np.save(path, np.asarray(arr))
    return path


def _bytes(d: Path, name: str, data: bytes) -> Path:
    path = d / name
    path.write_bytes(data)
    return path


def _text(d: Path, name: str, text: str) -> Path:
    path = d / name
    path.write_text(text, encoding="utf-8")
    return path


def _huge_npy_header(d: Path) -> Path:
    """A valid .npy header announcing 10^6 x 10^6 float32 pixels, followed by a few bytes: must be refused before
    anything is allocated."""
    path = d / "huge.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (1_000_000, 1_000_000)})
        handle.write(b"\0" * 64)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _huge_png(d: Path) -> Path:
    """A PNG whose header claims 100000 x 100000 pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 100)) \
        + _png_chunk(b"IEND", b"")
    return _bytes(d, "bomb.png", data)


def _truncated(d: Path, suffix: str) -> Path:
    path = d / f"full{suffix}"
    arr = (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)
    if suffix == ".npy":
        np.save(path, arr.astype(np.float32))
    else:
        import tifffile
        from PIL import Image

        if suffix == ".tif":
            tifffile.imwrite(path, arr)
        else:
            Image.fromarray(arr).save(path)
    data = path.read_bytes()
    path.unlink()
    return _bytes(d, f"truncated{suffix}", data[: len(data) // 2])


def _csv(d: Path, name: str, header: str, rows: list[str]) -> Path:
    return _text(d, name, "\n".join([header, *rows]) + "\n")


def _lattice_rows(n_side: int = 6, element: str = "C") -> list[str]:
    """A small graphene patch as x_A,y_A,element rows."""
    from ase.build import graphene

    atoms = graphene(a=2.46, vacuum=None).repeat((n_side, n_side, 1))
    return [f"{x:.4f},{y:.4f},{element}" for x, y, _ in atoms.positions]


def _million_atoms(d: Path) -> Path:
    path = d / "million.csv"
    n = 1_000_001
    xs = np.arange(n) % 1000 * 1.42
    ys = np.arange(n) // 1000 * 1.42
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x_A,y_A\n")
        handle.write("\n".join(f"{x:.2f},{y:.2f}" for x, y in zip(xs, ys)))
        handle.write("\n")
    return path


def _config(d: Path, name: str, replace: tuple[str, str] | None = None, append: str = "") -> Path:
    """The bundled graphene-si config with one line replaced or appended."""
    from atomgraph.config import BUILTIN_MATERIALS

    src = Path(__file__).resolve().parents[1] / "configs" / BUILTIN_MATERIALS["graphene-si"]
    text = src.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text, replace[0]
        text = text.replace(replace[0], replace[1], 1)
    return _text(d, name, text + append)


def _unreadable(d: Path) -> Path:
    """A file that cannot be opened: mode 000, or (root reads any mode) a Unix socket named like an image."""
    if os.geteuid() != 0:
        path = _image(d, "locked.npy")
        path.chmod(0)
        return path
    import socket

    path = d / "socket.npy"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    _KEEP.append(sock)
    return path


_KEEP: list = []  # sockets stay bound while the case runs


# ------------------------------------------------------------------------------------------------------------ cases
# (input tried, builder(tmp) -> argv (outputs go to tmp / "out*"), expected exit code)
def _out(d: Path, name: str = "out.csv") -> str:
    return str(d / name)


def _locate(path, *extra):
    return lambda d: ["locate", str(path(d)), "--model", MODEL, "-o", _out(d), *extra]


def _locate_px(path):
    return _locate(path, "--pixel-size", "0.1")


def _analyze(path, *extra):
    return lambda d: ["analyze", str(path(d)), "--model", MODEL, "--pixel-size", "0.1", "-o", _out(d, "outdir"),
                      *extra]


def _classify(path, *extra):
    return lambda d: ["classify", str(path(d)), "--model", MODEL, "-o", _out(d, "graph.json"), *extra]


CASES: list[tuple[str, object, int]] = [
    # --- image files
    ("locate: missing file", _locate_px(lambda d: d / "nope.npy"), 2),
    ("locate: unreadable file (mode 000; as root, a socket)", _locate_px(_unreadable), 2),
    ("locate: a folder instead of an image", _locate_px(lambda d: d), 2),
    ("locate: empty .npy", _locate_px(lambda d: _bytes(d, "empty.npy", b"")), 2),
    ("locate: empty .png", _locate_px(lambda d: _bytes(d, "empty.png", b"")), 2),
    ("locate: wrong extension (.txt)", _locate_px(lambda d: _text(d, "img.txt", "1 2\n3 4\n")), 2),
    ("locate: truncated .npy", _locate_px(lambda d: _truncated(d, ".npy")), 2),
    ("locate: truncated .tif", _locate_px(lambda d: _truncated(d, ".tif")), 2),
    ("locate: truncated .png", _locate_px(lambda d: _truncated(d, ".png")), 2),
    ("locate: random bytes as .tif", _locate_px(lambda d: _bytes(d, "noise.tif", os.urandom(4096))), 2),
    ("locate: text posing as .png", _locate_px(lambda d: _text(d, "fake.png", "this is not an image\n" * 20)), 2),
    ("locate: text posing as .npy", _locate_px(lambda d: _text(d, "fake.npy", "1,2,3\n4,5,6\n")), 2),
    ("locate: pickled object array .npy", _locate_px(lambda d: _pickled_npy(d)), 2),
    ("locate: 1D array", _locate_px(lambda d: _npy(d, "line.npy", np.arange(100.0))), 2),
    ("locate: 3D stack (locate takes one image)", _locate_px(lambda d: _image(d, "stack.npy", (3, 64, 64))), 2),
    ("analyze: 4D array", _analyze(lambda d: _image(d, "4d.npy", (2, 2, 64, 64))), 2),
    ("locate: NaN pixels", _locate_px(lambda d: _npy(d, "nan.npy", np.where(np.eye(64), np.nan, 1.0))), 2),
    ("locate: inf pixels", _locate_px(lambda d: _npy(d, "inf.npy", np.where(np.eye(64), np.inf, 1.0))), 2),
    ("locate: constant image", _locate_px(lambda d: _npy(d, "flat.npy", np.ones((64, 64)))), 2),
    ("locate: 8x8 image (below the minimum size)", _locate_px(lambda d: _image(d, "tiny.npy", (8, 8))), 2),
    ("locate: 20x20 px at 0.01 Å/px (field of view 0.2 Å)",
     _locate(lambda d: _image(d, "small.npy", (20, 20)), "--pixel-size", "0.01"), 2),
    ("locate: .npy header claiming 10^6 x 10^6 px", _locate_px(_huge_npy_header), 2),
    ("locate: PNG header claiming 100000 x 100000 px", _locate_px(_huge_png), 2),
    ("locate: complex-valued .npy", _locate_px(lambda d: _npy(d, "complex.npy", np.ones((64, 64)) * 1j)), 2),
    ("locate: string .npy", _locate_px(lambda d: _npy(d, "str.npy", np.full((64, 64), "a"))), 2),
    # --- pixel size
    ("locate: no pixel size (uncalibrated .npy)", _locate(lambda d: _image(d)), 2),
    ("analyze: no pixel size (uncalibrated .npy)",
     lambda d: ["analyze", str(_image(d)), "--model", MODEL, "-o", _out(d, "outdir")], 2),
    ("locate: --pixel-size 0", _locate(lambda d: _image(d), "--pixel-size", "0"), 2),
    ("locate: --pixel-size -0.1", _locate(lambda d: _image(d), "--pixel-size=-0.1"), 2),
    ("locate: --pixel-size nan", _locate(lambda d: _image(d), "--pixel-size", "nan"), 2),
    ("locate: --pixel-size abc", _locate(lambda d: _image(d), "--pixel-size", "abc"), 2),
    ("locate: --pixel-size 1e9 (absurd)", _locate(lambda d: _image(d), "--pixel-size", "1e9"), 2),
    ("analyze: --pixel-size 1e4 (absurd)",
     lambda d: ["analyze", str(_image(d)), "--pixel-size", "1e4", "-o", _out(d, "outdir")], 2),
    ("classify: x_px,y_px CSV without --pixel-size",
     _classify(lambda d: _csv(d, "px.csv", "x_px,y_px", ["1,2", "3,4", "5,6"])), 2),
    # --- coordinate files
    ("classify: missing file", _classify(lambda d: d / "nope.csv"), 2),
    ("classify: empty CSV", _classify(lambda d: _bytes(d, "empty.csv", b"")), 2),
    ("classify: wrong extension (.docx)", _classify(lambda d: _text(d, "atoms.docx", "x_A,y_A\n1,2\n")), 2),
    ("classify: CSV without position columns", _classify(lambda d: _csv(d, "cols.csv", "a,b", ["1,2"])), 2),
    ("classify: misspelled column (x_pos)",
     _classify(lambda d: _csv(d, "typo.csv", "x_pos,y_A", ["1,2", "3,4"])), 2),
    ("classify: non-numeric value", _classify(lambda d: _csv(d, "text.csv", "x_A,y_A", ["1,2", "abc,4"])), 2),
    ("classify: NaN coordinate", _classify(lambda d: _csv(d, "nan.csv", "x_A,y_A", ["1,2", "nan,4"])), 2),
    ("classify: duplicate points", _classify(lambda d: _csv(d, "dup.csv", "x_A,y_A", ["1,2", "5,6", "1,2"])), 2),
    ("classify: header only (no atoms)", _classify(lambda d: _csv(d, "none.csv", "x_A,y_A,element", [])), 2),
    ("classify: a single atom", _classify(lambda d: _csv(d, "one.csv", "x_A,y_A,element", ["1,2,C"])), 0),
    ("classify: 10^6 + 1 atoms", _classify(_million_atoms), 2),
    ("classify: unknown element symbol (Xx)",
     _classify(lambda d: _csv(d, "xx.csv", "x_A,y_A,element", _lattice_rows()[:-1] + ["0,0,Xx"])), 2),
    ("classify: element the model does not know (U in graphene)",
     _classify(lambda d: _csv(d, "u.csv", "x_A,y_A,element", _lattice_rows()[:-1] + [
         _lattice_rows()[-1].rsplit(",", 1)[0] + ",U"])), 2),
    ("classify: no element column (positions only)",
     _classify(lambda d: _csv(d, "xy.csv", "x_A,y_A", [r.rsplit(",", 1)[0] for r in _lattice_rows()])), 0),
    ("classify: positions in nm given as x_A,y_A",
     _classify(lambda d: _csv(d, "nm.csv", "x_A,y_A", [",".join(f"{float(v) / 10:.5f}" for v in r.split(",")[:2])
                                                       for r in _lattice_rows()])), 2),
    ("classify: a coordinate of 1e300 Å", _classify(lambda d: _csv(d, "far.csv", "x_A,y_A", ["0,0", "1e300,0"])), 2),
    ("classify: text posing as .xyz", _classify(lambda d: _text(d, "bad.xyz", "hello\nworld\n")), 2),
    ("evaluate: misspelled truth column",
     lambda d: ["evaluate", str(_csv(d, "p.csv", "x_A,y_A", ["1,2"])), str(_csv(d, "t.csv", "x_a,yA", ["1,2"]))], 2),
    # --- models
    ("locate: unknown model name", _locate(lambda d: _image(d), "--pixel-size", "0.1", "--model", "graphite"), 2),
    ("classify: unknown model name",
     _classify(lambda d: _csv(d, "ok.csv", "x_A,y_A,element", _lattice_rows()), "--model", "mos3"), 2),
    ("analyze: unknown model name", _analyze(lambda d: _image(d), "--model", "nope"), 2),
    ("locate: corrupt .safetensors model",
     lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1", "-o", _out(d), "--model",
                str(_bytes(d, "bad.safetensors", b"\x10\0\0\0\0\0\0\0{not json}......"))], 2),
    ("classify: pickle posing as .safetensors model",
     lambda d: ["classify", str(_csv(d, "ok.csv", "x_A,y_A,element", _lattice_rows())), "-o", _out(d, "g.json"),
                "--model", str(_pickle_weights(d))], 2),
    # --- configs
    ("simulate: config with an unknown key",
     lambda d: ["simulate", str(_config(d, "typo.yaml", append="\nnoise_levle: 3\n")), "--size", "64",
                "-o", _out(d, "sim")], 2),
    ("simulate: config with a wrong type", lambda d: ["simulate", str(_config(
        d, "type.yaml", ("a_A: 2.46", "a_A: two")) ), "--size", "64", "-o", _out(d, "sim")], 2),
    ("simulate: config that is not YAML",
     lambda d: ["simulate", str(_text(d, "bad.yaml", "a: [1, 2\nb: {")), "-o", _out(d, "sim")], 2),
    ("simulate: YAML with a python tag (unsafe)",
     lambda d: ["simulate", str(_text(d, "evil.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n")),
                "-o", _out(d, "sim")], 2),
    ("simulate: config whose name is a path (name: ../../escaped)",
     lambda d: ["simulate", str(_config(d, "escape.yaml", ("name: graphene-si", "name: ../../escaped"))), "--size",
                "64", "-o", _out(d, "sim")], 2),
    ("simulate: unknown material name", lambda d: ["simulate", "graphyne", "-o", _out(d, "sim")], 2),
    ("train: config with an unknown key",
     lambda d: ["train", "classifier", "--config", str(_config(d, "typo.yaml", append="\nepochz: 3\n")),
                "-o", _out(d, "w.safetensors")], 2),
    ("train: config with a wrong type",
     lambda d: ["train", "locator", "--config", str(_config(d, "type.yaml", ("a_A: 2.46", "a_A: [1, 2, 3]"))),
                "-o", _out(d, "w.safetensors")], 2),
    ("train: missing config file",
     lambda d: ["train", "locator", "--config", str(d / "nope.yaml"), "-o", _out(d, "w.safetensors")], 2),
    ("simulate: --size 10^6 (absurd)", lambda d: ["simulate", "graphene-si", "--size", "1000000", "-o",
                                                  _out(d, "sim")], 2),
    ("simulate: --size 0", lambda d: ["simulate", "graphene-si", "--size", "0", "-o", _out(d, "sim")], 2),
    # --- outputs
    ("locate: output exists, no --force", lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1", "-o",
                                                     str(_text(d, "taken.csv", "keep me\n"))], 2),
    ("classify: output exists, no --force",
     lambda d: ["classify", str(_csv(d, "ok.csv", "x_A,y_A,element", _lattice_rows())), "-o",
                str(_text(d, "taken.json", "keep me\n"))], 2),
    ("analyze: output folder not empty, no --force",
     lambda d: ["analyze", str(_image(d)), "--pixel-size", "0.1", "-o", str(_nonempty_dir(d))], 2),
    ("simulate: output folder not empty, no --force",
     lambda d: ["simulate", "graphene-si", "--size", "64", "-o", str(_nonempty_dir(d))], 2),
    ("train: output exists, no --force",
     lambda d: ["train", "classifier", "--config", "graphene-si", "-o", str(_text(d, "w.safetensors", "x"))], 2),
    ("locate: output folder missing", lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1", "-o",
                                                 str(d / "no" / "such" / "atoms.csv")], 2),
    ("analyze: output parent folder missing",
     lambda d: ["analyze", str(_image(d)), "--pixel-size", "0.1", "-o", str(d / "no" / "such" / "out")], 2),
    ("classify: -o graph.csv where graph_edges.csv exists, no --force",
     lambda d: ["classify", str(_csv(d, "ok.csv", "x_A,y_A,element", _lattice_rows())), "-o", str(d / "graph.csv"),
                "--model", str(_text(d, "graph_edges.csv", "keep me\n") and MODEL)], 2),
    ("classify: unknown output format (.docx)",
     lambda d: ["classify", str(_csv(d, "ok.csv", "x_A,y_A,element", _lattice_rows())), "-o",
                str(d / "graph.docx")], 2),
    # --- issue 23: bombs, absurd parameters, tampered weights, places, concurrent writers, leftovers
    ("analyze: 270 kB zlib TIFF declaring 16000x16000 px",
     lambda d: ["analyze", str(fm.tiff_bomb(d)), "--model", MODEL, "--pixel-size", "0.1", "-o", _out(d, "o")], 2),
    ("simulate: --pixel-size 100 (field of view 5 µm)",
     lambda d: ["simulate", "graphene-si", "--pixel-size", "100", "-o", _out(d, "sim")], 2),
    ("simulate: --pixel-size 1e9", lambda d: ["simulate", "graphene-si", "--pixel-size", "1e9", "-o", _out(d, "s")], 2),
    ("simulate: --dose 1e30", lambda d: ["simulate", "graphene-si", "--dose", "1e30", "-o", _out(d, "sim")], 2),
    ("locate: tampered locator weights (sha256 differs from the card)",
     lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1", "-o", _out(d), "--model",
                str(fm.tampered_weights(d))], 2),
    ("locate: locator card with absurd widths (10^7 channels)",
     lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1", "-o", _out(d), "--model",
                str(fm.absurd_locator_card(d))], 2),
    ("simulate: output held by another running atomgraph",
     lambda d: ["simulate", "graphene-si", "--size", "64", "-o", _held(d / "sim")], 2),
    ("simulate: output whose last writer was killed (stale lock, leftover temp folder)",
     lambda d: ["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "-o", _stale(d / "sim")], 0),
    ("discover: one unreadable file among good ones",
     lambda d: ["discover", *map(str, fm.small_frames(d / "in", 1, size=192)), str(_bytes(d, "bad.npy", b"x")),
                "--pixel-size", "0.1", "--quiet", "-o", _out(d, "disc")], 0),
    # --- usage
    ("unknown verb", lambda d: ["segment", "img.npy"], 2),
    ("locate: no -o", lambda d: ["locate", str(_image(d)), "--pixel-size", "0.1"], 2),
]


def _held(output: Path) -> str:
    """``output`` claimed by another live process (killed after the case)."""
    _HOLDERS.append(fm.holder_process(output))
    return str(output)


def _stale(output: Path) -> str:
    """``output`` whose claim-holder was killed with SIGKILL, leaving its lock file and a temporary folder."""
    holder = fm.holder_process(output)
    holder.kill()
    holder.wait()
    fm.leftover_of_killed_run(output)
    return str(output)


def _pickled_npy(d: Path) -> Path:
    path = d / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return path


def _pickle_weights(d: Path) -> Path:
    import pickle

    path = d / "evil.safetensors"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    return path


def _nonempty_dir(d: Path) -> Path:
    path = d / "taken"
    path.mkdir()
    (path / "keep.txt").write_text("keep me\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------------ runner
def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> content) to detect writes by a failed run."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and os.access(path, os.R_OK):
            out[str(path.relative_to(folder))] = path.read_bytes() if path.stat().st_size < 1 << 20 else b"big"
        elif path.is_file() or path.is_dir():
            out[str(path.relative_to(folder))] = b"dir" if path.is_dir() else b"?"
    return out


def run_case(build, folder: Path, use_subprocess: bool = False) -> tuple[int, str, list[str], float, float]:
    """Build the input in ``folder``, run the CLI; return (exit code, stderr, new or changed paths, seconds, peak
    resident memory of the run in MB: with ``use_subprocess`` only, else NaN)."""
    argv = build(folder)
    before = snapshot(folder)
    t0 = time.perf_counter()
    peak_mb = float("nan")
    if use_subprocess:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile("w+") as err_file:
            proc = subprocess.Popen(fm.atomgraph_command() + argv, stdout=out, stderr=err_file, cwd=folder)
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (ru_maxrss in kB on Linux)
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            peak_mb = usage.ru_maxrss / 1024
            err_file.seek(0)
            err = err_file.read()
    else:
        from atomgraph.cli import main

        err_buf, out_buf = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err_buf), contextlib.redirect_stdout(out_buf):
            code = main(argv)
        err = err_buf.getvalue()
    seconds = time.perf_counter() - t0
    while _HOLDERS:
        holder = _HOLDERS.pop()
        holder.kill()
        holder.wait()
    after = snapshot(folder)
    changed = sorted(k for k in after if before.get(k) != after[k])
    return code, err, changed, seconds, peak_mb


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ⏎ ").strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subprocess", action="store_true", help="run the installed `atomgraph` command")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    rows, failures = [], 0
    for name, build, expected in CASES:
        if args.k not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            try:
                code, err, changed, seconds, peak_mb = run_case(build, folder, args.subprocess)
            finally:
                for path in folder.rglob("*"):
                    with contextlib.suppress(OSError):
                        path.chmod(0o700)
        # tqdm and log lines aside, the error is the line starting with "atomgraph:"
        lines = [line for line in err.splitlines() if line.strip()]
        message = next((line for line in lines if line.startswith("atomgraph:")), lines[-1] if lines else "")
        tmp_prefix = str(folder)
        message = message.replace(tmp_prefix + os.sep, "").replace(tmp_prefix, ".")
        problems = []
        if code != expected:
            problems.append(f"exit {code}, expected {expected}")
        if "Traceback" in err:
            problems.append("traceback")
        if code != 0 and changed:
            problems.append(f"left {', '.join(changed)}")
        if code != 0 and len([line for line in lines if line.startswith("atomgraph:")]) != 1:
            problems.append("not one error line")
        if code != 0 and peak_mb > 1024:
            problems.append(f"peak {peak_mb:.0f} MB > 1 GB")
        failures += bool(problems)
        shown = message if code != 0 else "(ok) " + ("; ".join(problems) or "valid result written")
        memory = f" {peak_mb:.0f} |" if args.subprocess else ""
        rows.append(f"| {_cell(name)} | {_cell(shown)} | {code} |{memory}" + (
            f" **{'; '.join(problems)}**" if problems else "") + f" <!-- {seconds:.2f}s -->")
    print("| input tried | message (stderr) | exit code |" + (" peak MB |" if args.subprocess else ""))
    print("| --- | --- | ---: |" + (" ---: |" if args.subprocess else ""))
    for row in rows:
        print(row.split(" <!--")[0])
    print(f"\n{len(rows)} cases, {failures} not as expected", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
