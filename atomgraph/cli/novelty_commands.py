"""The novelty verbs of ``atomgraph``: ``train novelty`` and ``discover`` (issue 13)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import AtomgraphInputError
from ..io.safe_write import OutputFolder, check_output_folder
from .common import EXIT_OK

if TYPE_CHECKING:  # numpy is imported by the verbs that need it, not by `atomgraph --help`
    import numpy as np


def train_novelty_command(args: argparse.Namespace) -> int:
    """``train novelty --model M``: fit the novelty statistics and write them beside the classifier (or ``-o``)."""
    from ..classify.novelty_fit import fit_novelty

    if args.model is None:
        raise AtomgraphInputError("train novelty needs --model (a bundled name, a model folder or a classifier file)")
    if args.config is not None:
        raise AtomgraphInputError("train novelty takes --model, not --config (it fits an existing model)")
    if args.output is not None and Path(args.output).suffix != ".safetensors":
        raise AtomgraphInputError("-o for novelty statistics must end in .safetensors", source=args.output)
    card = fit_novelty(args.model, fit_graphs=args.graphs, threshold_graphs=max(args.graphs // 2, 10),
                       seed=args.seed, output=args.output, progress=not args.quiet, force=True)
    flagged = card["threshold_set"]["flagged_novel"]
    print(json.dumps({"path": card["path"], "classes": card["classes"], "thresholds": card["thresholds"],
                      "flagged_novel_on_threshold_set": flagged, "seconds": card["seconds"]}, indent=1))
    return EXIT_OK


def _frames(paths: list[str], pixel_size_A: float | None) -> Iterator[tuple[str, int, np.ndarray, float]]:
    """Every frame of ``paths``; a file that cannot be read (or has no pixel size) comes as one item whose image is
    the error, recorded by :func:`atomgraph.discover.discover` while the others go on."""
    from ..io.images import read_image

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


def cmd_discover(args: argparse.Namespace) -> int:
    """``discover FRAMES... --model M -o DIR``: clusters.csv, groups.csv, frames.csv, one gallery PNG per cluster."""
    from ..discover import discover

    check_output_folder(Path(args.output), args.force)
    for path in args.frames:
        if not Path(path).is_file():
            raise AtomgraphInputError("no such file", source=path)
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
        args.warnings.append(f"atomgraph: warning: skipped: {item['error']}")
    return EXIT_OK
