"""Fault injection (issue 23): kills, concurrent writers, mixed-frame batches, slow writers, bombs.

Each test is one probe with its stated outcome: no crash, no loss, no duplicate, no stale file, exit 2 (one line)
for a bad input or an unwritable place. The makers are shared with ``benchmarks/bad_inputs.py``
(``benchmarks/fault_makers.py``).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fault_makers as fm  # noqa: E402

from atomgraph.cli import main  # noqa: E402

pq = pytest.importorskip("pyarrow.parquet")


def _error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("atomgraph:")]
    assert len(err) == 1, err
    return err[0]


# ------------------------------------------------------------------------------------------------ mixed frames
def test_frames_with_float64_and_float32_columns_write_into_one_batch_schema(tmp_path):
    from atomgraph import analyze
    from atomgraph.batch import _schemas
    from atomgraph.batch.store import PartWriter, prepare_output
    from atomgraph.io.parquet import atoms_table, defects_table

    frame = np.load(fm.small_frames(tmp_path / "in", 1, size=160)[0])
    result = analyze(frame, model=fm.MODEL, pixel_size_A=fm.PX)
    schemas = _schemas(fm.MODEL, ["C", "Si3", "Si4"])
    out = tmp_path / "out"
    prepare_output(out, {"model": fm.MODEL, "pixel_size_A": fm.PX, "threshold": None})
    writer = PartWriter(out, schemas)
    for k, p_dtype in enumerate((np.float32, np.float64)):  # a frame with vacancy nodes gave float64 p_* columns
        atoms = result.atoms
        atoms.extra["p_C"] = np.asarray(atoms.extra["p_C"], dtype=p_dtype)
        row = {"source": "x.npy", "frame": k, "status": "ok", "error": "", "warnings": "", "hash": str(k),
               "height": 160, "width": 160, "pixel_size_A": fm.PX, "n_atoms": len(atoms), "n_vacancies": 0,
               "n_defects": 0, "n_C": 0, "n_Si3": 0, "n_Si4": 0, "seconds": 0.1}
        writer.add({"row": row, "atoms": atoms_table(atoms, "x.npy", k),
                    "defects": defects_table(result.defects, "x.npy", k)})
    writer.flush()
    table = pq.read_table(out / "atoms.parquet")
    assert table.schema.equals(schemas["atoms"])
    assert str(table.schema.field("p_C").type) == "float" and table.num_rows == 2 * len(result.atoms)
    assert pq.read_table(out / "frames.parquet").num_rows == 2


# ------------------------------------------------------------------------------------------ concurrent writers
def test_a_second_writer_is_refused_naming_the_holder_and_a_dead_holders_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "sim"
    holder = fm.holder_process(out)
    try:
        code = main(["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "--dose", "1e5", "-o",
                     str(out)])
        line = _error_line(capsys)
        assert code == 2 and f"pid {holder.pid}" in line and "another atomgraph run" in line
        assert not out.exists()
    finally:
        holder.kill()  # SIGKILL: the lock file stays, its flock goes with the process
        holder.wait()
    assert (tmp_path / ".sim.lock").exists()
    leftover = fm.leftover_of_killed_run(out)
    assert main(["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "--dose", "1e5", "-o",
                 str(out)]) == 0
    assert not leftover.exists() and not (tmp_path / ".sim.lock").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


def test_force_replaces_the_folder_as_a_whole(tmp_path, capsys):
    out = tmp_path / "sim"
    common = ["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "--dose", "1e5", "-o", str(out)]
    assert main(common + ["--count", "2"]) == 0
    (out / "notes.txt").write_text("old\n", encoding="utf-8")
    assert main(common + ["--count", "1", "--seed", "7", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["graphene-si_seed00007.csv", "graphene-si_seed00007.npy",
                                                     "manifest.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -------------------------------------------------------------------------------------------------------- kills
def test_a_batch_killed_with_sigterm_and_rerun_has_every_frame_exactly_once(tmp_path):
    frames = fm.small_frames(tmp_path / "in", 6)
    run = fm.batch_killed_and_rerun(frames, tmp_path / "out", kill_after_frames=1)
    assert run["first_code"] in (143, 0), run["first_stderr"][-500:]  # 0: it finished before the signal came
    assert run["rerun_code"] == 0, run["rerun_stderr"][-500:]
    assert sorted(run["rows"]) == [(str(p), 0) for p in frames]
    assert set(run["rows"].values()) == {1} and set(run["statuses"]) == {"ok"}
    # nothing finished before the kill is recomputed: the rerun skips at least what was committed
    skipped = int(run["rerun_stdout"].split(" skipped")[0].split()[-1])
    assert skipped >= run["after_kill"] >= run["at_kill"] >= 1


# ------------------------------------------------------------------------------------------------ slow writers
def test_watch_takes_a_frame_whose_writer_pauses_and_warns_about_a_vanished_file(tmp_path, capsys):
    from atomgraph.track import simulate_movie

    movie = simulate_movie("graphene-si", frames=3, size=160, pixel_size_A=0.1, dose=1e5, seed=3, rates={})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    np.save(inbox / "frame_000.npy", movie.frames[0])
    np.save(inbox / "frame_001.npy", movie.frames[1])
    (inbox / "frame_001a.npy").write_bytes(fm.npy_bytes(movie.frames[1])[:500])  # half a file, then removed
    writer = fm.slow_writer(inbox / "frame_002.npy", fm.npy_bytes(movie.frames[2]), pause_s=1.2)

    out = tmp_path / "live"

    def remove_later():   # once the watch has listed the folder (its first frame is tracked), not by the clock:
        deadline = time.monotonic() + 120   # a loaded machine may take longer than any fixed delay to start
        while not (out / "drift.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.6)
        (inbox / "frame_001a.npy").unlink()

    import threading

    threading.Thread(target=remove_later, daemon=True).start()
    code = main(["watch", str(inbox), "--model", "graphene-si", "--pixel-size", "0.1", "--poll", "0.05",
                 "--max-frames", "3", "--read-timeout", "10", "-o", str(out)])
    writer.join()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "tracked 3 of 3 frame(s)" in captured.out
    assert "frame_001a.npy vanished" in captured.err
    rows = (out / "tracks.csv").read_text().splitlines()[1:]
    assert {int(r.split(",")[0]) for r in rows} == {0, 1, 2}


# ------------------------------------------------------------------------------------------------------- bombs
def test_a_tiff_declaring_16000_squared_is_refused_from_its_header(tmp_path, capsys):
    bomb = fm.tiff_bomb(tmp_path)
    assert bomb.stat().st_size < 400_000
    t0 = time.perf_counter()
    code = main(["analyze", str(bomb), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(tmp_path / "o")])
    assert code == 2 and "too large" in _error_line(capsys) and time.perf_counter() - t0 < 5
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, value, quoted", [("--pixel-size", "100", "pixel size 100 Å/px"),
                                                   ("--pixel-size", "1e9", "pixel size 1e+09 Å/px"),
                                                   ("--dose", "1e30", "dose 1e+30")])
def test_simulate_refuses_absurd_parameters_before_allocating(tmp_path, capsys, option, value, quoted):
    code = main(["simulate", "graphene-si", "--size", "512", option, value, "-o", str(tmp_path / "s")])
    assert code == 2 and quoted in _error_line(capsys) and not (tmp_path / "s").exists()


@pytest.mark.parametrize("make, message", [(fm.tampered_weights, "sha256"),
                                           (fm.absurd_locator_card, "out of range")])
def test_tampered_weights_and_absurd_cards_are_refused(tmp_path, capsys, make, message):
    weights = make(tmp_path)
    image = tmp_path / "img.npy"
    np.save(image, np.random.default_rng(0).random((64, 64)).astype(np.float32))
    code = main(["locate", str(image), "--pixel-size", "0.1", "--model", str(weights), "-o", str(tmp_path / "a.csv")])
    assert code == 2 and message in _error_line(capsys) and not (tmp_path / "a.csv").exists()


def test_a_full_disk_is_exit_2_naming_the_path(tmp_path, capsys, monkeypatch):
    import atomgraph.io.safe_write as safe_write

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "s"))

    monkeypatch.setattr(safe_write.os, "replace", full)
    code = main(["simulate", "graphene-si", "--size", "64", "--pixel-size", "0.1", "-o", str(tmp_path / "s")])
    line = _error_line(capsys)
    assert code == 2 and str(tmp_path / "s") in line and "No space left" in line


def test_discover_records_an_unreadable_file_and_goes_on(tmp_path, capsys):
    good = fm.small_frames(tmp_path / "in", 1, size=192)[0]
    bad = tmp_path / "in" / "bad.npy"
    bad.write_bytes(b"not an image")
    out = tmp_path / "d"
    code = main(["discover", str(good), str(bad), "--model", "graphene-si", "--pixel-size", "0.1", "--quiet",
                 "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "bad.npy" in (out / "skipped.csv").read_text() and "bad.npy" in captured.err
    assert len((out / "frames.csv").read_text().splitlines()) == 2  # header + the good frame


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigterm_stops_a_command_with_exit_143_and_leaves_no_temporaries(tmp_path):
    import subprocess

    cmd = fm.atomgraph_command() + ["simulate", "graphene-si", "--size", "256", "--pixel-size", "0.1", "--dose",
                                    "1e5", "--count", "200", "--quiet", "-o", str(tmp_path / "s")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    t0 = time.monotonic()
    while not any(p.name.startswith(".s.") and p.is_dir() for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() - t0 < 60
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []



# ------------------------------------------------------------------------------------------------------- README
def test_the_readme_batch_read_line_runs(tmp_path):
    """The README's line that reads batch results into pandas (``python -c "..."`` in the batch section) runs as
    written on a batch folder's frames dataset (pandas is a dependency)."""
    import subprocess
    import sys

    from atomgraph.batch.store import PartWriter, prepare_output
    from atomgraph.io.parquet import atoms_schema, defects_schema, frames_schema

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Many frames", 1)[1].split("\n## ", 1)[0]
    line = next(x for x in section.splitlines() if x.startswith("python -c") and "results" in x)
    code = line.split('"', 1)[1].rsplit('"', 1)[0]
    out = tmp_path / "results"
    prepare_output(out, {"model": "graphene-si", "pixel_size_A": 0.1, "threshold": None})
    writer = PartWriter(out, {"atoms": atoms_schema(["C", "Si"], ["C"]), "defects": defects_schema(),
                              "frames": frames_schema(["C"])})
    writer.add({"row": {"source": "a.npy", "frame": 0, "status": "error", "error": "NaN pixels"}, "atoms": None,
                "defects": None})
    writer.flush()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "a.npy" in proc.stdout and "NaN pixels" in proc.stdout
