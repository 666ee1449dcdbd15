"""The image verbs of ``atomgraph``: simulate, locate, classify, analyze, evaluate and demo (one frame or a
stack, a coordinate file)."""

from __future__ import annotations

import argparse
import json
import sys

from ..atoms import AtomTable
from ..classify import classify
from ..errors import AtomgraphInputError
from ..evaluate import evaluate
from ..heavy_imports import paused_gc
from ..io.graphs import write_graph
from ..io.tables import write_atoms_csv
from ..io.images import ImageData
from ..io.safe_write import OutputFolder
from ..models.model import resolve_model
from ..pipeline import check_scale, run_analysis, save_stack
from ..scale import bundled_model_names, check_lattice_scale, which_model_message
from .common import EXIT_OK, display_path, format_report
from .doors import given_pixel_size


def _first_torch_import() -> bool:
    """Whether torch is still to be imported in this process: then the objects alive after its import (its modules
    above all, which live until exit) go to the collector's permanent generation once. A process that calls
    :func:`atomgraph.cli.main` again (a notebook, a test run) does not freeze what its later calls left alive."""
    return "torch" not in sys.modules


def cmd_locate(args: argparse.Namespace, image: ImageData) -> int:
    """``locate IMAGE -o ATOMS.csv``, once :func:`atomgraph.cli.doors.locate` has checked it and read ``image``."""
    model = resolve_model(args.model)  # once: the scale checks and the locator read the object
    with paused_gc(freeze=_first_torch_import()):  # torch's import (check_scale loads the locator)
        pixel_size = _pixel_size(args, image, model)
    from ..locate import locate  # lazy: torch (about 2.5 s), only once the inputs are known to be good

    atoms = locate(image.data, model=model, pixel_size_A=pixel_size)
    write_atoms_csv(atoms, args.output, force=args.force)
    print(f"{len(atoms)} atoms -> {args.output}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace, atoms: AtomTable) -> int:
    """``classify COORDS -o GRAPH``, once :func:`atomgraph.cli.doors.classify` has checked it and read ``atoms``."""
    graph = classify(atoms, model=args.model, threshold=args.threshold)
    write_graph(graph, args.output, force=args.force)
    _print_label_counts(graph.atoms.label)
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace, export: tuple[str, ...], image: ImageData) -> int:
    """``analyze IMAGE -o DIR``, once :func:`atomgraph.cli.doors.analyze` has checked it, parsed ``export`` and read
    ``image``."""
    if args.model is None:
        _which_model(args, image)
    model = resolve_model(args.model)  # once for the whole command
    with paused_gc(freeze=_first_torch_import()):  # torch's import (check_scale loads the locator)
        pixel_size = _pixel_size(args, image, model)  # the scale checks, once
    if image.frames == 1:
        result = run_analysis(image.frame(0), model, pixel_size, threshold=args.threshold)
        args.warnings.extend(f"atomgraph: warning: {args.image}: {warning}" for warning in result.warnings)
        result.source = args.image  # recorded in source.json: the napari reader shows the results over it
        with OutputFolder(args.output, args.force) as tmp:
            result.save(tmp, export=export, overlay_full=args.overlay_full)
        print(result.summary())
        return EXIT_OK
    from tqdm import tqdm

    results = [run_analysis(image.frame(i), model, pixel_size, threshold=args.threshold)
               for i in tqdm(range(image.frames), desc="analyze", unit="frame")]
    args.warnings.extend(f"atomgraph: warning: {args.image}: frame {i}: {warning}"
                    for i, r in enumerate(results) for warning in r.warnings)
    for i, result in enumerate(results):
        result.source, result.frame = args.image, i
    with OutputFolder(args.output, args.force) as tmp:
        save_stack(results, tmp, export=export, overlay_full=args.overlay_full)
    print(f"{image.frames} frames; per frame: " + "; ".join(
        f"{i}: " + ", ".join(f"{k} {v}" for k, v in r.defect_counts().items()) for i, r in enumerate(results)))
    return EXIT_OK


def _which_model(args: argparse.Namespace, image) -> None:
    """``analyze`` without ``--model``: exit 2 listing the bundled models whose lattice matches (never guess)."""
    pixel_size = None if args.pixel_size == "auto" else (args.pixel_size or image.pixel_size_A)
    if pixel_size is not None:
        check_scale(image.shape, pixel_size, bundled_model_names()[0])  # absurd sizes first, before any FFT
    raise AtomgraphInputError(which_model_message(image.frame(0), pixel_size, image.pixel_size_A is not None),
                              source=args.image)


def _pixel_size(args: argparse.Namespace, image, model) -> float:
    """--pixel-size (a number or ``auto``), else the file's calibration, checked against the lattice the image shows
    (atomgraph.scale) and against the locator's resampling (:func:`atomgraph.pipeline.check_scale`), once each, for
    the resolved :class:`~atomgraph.models.model.Model` ``model``: warnings go to stderr, a pixel size that cannot fit
    is a usage error naming the file."""
    pixel_size = given_pixel_size(args, image)
    if pixel_size != "auto":
        check_scale(image.shape, pixel_size, model)  # absurd sizes first, before any FFT
    try:
        check = check_lattice_scale(image.frame(0), model, pixel_size, strict=args.strict,
                                    lattice_check=not args.no_lattice_check)
    except AtomgraphInputError as exc:
        raise AtomgraphInputError(str(exc), source=args.image) from None
    args.warnings.extend(f"atomgraph: warning: {args.image}: {warning}" for warning in check.warnings)
    if pixel_size == "auto":
        check_scale(image.shape, check.pixel_size_A, model)
        args.warnings.append(f"atomgraph: {args.image}: pixel size measured from the {check.material} lattice: "
                         f"{check.pixel_size_A:.4g} Å/px")
    return check.pixel_size_A


def cmd_evaluate(args: argparse.Namespace, pred: AtomTable, truth: AtomTable) -> int:
    """``evaluate PRED TRUTH``, once :func:`atomgraph.cli.doors.evaluate` has read both."""
    report = evaluate(pred, truth, tolerance_A=args.tolerance)
    print(format_report(report))
    return EXIT_OK


def _print_label_counts(labels) -> None:
    from collections import Counter

    counts = Counter(str(x) for x in labels)
    width = max([5] + [len(k) for k in counts])
    print(f"{'label':<{width}}  count")
    for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{label or '(none)':<{width}}  {n}")
