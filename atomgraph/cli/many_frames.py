"""The many-frame verbs of ``atomgraph``: batch (dask, Parquet) and discover (novel structures over frames)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..discover import discover
from ..errors import AtomgraphInputError
from ..io.images import read_image
from ..io.safe_write import OutputFolder
from .common import EXIT_OK, display_path

if TYPE_CHECKING:  # numpy is imported by the verbs that need it, not by `atomgraph --help`
    import numpy as np


def cmd_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..batch import batch  # lazy: dask.distributed (about 1 s), which discover, in this module too, never needs

    bar = None

    def on_start(info: dict) -> None:
        nonlocal bar
        where = args.scheduler or f"local cluster, {info['workers']} worker(s)"
        print(f"batch: {info['tasks']} frame(s) on {where}" +
              (f"; resuming ({info['done_before']} frame(s) done before)" if info["resumed"] else ""), file=sys.stderr)
        print(f"dashboard: {info['dashboard'] or 'none'}", file=sys.stderr)
        bar = tqdm(total=info["tasks"], desc="batch", unit="frame", disable=args.quiet, file=sys.stderr)
        bar.update(done_early)

    done_early = 0

    def on_result(row: dict) -> None:
        nonlocal done_early
        if bar is None:
            done_early += 1  # planning errors, recorded before the cluster starts
        else:
            bar.update(1)

    try:
        summary = batch(args.patterns, model=args.model, output=args.output, pixel_size_A=args.pixel_size,
                        scheduler=args.scheduler, workers=args.workers, threshold=args.threshold, force=args.force,
                        memory_limit=args.memory_limit, on_start=on_start, on_result=on_result)
    finally:
        if bar is not None:
            bar.close()
    rate = f", {summary.frames_per_second:.2f} frames/s" if summary.ok else ""
    out = display_path(args.output)
    print(f"{summary.ok} analyzed, {summary.skipped} skipped (done before), {summary.failed} failed of "
          f"{summary.frames} frame(s) in {summary.seconds:.1f} s{rate} -> {out / '{atoms,defects,frames}.parquet'}")
    if summary.warned:
        args.warnings.add(f"{summary.warned} frame(s) with warnings of the pixel-size / lattice / model checks (as "
                          f"`atomgraph analyze` makes them); see the 'warnings' column of {out / 'frames.parquet'}")
        for row in summary.warning_examples:
            args.warnings.add(str(row))
    if summary.failed:
        print(f"failed frames are listed with their error in {out / 'frames.parquet'} (status 'error'); a rerun "
              "retries them", file=sys.stderr)
    return EXIT_OK


def cmd_discover(args: argparse.Namespace) -> int:
    """``discover FRAMES... --model M -o DIR``: clusters.csv, groups.csv, frames.csv, one gallery PNG per cluster
    (after :func:`atomgraph.cli.doors.discover`)."""
    result = discover(_frames(args.frames, args.pixel_size), model=args.model,
                      min_cluster_size=args.min_cluster_size, progress=not args.quiet)
    if result.skipped and not result.frames:  # nothing to show: one error line, nothing written
        raise AtomgraphInputError(f"none of the {len(result.skipped)} file(s)/frame(s) could be analyzed; the "
                                  f"first: {result.skipped[0]['error']}")
    with OutputFolder(args.output, args.force) as tmp:
        result.write(tmp)
    rows = result.cluster_rows()
    print(f"{len(result.groups)} unknown defect(s) in {len(result.frames)} frame(s), {len(result.clusters)} "
          f"cluster(s) -> {Path(args.output)}/", file=sys.stdout)
    for row in rows:
        name = f"cluster {row['cluster']}" if row["cluster"] >= 0 else "unclustered"
        print(f"  {name}: {row['count']} in {row['frames']} frame(s); labels {row['labels']}")
    for item in result.skipped:
        args.warnings.add(f"skipped: {item['error']}")
    return EXIT_OK


def _frames(paths: list[str], pixel_size_A: float | None) -> Iterator[tuple[str, int, np.ndarray, float]]:
    """Every frame of ``paths``; a file that cannot be read (or has no pixel size) comes as one item whose image is
    the error, recorded by :func:`atomgraph.discover.discover` while the others go on."""
    for path in paths:
        try:
            image = read_image(path, allow_stack=True)
            pixel_size = pixel_size_A or image.pixel_size_A
            if pixel_size is None:
                raise AtomgraphInputError("no pixel size in the file: give --pixel-size (Å/px)", source=path)
        except AtomgraphInputError as exc:
            yield path, -1, exc, None
            continue
        for i in range(image.frames):
            yield path, i, image.frame(i), float(pixel_size)
