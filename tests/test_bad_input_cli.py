"""Every bad input of issue 7 through the CLI: one line on stderr naming the file and what is wrong, exit code 2,
no traceback, nothing written. A few cases also run as a real ``atomgraph`` subprocess.

Decisions recorded here (and in benchmarks/README.md):
- a single atom is a valid input for ``classify``: one node, labeled by the model (exit 0);
- an element the model has no input for (U in a graphene file) is an error naming the element and the model's
  species; a file without an ``element`` column is classified from positions alone.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atomgraph.cli import main

MODEL = "graphene-si"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "graphene_si.yaml"


# ------------------------------------------------------------------------------------------------------- inputs
def write_npy(d: Path, name: str, arr) -> Path:
    np.save(d / name, np.asarray(arr))
    return d / name


def noise(d: Path, name: str = "img.npy", shape=(64, 64)) -> Path:
    return write_npy(d, name, np.random.default_rng(0).random(shape).astype(np.float32))


def write_bytes(d: Path, name: str, data: bytes) -> Path:
    (d / name).write_bytes(data)
    return d / name


def write_text(d: Path, name: str, text: str) -> Path:
    (d / name).write_text(text, encoding="utf-8")
    return d / name


def truncated(d: Path, suffix: str) -> Path:
    arr = (np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)
    full = d / f"full{suffix}"
    if suffix == ".npy":
        np.save(full, arr.astype(np.float32))
    elif suffix == ".tif":
        import tifffile

        tifffile.imwrite(full, arr)
    else:
        from PIL import Image

        Image.fromarray(arr).save(full)
    data = full.read_bytes()
    full.unlink()
    return write_bytes(d, f"cut{suffix}", data[: len(data) // 2])


def huge_npy(d: Path) -> Path:
    """A valid header announcing 10^6 x 10^6 float32 pixels (4 TB) and 64 bytes of data."""
    path = d / "huge.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (1_000_000, 1_000_000)})
        handle.write(b"\0" * 64)
    return path


def lattice_rows(element: str = "C") -> list[str]:
    from ase.build import graphene

    atoms = graphene(a=2.46, vacuum=None).repeat((6, 6, 1))
    return [f"{x:.4f},{y:.4f},{element}" for x, y, _ in atoms.positions]


def csv(d: Path, name: str, header: str, rows: list[str]) -> Path:
    return write_text(d, name, "\n".join([header, *rows]) + "\n")


def million_atoms(d: Path) -> Path:
    return write_text(d, "million.csv", "x_A,y_A\n" + "".join(f"{i % 1000 * 1.5},{i // 1000 * 1.5}\n"
                                                              for i in range(1_000_001)))


def config(d: Path, name: str, old: str | None = None, new: str = "", append: str = "") -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    if old is not None:
        assert old in text
        text = text.replace(old, new, 1)
    return write_text(d, name, text + append)


def taken_dir(d: Path) -> Path:
    (d / "taken").mkdir()
    (d / "taken" / "keep.txt").write_text("keep me\n")
    return d / "taken"


def loc(image, *extra, px: str | None = "0.1"):
    return lambda d: ["locate", str(image(d)), "--model", MODEL, "-o", str(d / "atoms.csv"),
                      *(["--pixel-size", px] if px else []), *extra]


def ana(image, *extra):
    return lambda d: ["analyze", str(image(d)), "--model", MODEL, "--pixel-size", "0.1", "-o", str(d / "out"),
                      *extra]


def cls(coords, *extra):
    return lambda d: ["classify", str(coords(d)), "--model", MODEL, "-o", str(d / "graph.json"), *extra]


# (id, argv builder, fragments the one-line message must contain (case-insensitive))
BAD = [
    ("missing-image", loc(lambda d: d / "nope.npy"), ["nope.npy", "not found"]),
    ("folder-as-image", loc(lambda d: d / "sub" if (d / "sub").mkdir() is None else None), ["sub", "folder"]),
    ("empty-npy", loc(lambda d: write_bytes(d, "e.npy", b"")), ["e.npy", "empty"]),
    ("empty-png", loc(lambda d: write_bytes(d, "e.png", b"")), ["e.png", "empty"]),
    ("wrong-extension", loc(lambda d: write_text(d, "img.txt", "1 2\n3 4\n")), ["img.txt", "extension"]),
    ("truncated-npy", loc(lambda d: truncated(d, ".npy")), ["cut.npy", "truncated"]),
    ("truncated-tif", loc(lambda d: truncated(d, ".tif")), ["cut.tif", "tiff"]),
    ("truncated-png", loc(lambda d: truncated(d, ".png")), ["cut.png", "truncated"]),
    ("random-bytes-tif", loc(lambda d: write_bytes(d, "r.tif", bytes(range(256)) * 8)), ["r.tif", "tiff"]),
    ("text-as-png", loc(lambda d: write_text(d, "t.png", "not an image\n" * 9)), ["t.png", "text"]),
    ("text-as-npy", loc(lambda d: write_text(d, "t.npy", "1,2\n3,4\n")), ["t.npy", "text"]),
    ("object-npy", loc(lambda d: _object_npy(d)), ["obj.npy", "object"]),
    ("1d-array", loc(lambda d: write_npy(d, "line.npy", np.arange(100.0))), ["line.npy", "1d", "2d"]),
    ("3d-stack-to-locate", loc(lambda d: noise(d, "stack.npy", (3, 64, 64))), ["stack.npy", "stack", "one 2d"]),
    ("4d-to-analyze", ana(lambda d: noise(d, "4d.npy", (2, 2, 64, 64))), ["4d.npy", "4d"]),
    ("nan-pixels", loc(lambda d: write_npy(d, "nan.npy", np.where(np.eye(64), np.nan, 1.0))), ["nan.npy", "nan"]),
    ("inf-pixels", loc(lambda d: write_npy(d, "inf.npy", np.where(np.eye(64), np.inf, 1.0))),
     ["inf.npy", "infinite"]),
    ("nan-pixels-analyze", ana(lambda d: write_npy(d, "nan.npy", np.where(np.eye(64), np.nan, 1.0))),
     ["nan.npy", "nan"]),
    ("constant-image", loc(lambda d: write_npy(d, "flat.npy", np.ones((64, 64)))), ["flat.npy", "constant"]),
    ("tiny-image", loc(lambda d: noise(d, "tiny.npy", (8, 8))), ["too small", "(8, 8)"]),
    ("smaller-than-field-of-view", loc(lambda d: noise(d, "s.npy", (20, 20)), px="0.01"), ["too small", "Å"]),
    ("absurd-size-header", loc(huge_npy), ["huge.npy", "too large"]),
    ("complex-pixels", loc(lambda d: write_npy(d, "c.npy", np.ones((64, 64)) * 1j)), ["c.npy", "complex"]),
    ("no-pixel-size-locate", loc(lambda d: noise(d), px=None), ["img.npy", "pixel size"]),
    ("no-pixel-size-analyze", lambda d: ["analyze", str(noise(d)), "-o", str(d / "out")], ["img.npy", "pixel size"]),
    ("pixel-size-zero", loc(lambda d: noise(d), px="0"), ["--pixel-size", "positive"]),
    ("pixel-size-negative", loc(lambda d: noise(d), px="-0.1"), ["--pixel-size", "positive"]),
    ("pixel-size-nan", loc(lambda d: noise(d), px="nan"), ["--pixel-size", "positive"]),
    ("pixel-size-text", loc(lambda d: noise(d), px="abc"), ["--pixel-size", "abc"]),
    ("pixel-size-absurd-locate", loc(lambda d: noise(d), px="1e9"), ["pixel size", "1e+09 Å/px"]),
    ("noise-no-lattice-locate", loc(lambda d: noise(d, shape=(256, 256))), ["img.npy", "no crystal lattice found"]),
    ("noise-no-lattice-analyze", lambda d: ["analyze", str(noise(d, shape=(256, 256))), "--pixel-size", "0.1", "-o",
                                            str(d / "out")], ["img.npy", "no crystal lattice found"]),
    ("noise-pixel-size-auto", lambda d: ["analyze", str(noise(d, shape=(256, 256))), "--pixel-size", "auto", "-o",
                                         str(d / "out")], ["img.npy", "no crystal lattice found"]),
    ("pixel-size-too-coarse", loc(lambda d: noise(d, shape=(256, 256)), px="2.5"),
     ["img.npy", "cannot be resolved", "Nyquist"]),
    ("pixel-size-absurd-analyze",
     lambda d: ["analyze", str(noise(d)), "--pixel-size", "1e4", "-o", str(d / "out")], ["pixel size", "crop"]),
    ("px-csv-without-pixel-size", cls(lambda d: csv(d, "px.csv", "x_px,y_px", ["1,2", "3,4"])),
     ["px.csv", "pixel-size"]),
    ("missing-coords", cls(lambda d: d / "nope.csv"), ["nope.csv", "not found"]),
    ("empty-csv", cls(lambda d: write_bytes(d, "e.csv", b"")), ["e.csv", "empty"]),
    ("coords-wrong-extension", cls(lambda d: write_text(d, "a.docx", "x_A,y_A\n1,2\n")), ["a.docx", "format"]),
    ("csv-missing-columns", cls(lambda d: csv(d, "cols.csv", "a,b", ["1,2"])), ["cols.csv", "x_a,y_a"]),
    ("csv-misspelled-column", cls(lambda d: csv(d, "typo.csv", "x_pos,y_A", ["1,2"])), ["typo.csv", "x_px"]),
    ("csv-non-numeric", cls(lambda d: csv(d, "t.csv", "x_A,y_A", ["1,2", "abc,4"])), ["t.csv", "line 3", "abc"]),
    ("csv-nan", cls(lambda d: csv(d, "n.csv", "x_A,y_A", ["1,2", "nan,4"])), ["n.csv", "finite"]),
    ("csv-duplicates", cls(lambda d: csv(d, "dup.csv", "x_A,y_A", ["1,2", "5,6", "1,2"])), ["dup.csv", "duplicate"]),
    ("csv-no-atoms", cls(lambda d: csv(d, "none.csv", "x_A,y_A,element", [])), ["none.csv", "no atoms"]),
    ("csv-million-atoms", cls(million_atoms), ["million.csv", "too many atoms"]),
    ("csv-unknown-symbol", cls(lambda d: csv(d, "xx.csv", "x_A,y_A,element", lattice_rows()[:-1] + ["0,9,Xx"])),
     ["xx.csv", "unknown element 'xx'"]),
    ("csv-element-unknown-to-model",
     cls(lambda d: csv(d, "u.csv", "x_A,y_A,element", lattice_rows()[:-1] + [lattice_rows("U")[-1]])),
     ["u.csv", "element u (1 atom)", "graphene-si", "c, si"]),
    ("csv-positions-in-nm", cls(lambda d: csv(d, "nm.csv", "x_A,y_A", [
        ",".join(f"{float(v) / 10:.5f}" for v in r.split(",")[:2]) for r in lattice_rows()])),
     ["nearest-neighbor", "not nm"]),
    ("text-as-xyz", cls(lambda d: write_text(d, "bad.xyz", "hello\nworld\n")), ["bad.xyz", "xyz"]),
    ("unknown-model-locate", loc(lambda d: noise(d), "--model", "graphite"), ["graphite", "bundled"]),
    ("unknown-model-classify", cls(lambda d: csv(d, "ok.csv", "x_A,y_A,element", lattice_rows()), "--model", "x"),
     ["unknown classifier model 'x'", "graphene-si"]),
    ("unknown-model-analyze", ana(lambda d: noise(d), "--model", "nope"), ["nope", "bundled"]),
    ("corrupt-weights", loc(lambda d: noise(d), "--model", "CORRUPT"), ["bad.safetensors", "weights"]),
    ("config-unknown-key", lambda d: ["simulate", str(config(d, "k.yaml", append="\nnoise_levle: 3\n")),
                                      "--size", "64", "-o", str(d / "sim")], ["k.yaml", "noise_levle"]),
    ("config-wrong-type", lambda d: ["simulate", str(config(d, "t.yaml", "a_A: 2.46", "a_A: two")),
                                     "--size", "64", "-o", str(d / "sim")], ["t.yaml", "lattice.a_a", "number"]),
    ("config-not-yaml", lambda d: ["simulate", str(write_text(d, "b.yaml", "a: [1, 2\nb: {")), "-o", str(d / "s")],
     ["b.yaml", "yaml"]),
    ("config-python-tag", lambda d: ["simulate", str(write_text(d, "evil.yaml", "name: !!python/object/apply:"
                                                                "os.system ['touch pwned']\n")), "-o", str(d / "s")],
     ["evil.yaml"]),
    ("config-name-is-a-path", lambda d: ["simulate", str(config(d, "esc.yaml", "name: graphene-si",
                                                                "name: ../../escaped")), "--size", "64",
                                         "-o", str(d / "a" / "sim") if (d / "a").mkdir() is None else ""],
     ["esc.yaml", "config key 'name'", "outside the output folder"]),
    ("train-config-unknown-key", lambda d: ["train", "classifier", "--config",
                                            str(config(d, "k.yaml", append="\nepochz: 3\n")),
                                            "-o", str(d / "w.safetensors")], ["k.yaml", "epochz"]),
    ("train-config-wrong-type", lambda d: ["train", "locator", "--config",
                                           str(config(d, "t.yaml", "a_A: 2.46", "a_A: [1, 2, 3]")),
                                           "-o", str(d / "w.safetensors")], ["t.yaml", "lattice.a_a"]),
    ("train-config-missing", lambda d: ["train", "locator", "--config", str(d / "nope.yaml"),
                                        "-o", str(d / "w.safetensors")], ["nope.yaml", "not found"]),
    ("unknown-material", lambda d: ["simulate", "graphyne", "-o", str(d / "sim")], ["graphyne", "graphene-si"]),
    ("simulate-absurd-size", lambda d: ["simulate", MODEL, "--size", "1000000", "-o", str(d / "sim")],
     ["size", "1000000"]),
    ("locate-output-exists", lambda d: ["locate", str(noise(d)), "--pixel-size", "0.1",
                                        "-o", str(write_text(d, "taken.csv", "keep me\n"))], ["taken.csv", "--force"]),
    ("classify-output-exists", lambda d: ["classify", str(csv(d, "ok.csv", "x_A,y_A,element", lattice_rows())),
                                          "-o", str(write_text(d, "taken.json", "keep\n"))], ["taken.json", "--force"]),
    ("classify-edges-file-exists", lambda d: ["classify", str(csv(d, "ok.csv", "x_A,y_A,element", lattice_rows())),
                                              "-o", str(d / "g.csv") if write_text(d, "g_edges.csv", "x") else ""],
     ["g_edges.csv", "--force"]),
    ("analyze-output-not-empty", lambda d: ["analyze", str(noise(d)), "--pixel-size", "0.1",
                                            "-o", str(taken_dir(d))], ["taken", "--force"]),
    ("simulate-output-not-empty", lambda d: ["simulate", MODEL, "--size", "64", "-o", str(taken_dir(d))],
     ["taken", "--force"]),
    ("train-output-exists", lambda d: ["train", "classifier", "--config", MODEL,
                                       "-o", str(write_text(d, "w.safetensors", "x"))], ["w.safetensors", "--force"]),
    ("locate-output-folder-missing", lambda d: ["locate", str(noise(d)), "--pixel-size", "0.1",
                                                "-o", str(d / "no" / "atoms.csv")], ["no", "does not exist"]),
    ("analyze-output-parent-missing", lambda d: ["analyze", str(noise(d)), "--pixel-size", "0.1",
                                                 "-o", str(d / "no" / "out")], ["no", "does not exist"]),
    ("classify-unknown-output-format", lambda d: ["classify", str(csv(d, "ok.csv", "x_A,y_A", ["1,2"])),
                                                  "-o", str(d / "g.docx")], ["g.docx", "format"]),
    ("unknown-verb", lambda d: ["segment", "x.npy"], ["invalid choice", "segment"]),
    ("missing-output-option", lambda d: ["locate", str(noise(d)), "--pixel-size", "0.1"], ["-o/--output"]),
]


def _object_npy(d: Path) -> Path:
    np.save(d / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return d / "obj.npy"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


def run_bad(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    return err


@pytest.mark.parametrize("case_id, build, fragments", BAD, ids=[c[0] for c in BAD])
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(case_id, build, fragments, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    if case_id == "corrupt-weights":
        write_bytes(work, "bad.safetensors", b"\x10\0\0\0\0\0\0\0{not json}......")
        build = loc(lambda d: noise(d), "--model", str(work / "bad.safetensors"))
    argv = build(work)
    before = snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("atomgraph: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
    assert snapshot(tmp_path) == before, "a failed run changed the folder"


def test_unreadable_file_is_a_clear_error(tmp_path, capsys):
    """Mode 000 (or, as root, who reads anything, a Unix socket named like an image: open() fails)."""
    if os.geteuid() != 0:
        path = noise(tmp_path, "locked.npy")
        path.chmod(0)
    else:
        path = tmp_path / "socket.npy"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
    try:
        err = run_bad(["locate", str(path), "--pixel-size", "0.1", "-o", str(tmp_path / "a.csv")], capsys)
    finally:
        if os.geteuid() == 0:
            sock.close()
    assert path.name in err and "cannot be read" in err
    assert not (tmp_path / "a.csv").exists()


def test_unreadable_file_permission_error_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """A PermissionError from open() (what a user without read access gets) is reported, not raised."""
    import builtins

    path = noise(tmp_path, "locked.npy")
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    err = run_bad(["locate", str(path), "--pixel-size", "0.1", "-o", str(tmp_path / "a.csv")], capsys)
    assert "locked.npy: cannot be read (Permission denied)" in err


def test_a_single_atom_is_classified_not_refused(tmp_path, capsys):
    """Decision: one atom is a valid (if uninformative) graph: one node, no edges, a label of the vocabulary."""
    import json

    out = tmp_path / "g.json"
    code = main(["classify", str(csv(tmp_path, "one.csv", "x_A,y_A,element", ["1,2,C"])), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert len(data["nodes"]) == 1 and data["nodes"][0]["label"] in ("C", "Si3", "Si4", "")
    assert data.get("links", data.get("edges")) == []


def test_positions_without_elements_are_classified_from_geometry(tmp_path, capsys):
    """The way out the unknown-element error suggests: drop the element column."""
    rows = [r.rsplit(",", 1)[0] for r in lattice_rows()]
    out = tmp_path / "g.csv"
    code = main(["classify", str(csv(tmp_path, "xy.csv", "x_A,y_A", rows)), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.is_file() and (tmp_path / "g_edges.csv").is_file()


def test_force_overwrites_an_existing_output(tmp_path, capsys):
    target = write_text(tmp_path, "atoms.csv", "old\n")
    assert main(["locate", str(noise(tmp_path)), "--pixel-size", "0.1", "-o", str(target), "--force",
                 "--no-lattice-check"]) == 0
    assert target.read_text().startswith("id,x_px,y_px")


def test_internal_error_is_one_line_exit_1_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug\nsecond line")

    monkeypatch.setattr(sys.modules["atomgraph.locate"], "locate", boom)
    argv = ["locate", str(noise(tmp_path)), "--pixel-size", "0.1", "-o", str(tmp_path / "a.csv"),
            "--no-lattice-check"]
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["atomgraph: internal error: RuntimeError: simulated bug (rerun with --debug for the traceback)"]
    assert not (tmp_path / "a.csv").exists()
    with pytest.raises(RuntimeError, match="simulated bug"):
        main(["--debug", *argv])


def test_debug_reraises_input_errors():
    from atomgraph.errors import AtomgraphInputError

    with pytest.raises(AtomgraphInputError, match="not found"):
        main(["--debug", "locate", "nope.npy", "--pixel-size", "0.1", "-o", "x.csv"])


# ------------------------------------------------------------------------------------------- real subprocesses
def _atomgraph() -> list[str]:
    exe = Path(sys.executable).with_name("atomgraph")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "atomgraph.cli"]


SUBPROCESS = [
    ("missing-image", lambda d: ["locate", str(d / "nope.npy"), "--pixel-size", "0.1", "-o", str(d / "a.csv")],
     "nope.npy: file not found"),
    ("nan-pixels", lambda d: ["analyze", str(write_npy(d, "nan.npy", np.full((32, 32), np.nan))),
                              "--pixel-size", "0.1", "-o", str(d / "out")], "nan.npy: has 1024 NaN pixels"),
    ("config-unknown-key", lambda d: ["simulate", str(config(d, "k.yaml", append="\nnoise_levle: 3\n")),
                                      "-o", str(d / "sim")], "unknown key 'noise_levle'"),
    ("unknown-model", lambda d: ["classify", str(csv(d, "ok.csv", "x_A,y_A", ["1,2"])), "--model", "mos3",
                                 "-o", str(d / "g.json")], "unknown classifier model 'mos3'"),
]


@pytest.mark.parametrize("case_id, build, message", SUBPROCESS, ids=[c[0] for c in SUBPROCESS])
def test_the_installed_command_exits_2_without_traceback(case_id, build, message, tmp_path):
    argv = build(tmp_path)
    before = snapshot(tmp_path)
    proc = subprocess.run(_atomgraph() + argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert snapshot(tmp_path) == before


def test_the_installed_command_with_debug_prints_the_traceback(tmp_path):
    proc = subprocess.run(_atomgraph() + ["--debug", "locate", "nope.npy", "--pixel-size", "0.1", "-o", "a.csv"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "AtomgraphInputError" in proc.stderr


@pytest.fixture(autouse=True)
def _no_leftover_sockets_or_modes(tmp_path):
    yield
    for path in tmp_path.rglob("*"):
        try:
            path.chmod(0o700)
        except OSError:
            pass
    shutil.rmtree(tmp_path / "work", ignore_errors=True)
