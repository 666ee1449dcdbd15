"""Everyday manners: outputs follow the umask, a closed pipe ends quietly, a stack given to a single-image command
names the command that takes stacks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from atomgraph.cli import main
from atomgraph.io.safe_write import apply_umask, atomic_output, atomic_path, current_umask


def _atomgraph() -> list[str]:
    exe = Path(sys.executable).with_name("atomgraph")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "atomgraph.cli"]


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_is_the_process_umask(umask):
    assert current_umask() == umask


def test_atomic_writers_follow_the_umask(tmp_path, umask):
    with atomic_output(tmp_path / "a.csv") as handle:
        handle.write("x\n")
    with atomic_path(tmp_path / "b.json") as tmp:
        tmp.write_text("{}")
    assert _mode(tmp_path / "a.csv") == 0o666 & ~umask
    assert _mode(tmp_path / "b.json") == 0o666 & ~umask
    folder = tmp_path / "f"
    folder.mkdir(mode=0o700)
    apply_umask(folder, folder=True)
    assert _mode(folder) == 0o777 & ~umask


def test_command_output_folder_and_files_follow_the_umask(tmp_path, umask, capsys):
    out = tmp_path / "sims"
    assert main(["simulate", "graphene-si", "--size", "32", "--pixel-size", "0.1", "--dose", "1e5", "-o",
                 str(out)]) == 0
    assert _mode(out) == 0o777 & ~umask
    for path in out.iterdir():
        assert _mode(path) == 0o666 & ~umask, path.name


def test_closed_pipe_ends_quietly_with_exit_0(tmp_path):
    """`atomgraph evaluate ... | head -1`: the reader is gone before the report is written."""
    truth = tmp_path / "t.csv"
    truth.write_text("x_A,y_A,element\n" + "".join(f"{i * 1.42},{i % 3},C\n" for i in range(20)))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(_atomgraph() + ["evaluate", str(truth), str(truth)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_locate_on_a_stack_names_the_command_that_takes_stacks(tmp_path, capsys):
    path = tmp_path / "movie.npy"
    np.save(path, np.random.default_rng(0).random((2, 32, 32)).astype(np.float32))
    assert main(["locate", str(path), "--pixel-size", "0.1", "-o", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stack of 2 frames" in err[0] and "`atomgraph analyze` takes stacks" in err[0]
    assert not (tmp_path / "a.csv").exists()
