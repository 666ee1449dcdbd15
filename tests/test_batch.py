"""atomgraph batch: a tiny batch on a LocalCluster and on separately started `dask scheduler` + `dask worker`
processes gives exactly the numbers of per-frame analyze; resume skips done frames by content; failed frames are
recorded and retried; bad input is one line and exit 2.

One LocalCluster (2 workers) serves the module; the scheduler + worker test starts its own processes on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pq = pytest.importorskip("pyarrow.parquet")

import atomgraph  # noqa: E402
from atomgraph.cli import main  # noqa: E402
from atomgraph.errors import AtomgraphInputError  # noqa: E402

MODEL, PX = "graphene-si", 0.1


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    """Two single frames, a two-frame stack (.npy and .tif) of small simulated graphene-Si images, a NaN frame."""
    folder = tmp_path_factory.mktemp("frames")
    images = [atomgraph.simulate(MODEL, size=160, pixel_size_A=PX, dose=1e5, seed=s).image for s in range(4)]
    np.save(folder / "a.npy", images[0])
    np.save(folder / "b.npy", images[1])
    np.save(folder / "stack.npy", np.stack(images[2:4]))
    import tifffile

    tifffile.imwrite(folder / "stack.tif", np.stack(images[2:4]))  # read page by page in the workers
    np.save(folder / "nan.npy", np.full((64, 64), np.nan, dtype=np.float32))
    return folder


@pytest.fixture(scope="module")
def reference(frames) -> dict:
    """Per-frame ``analyze`` of every good frame: (source name, frame) -> Analysis."""
    out = {}
    for name in ("a.npy", "b.npy", "stack.npy", "stack.tif"):
        image = atomgraph.read_image(frames / name, allow_stack=True)
        for i in range(image.frames):
            out[(name, i)] = atomgraph.analyze(image.frame(i), model=MODEL, pixel_size_A=PX)
    return out


@pytest.fixture(scope="module")
def scheduler():
    """Address of a LocalCluster (2 worker processes, one thread each) made the way ``batch`` makes its own."""
    from atomgraph.batch import _connect, _shutdown

    client, cluster = _connect(None, 2, None, 60)
    try:
        yield cluster.scheduler_address
    finally:
        _shutdown(client, cluster)


def _table(out: Path, name: str) -> dict[str, np.ndarray]:
    """A batch dataset as columns of NumPy arrays (no pandas needed)."""
    return {k: np.asarray(v) for k, v in pq.read_table(out / f"{name}.parquet").to_pydict().items()}


def _rows(table: dict, name: str, frame: int) -> dict[str, np.ndarray]:
    """The rows of one (source file name, frame), sorted by id when there is one."""
    mask = np.array([s.endswith(name) for s in table["source"]], bool) & (table["frame"] == frame)
    order = np.argsort(table["id"][mask], kind="stable") if "id" in table else slice(None)
    return {k: v[mask][order] for k, v in table.items()}


def _check_equal_to_analyze(out: Path, reference: dict, keys) -> None:
    atoms, defects, frames = _table(out, "atoms"), _table(out, "defects"), _table(out, "frames")
    for name, i in keys:
        ref = reference[(name, i)]
        rows = _rows(atoms, name, i)
        assert len(rows["id"]) == len(ref.atoms) > 50
        np.testing.assert_array_equal(rows["id"], ref.atoms.ids)
        np.testing.assert_array_equal(np.column_stack([rows["x_A"], rows["y_A"]]), ref.atoms.positions_A)
        np.testing.assert_array_equal(rows["label"].astype(str), ref.atoms.label.astype(str))
        np.testing.assert_array_equal(rows["prob"].astype(float), ref.atoms.prob)
        np.testing.assert_array_equal(rows["vacancy"].astype(bool), ref.atoms.vacancy)
        found = _rows(defects, name, i)
        assert found["label"].tolist() == [d.label for d in ref.defects]
        assert found["site_ids"].tolist() == [" ".join(map(str, d.site_ids)) for d in ref.defects]
        row = _rows(frames, name, i)
        assert row["status"].tolist() == ["ok"]
        counts = ref.label_counts()
        assert int(row["n_Si3"][0]) == counts.get("Si3", 0) and int(row["n_C"][0]) == counts.get("C", 0)
        assert int(row["n_defects"][0]) == len(ref.defects)


def test_batch_on_a_local_cluster_equals_per_frame_analyze(frames, reference, scheduler, tmp_path):
    out = tmp_path / "out"
    summary = atomgraph.batch([str(frames / "a.npy"), str(frames / "stack.*")], model=MODEL, output=out,
                              pixel_size_A=PX, scheduler=scheduler)
    assert (summary.frames, summary.ok, summary.failed, summary.skipped) == (5, 5, 0, 0)
    assert summary.workers == 2 and summary.first_result_seconds is not None
    _check_equal_to_analyze(out, reference, [("a.npy", 0), ("stack.npy", 0), ("stack.npy", 1), ("stack.tif", 0),
                                             ("stack.tif", 1)])
    assert (out / "batch.json").is_file()
    # nothing half-written is left: only part files, no temporaries
    assert all(not p.name.startswith(".") for p in out.rglob("*"))


def test_resume_skips_frames_by_content_and_retries_failed_ones(frames, scheduler, tmp_path):
    out = tmp_path / "out"
    first = atomgraph.batch([str(frames / "a.npy"), str(frames / "nan.npy")], model=MODEL, output=out,
                            pixel_size_A=PX, scheduler=scheduler)
    assert (first.ok, first.failed) == (1, 1)
    table = _table(out, "frames")
    failed = table["status"] == "error"
    assert failed.sum() == 1 and "NaN" in table["error"][failed][0] and table["source"][failed][0].endswith("nan.npy")
    n_atoms = len(_table(out, "atoms")["id"])
    # a copy of a.npy under another name is the same content: skipped; the NaN frame is tried again
    shutil.copy(frames / "a.npy", tmp_path / "a_copy.npy")
    second = atomgraph.batch([str(frames / "a.npy"), str(tmp_path / "a_copy.npy"), str(frames / "nan.npy")],
                             model=MODEL, output=out, pixel_size_A=PX, scheduler=scheduler)
    assert second.resumed and (second.ok, second.skipped, second.failed) == (0, 2, 1)
    table = _table(out, "frames")
    assert sorted(table["status"]) == ["error", "ok"]  # one row per frame: the old error row was replaced
    assert len(_table(out, "atoms")["id"]) == n_atoms  # nothing written twice


def test_an_interrupted_batch_keeps_what_arrived_and_a_rerun_completes_it(frames, scheduler, tmp_path):
    out = tmp_path / "out"
    files = [str(frames / "a.npy"), str(frames / "b.npy"), str(frames / "stack.npy")]

    def interrupt(row):
        raise KeyboardInterrupt  # Ctrl-C after the first result

    with pytest.raises(KeyboardInterrupt):
        atomgraph.batch(files, model=MODEL, output=out, pixel_size_A=PX, scheduler=scheduler, on_result=interrupt)
    kept = _table(out, "frames")
    assert kept["status"].tolist() == ["ok"]  # the frame that arrived was written on the way out
    again = atomgraph.batch(files, model=MODEL, output=out, pixel_size_A=PX, scheduler=scheduler)
    assert (again.skipped, again.ok) == (1, 3)
    table = _table(out, "frames")
    assert len(set(zip(table["source"], table["frame"]))) == len(table["frame"]) == 4


def test_rerun_with_other_settings_is_refused_and_force_starts_over(frames, scheduler, tmp_path):
    out = tmp_path / "out"
    atomgraph.batch([str(frames / "b.npy")], model=MODEL, output=out, pixel_size_A=PX, scheduler=scheduler)
    with pytest.raises(AtomgraphInputError, match="other settings"):
        atomgraph.batch([str(frames / "b.npy")], model=MODEL, output=out, pixel_size_A=0.09, scheduler=scheduler)
    again = atomgraph.batch([str(frames / "b.npy")], model=MODEL, output=out, pixel_size_A=0.09,
                            scheduler=scheduler, force=True)
    assert not again.resumed and again.ok == 1
    assert _table(out, "frames")["pixel_size_A"].tolist() == [0.09]


def test_orphan_parts_of_an_interrupted_flush_are_removed(frames, tmp_path):
    from atomgraph.batch import _schemas
    from atomgraph.batch.store import PartWriter, prepare_output, recover
    from atomgraph.batch.worker import run_task
    from atomgraph.batch.plan import plan_tasks

    out = tmp_path / "out"
    settings = {"model": MODEL, "pixel_size_A": PX, "threshold": 0.5}
    prepare_output(out, settings)
    task = plan_tasks([str(frames / "a.npy")], PX)[0]
    result = run_task(task, MODEL, ["C", "Si3", "Si4"], 0.5)
    writer = PartWriter(out, _schemas(MODEL, ["C", "Si3", "Si4"]))
    writer.add(result)
    writer.flush()
    (out / "frames.parquet" / next((out / "frames.parquet").iterdir()).name).unlink()  # crash before the commit
    assert prepare_output(out, settings) is True
    assert recover(out) == set()
    assert not any((out / "atoms.parquet").iterdir()) and not any((out / "defects.parquet").iterdir())


def test_cli_batch_progress_dashboard_and_summary(frames, scheduler, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(frames / "b.npy"), str(frames / "nan.npy"), "--pixel-size", str(PX), "-o", str(out),
                 "--scheduler", scheduler])
    captured = capsys.readouterr()
    assert code == 0
    assert "1 analyzed, 0 skipped (done before), 1 failed of 2 frame(s)" in captured.out
    assert "dashboard:" in captured.err and "batch" in captured.err


@pytest.mark.parametrize("argv, message", [
    (["batch", "{d}/nothing-*.npy", "--pixel-size", "0.1", "-o", "{t}/o"], "matches no file"),
    (["batch", "{d}/a.npy", "-o", "{t}/o"], "pixel size is needed"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "--model", "nope", "-o", "{t}/o"], "nope"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9", "-o",
      "{t}/o"], "--workers"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "--workers", "0", "-o", "{t}/o"], "workers"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "-o", "{d}/a.npy"], "not a folder"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "--memory-limit", "lots", "-o", "{t}/o"], "memory limit"),
    (["batch", "{d}/a.npy", "--pixel-size", "0.1", "--threshold", "2", "-o", "{t}/o"], "threshold"),
])
def test_cli_batch_bad_input_is_one_line_and_exit_2(frames, tmp_path, capsys, argv, message):
    argv = [a.format(d=frames, t=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("atomgraph: error:") and message in err
    assert not (tmp_path / "o").exists()


def test_cli_batch_refuses_a_non_empty_folder_that_is_not_a_batch(frames, tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "notes.txt").write_text("mine")
    assert main(["batch", str(frames / "a.npy"), "--pixel-size", "0.1", "-o", str(tmp_path / "o")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["notes.txt"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited: {log.read_text()[-800:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"dask scheduler did not listen on {port} within {timeout} s")


def test_batch_on_separately_started_dask_scheduler_and_worker(frames, reference, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    dask = [sys.executable, "-m", "dask"]
    procs = []
    log = tmp_path / "scheduler.log"
    try:
        with open(log, "wb") as handle:  # a file, not a pipe nobody reads (a full pipe would block the scheduler)
            procs.append(subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                           "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=handle,
                                          env=env, cwd=tmp_path))
        # started at once: the worker retries until the scheduler listens, so both start up side by side
        procs.append(subprocess.Popen([*dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                                       "--host", "127.0.0.1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env, cwd=tmp_path))
        _wait_for_port(port, procs[0], timeout=60, log=log)
        out = tmp_path / "out"
        summary = atomgraph.batch([str(frames / "b.npy"), str(frames / "stack.npy")], model=MODEL, output=out,
                                  pixel_size_A=PX, scheduler=address, connect_timeout=60)
        assert (summary.ok, summary.failed, summary.workers) == (3, 0, 1)
        _check_equal_to_analyze(out, reference, [("b.npy", 0), ("stack.npy", 0), ("stack.npy", 1)])
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
