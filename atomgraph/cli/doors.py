"""The door of each ``atomgraph`` verb (issue 24): every refusal that the arguments and a cheap look at the input
decide, made before the verb's stages are imported, so that a refused call answers in a few tenths of a second.

A door refuses a missing, unreadable or empty file, a file that is not an image, a CSV without coordinate
columns, an element the model does not know, an unknown model name, a missing pixel size, a threshold outside
[0, 1], and an output that exists without ``--force``, each with its one-line message (exit 2). It returns what it
read (the image, the atoms) for the verb to take as keyword arguments, so nothing is read twice.

This module imports only the standard library, numpy and atomgraph's light checkers and readers: no scipy, ase,
pydantic or torch (tests/test_startup.py). :func:`atomgraph.cli.parser._verb` runs the door, and only then imports
the verb's module, which imports the stages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError
from ..io.coords import read_coordinates
from ..io.graph_paths import check_graph_output
from ..io.exports import parse_exports
from ..io.images import ImageData, read_image
from ..io.safe_write import check_output_folder, check_writable
from ..models.files import read_header
from ..models.paths import weights_path
from ..thresholds import check_threshold


def check_model_name(model: str | None) -> None:
    """Refuse a model that is neither a path nor a bundled name, as
    :func:`atomgraph.models.model.load_model` does (naming the bundled ones); None (no ``--model``) passes."""
    if model is not None and not Path(str(model)).exists():
        weights_path("classifier", model)


def given_pixel_size(args: argparse.Namespace, image: ImageData) -> float | str:
    """``--pixel-size`` (a number or ``auto``), else the file's calibration; neither is a usage error naming the
    file."""
    pixel_size = args.pixel_size or image.pixel_size_A
    if pixel_size is None:
        raise AtomgraphInputError("pixel size is needed: the file has no calibration, give --pixel-size (Å/px) or "
                                  "--pixel-size auto", source=args.image)
    return pixel_size


def check_known_elements(atoms, model: str, source: str) -> None:
    """Refuse atoms whose element the classifier has no input for (U in a graphene file): the model would label
    them from geometry alone with a host or defect label, which is silently wrong. Atoms without an element (no
    ``element`` column, or vacancy rows) are fine."""
    path = weights_path("classifier", model)  # an unknown model name is refused here
    try:  # the header only: no torch for a file that is refused
        meta = read_header(path).get("meta") or {}
    except (OSError, ValueError):
        return  # not a weights file: the classifier's loader says so in its own words
    known = sorted(set(meta.get("label_elements", {}).values()) - {""})
    element = np.asarray(atoms.element, dtype=object)
    unknown = (element != "") & ~np.isin(element, known) & ~np.asarray(atoms.vacancy, bool)
    if unknown.any():
        names, counts = np.unique(element[unknown].astype(str), return_counts=True)
        found = ", ".join(f"{n} ({c} atom{'s' if c > 1 else ''})" for n, c in zip(names, counts.tolist()))
        raise AtomgraphInputError(f"element {found} is not known to the {model} classifier (it knows "
                                  f"{', '.join(known)}); remove those atoms, or drop the element column to classify "
                                  "from positions alone", source=source)


def locate(args: argparse.Namespace) -> dict:
    """``locate``: the output file, one 2D image, the model name, a pixel size. Returns ``image``."""
    check_writable(args.output, args.force)
    image = read_image(args.image, allow_stack=True)
    if image.frames > 1:
        raise AtomgraphInputError(f"is a stack of {image.frames} frames; `atomgraph locate` takes one 2D image: "
                                  "`atomgraph analyze` takes stacks (frame by frame), or save one frame",
                                  source=args.image)
    check_model_name(args.model)
    given_pixel_size(args, image)
    return {"image": image}


def classify(args: argparse.Namespace) -> dict:
    """``classify``: the graph file, the coordinate file, the model and its elements, the threshold. Returns
    ``atoms``."""
    check_graph_output(args.output, args.force)
    atoms = read_coordinates(args.coords, pixel_size_A=args.pixel_size)
    check_known_elements(atoms, args.model, args.coords)
    check_threshold(args.threshold)
    return {"atoms": atoms}


def analyze(args: argparse.Namespace) -> dict:
    """``analyze``: the exports, the output folder, the image, the threshold; with ``--model``, its name and a
    pixel size (without, the verb lists the models the image's lattice matches). Returns ``export`` and
    ``image``."""
    export = parse_exports(args.export)
    check_output_folder(Path(args.output), args.force)
    image = read_image(args.image, allow_stack=True)
    check_threshold(args.threshold)
    if args.model is not None:
        check_model_name(args.model)
        given_pixel_size(args, image)
    return {"export": export, "image": image}


def evaluate(args: argparse.Namespace) -> dict:
    """``evaluate``: both coordinate files. Returns ``pred`` and ``truth``."""
    pred = read_coordinates(args.pred, pixel_size_A=args.pixel_size)
    truth = read_coordinates(args.truth, pixel_size_A=args.pixel_size or pred.pixel_size_A)
    return {"pred": pred, "truth": truth}


def adapt(args: argparse.Namespace) -> dict:
    """``adapt``: the output folder, every frame file and its pixel size. Returns ``frames``: (frame, pixel size in
    Å/px) pairs."""
    check_output_folder(Path(args.output), args.force)
    frames = []
    for path in args.frames:
        image = read_image(path, allow_stack=True)
        pixel_size = args.pixel_size or image.pixel_size_A
        if pixel_size is None:
            raise AtomgraphInputError("no pixel size in the file: give --pixel-size", source=path)
        frames += [(image.frame(i), float(pixel_size)) for i in range(image.frames)]
    return {"frames": frames}


def discover(args: argparse.Namespace) -> dict:
    """``discover``: the output folder and that every frame file exists (one that does not read is skipped later,
    with the others going on)."""
    check_output_folder(Path(args.output), args.force)
    for path in args.frames:
        if not Path(path).is_file():
            raise AtomgraphInputError("no such file", source=path)
    return {}


def track(args: argparse.Namespace) -> dict:
    """``track``: the output folder."""
    check_output_folder(Path(args.output), args.force)
    return {}


def watch(args: argparse.Namespace) -> dict:
    """``watch``: the watched folder and the output folder."""
    if not Path(args.folder).is_dir():
        raise AtomgraphInputError("not a folder", source=str(args.folder))
    check_output_folder(Path(args.output), args.force)
    return {}
