"""The ``atomgraph`` argument parser: one sub-command per verb (the verbs are a contract, see ARCHITECTURE.md)."""

from __future__ import annotations

import argparse
import importlib
import math

from .. import __version__
from ..errors import AtomgraphInputError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so usage errors are one line + exit 2."""

    def error(self, message: str) -> None:  # noqa: D102
        raise AtomgraphInputError(f"{self.prog}: {message}")


def _verb(module: str, name: str, door: str | None = None):
    """The verb ``name`` of :mod:`atomgraph.cli.<module>`, behind its door (:mod:`atomgraph.cli.doors`).

    When the verb runs, the door ``door`` checks its arguments and inputs first; the verb's module, which imports
    the verb's stages at its top (scipy, ase, pydantic, the pipeline: about 1.2 s), is imported only once they
    pass, and the verb gets what the door read as keyword arguments. So ``atomgraph --help``, ``models`` and a
    refused input import no stage (tests/test_startup.py), and each verb imports only its own module's stages.
    """

    def run(args: argparse.Namespace) -> int:
        # lazy, the CLI's one deferred import: first the door (numpy and the light readers, which `--help` needs
        # not), then, once the inputs pass, the verb's module and its stages
        inputs = getattr(importlib.import_module(f"{__package__}.doors"), door)(args) if door else {}
        return getattr(importlib.import_module(f"{__package__}.{module}"), name)(args, **inputs)

    return run


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value

    return parse


def _pixel_size_or_auto(text: str):
    """--pixel-size for image commands: a positive number (Å/px) or ``auto`` (measured from the lattice)."""
    if text.strip().lower() == "auto":
        return "auto"
    return _positive(float)(text)


def threshold_option(p: argparse.ArgumentParser) -> None:
    """``--threshold``: nodes whose calibrated probability is below it are flagged uncertain."""
    p.add_argument("--threshold", type=float, default=None,
                   help="flag nodes uncertain below this probability (default: the model's calibrated threshold)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every verb (each sub-command's ``func`` runs it).

    Returns
    -------
    argparse.ArgumentParser
        The parser; it raises :class:`~atomgraph.errors.AtomgraphInputError` on a usage error instead of exiting.
    """
    parser = _Parser(prog="atomgraph", description="STEM images of 2D materials -> labeled defect graphs.")
    parser.add_argument("--version", action="version", version=f"atomgraph {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in (_add_simulate, _add_image_commands, _add_many_frame_commands, _add_movie_commands, _add_model_commands):
        add(sub)
    return parser


def common(p: argparse.ArgumentParser, output_help: str) -> None:
    p.add_argument("-o", "--output", required=True, help=output_help)
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def model_and_pixel_size(p: argparse.ArgumentParser, pixel_help: str, image: bool = False,
                         model_default: str | None = "graphene-si") -> None:
    p.add_argument("--model", default=model_default,
                   help="graphene-si, mose2-w, or a .safetensors path"
                        + (f" (default {model_default})" if model_default else
                           " (none: list the bundled models whose lattice matches the image)"))
    p.add_argument("--pixel-size", type=_pixel_size_or_auto if image else _positive(float), default=None,
                   help=pixel_help)
    if image:
        p.add_argument("--strict", action="store_true",
                       help="a pixel size that disagrees with the image's lattice (or is outside the model's "
                            "training range) is an error, not a warning")
        p.add_argument("--no-lattice-check", action="store_true",
                       help="do not measure the lattice from the image's Fourier transform")


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="simulate HAADF images with exact truth")
    p.add_argument("material", help="graphene-si, mose2-w, mos2, or a config .yaml")
    p.add_argument("--size", type=int, default=512, help="image size in px (default 512)")
    p.add_argument("--pixel-size", type=_positive(float), default=None, help="Å/px (default: drawn from config)")
    p.add_argument("--dose", type=_positive(float), default=None, help="e/Å² (default: drawn from config)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first image; image i uses seed+i")
    p.add_argument("--count", type=int, default=1, help="number of images")
    p.add_argument("--defect", action="append", metavar="LABEL=N", help="defects per image, e.g. Si3=2")
    p.add_argument("--frames", type=_positive(int), default=None,
                   help="a movie of N frames of one evolving structure (drift, events at the config's movie: rates)")
    p.add_argument("--drift", type=float, default=None, help="movies: drift per frame in Å (default: config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p, "output folder (NAME.npy, NAME.csv, manifest.json)")
    p.set_defaults(func=_verb("simulations", "cmd_simulate"))


def _add_image_commands(sub) -> None:
    """locate, classify, analyze: one image (or coordinate file) at a time."""
    p = sub.add_parser("locate", help="find atomic columns in an image")
    p.add_argument("image")
    model_and_pixel_size(p, "Å/px, or auto (measured from the lattice); default: from the file", image=True)
    common(p, "atoms CSV")
    p.set_defaults(func=_verb("images", "cmd_locate", door="locate"))

    p = sub.add_parser("classify", help="label local environments from a coordinate file")
    p.add_argument("coords", help="CSV (x_px,y_px or x_A,y_A [,element]) or any file ase.io.read reads")
    model_and_pixel_size(p, "Å/px (for x_px/y_px input)")
    threshold_option(p)
    common(p, "graph file: .graphml .json .csv .extxyz .pt")
    p.set_defaults(func=_verb("images", "cmd_classify", door="classify"))

    p = sub.add_parser("analyze", help="image -> atoms, graph, defects, overlay")
    p.add_argument("image")
    model_and_pixel_size(p, "Å/px, or auto (measured from the lattice); default: from the file", image=True,
                         model_default=None)
    p.add_argument("--export", default="", metavar="FORMATS",
                   help="also write graph.FORMAT for each of graphml,json,extxyz,pt (comma-separated, or all); "
                        "default: only the compact atoms.csv defects.csv graph.npz overlay.png")
    p.add_argument("--overlay-full", action="store_true",
                   help="overlay.png at one pixel per image pixel (default: long side at most 2048 px)")
    threshold_option(p)
    common(p, "output folder")
    p.set_defaults(func=_verb("images", "cmd_analyze", door="analyze"))


def _add_many_frame_commands(sub) -> None:
    """adapt and batch: many files and frames."""
    p = sub.add_parser("adapt", help="self-train a classifier on your own unlabeled frames -> a model folder")
    p.add_argument("frames", nargs="+", metavar="FRAME", help="image files (stacks: every frame)")
    model_and_pixel_size(p, "Å/px for every file (default: each file's calibration)")
    p.add_argument("--minutes", type=_positive(float), default=5.0, help="fine-tuning budget (default 5)")
    p.add_argument("--confidence", type=float, default=0.99,
                   help="calibrated probability a node needs to become a pseudo-label (default 0.99)")
    common(p, "model folder to write (use it as --model FOLDER)")
    p.set_defaults(func=_verb("model_verbs", "cmd_adapt", door="adapt"))

    p = sub.add_parser("batch", help="many files and frames on dask (local cluster or a scheduler) -> Parquet")
    p.add_argument("patterns", nargs="+", metavar="PATTERN", help="image files or glob patterns (quote them: "
                   "'frames/**/*.tif'); every frame of a stack is a task")
    model_and_pixel_size(p, "Å/px for every file (default: each file's calibration)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running dask scheduler, e.g. tcp://host:8786 (default: an embedded local cluster)")
    p.add_argument("--workers", type=_positive(int), default=None,
                   help="local cluster worker processes, one thread each (default: one per core)")
    p.add_argument("--memory-limit", default=None, help="per local worker, e.g. 2GiB (default: RAM / workers)")
    threshold_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p, "output folder: atoms.parquet defects.parquet frames.parquet (an earlier batch there is resumed)")
    p.set_defaults(func=_verb("many_frames", "cmd_batch"))


def _add_movie_commands(sub) -> None:
    """track and watch: movies."""
    p = sub.add_parser("track", help="movie -> site tracks, label timelines, events, transition statistics")
    p.add_argument("stack", nargs="+", metavar="STACK",
                   help="a stack file (.npy (frames, rows, cols), .tif, .emd, .dm4, ...) or single frames in order")
    model_and_pixel_size(p, "Å/px (default: the file's calibration)")
    p.add_argument("--memory", type=int, default=2, help="frames a site may be missed and keep its id (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p, "output folder: tracks.csv events.csv transitions.csv drift.csv timeline.png events.png")
    p.set_defaults(func=_verb("movies", "cmd_track", door="track"))

    p = sub.add_parser("watch", help="live: track each new frame file in a folder as it lands")
    p.add_argument("folder", metavar="DIR", help="folder the microscope writes frame files into (one frame each)")
    model_and_pixel_size(p, "Å/px (default: the first file's calibration)")
    p.add_argument("--pattern", default="*", help="file name pattern, e.g. '*.tif' (default: every file)")
    p.add_argument("--poll", type=_positive(float), default=0.5, help="seconds between looks (default 0.5)")
    p.add_argument("--memory", type=int, default=2, help="frames a site may be missed and keep its id (default 2)")
    p.add_argument("--read-timeout", type=_positive(float), default=30.0,
                   help="seconds a file that does not read yet is retried (with back-off) before it is given up as "
                        "unreadable (default 30)")
    p.add_argument("--max-frames", type=_positive(int), default=None, help="stop after this many files")
    p.add_argument("--idle-exit", type=_positive(float), default=None,
                   help="stop when no new file has completed for this many seconds (default: run until Ctrl-C)")
    common(p, "output folder (CSVs rewritten after every frame; PNGs at the end)")
    p.set_defaults(func=_verb("movies", "cmd_watch", door="watch"))


def _add_model_commands(sub) -> None:
    """evaluate, train, models, demo."""
    p = sub.add_parser("evaluate", help="compare predicted atoms with truth")
    p.add_argument("pred")
    p.add_argument("truth")
    p.add_argument("--tolerance", type=_positive(float), default=0.5, help="match distance in Å (default 0.5)")
    p.add_argument("--pixel-size", type=_positive(float), default=None, help="Å/px for px-only CSVs")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_verb("images", "cmd_evaluate", door="evaluate"))

    p = sub.add_parser("train", help="train a locator, a classifier, or a whole model folder on simulated data")
    p.add_argument("stage", choices=["locator", "classifier", "model", "novelty"],
                   help="model: locator + classifier (with calibration) into a model folder, resumable; novelty: "
                        "the novelty statistics of an existing model (--model), written beside its classifier")
    p.add_argument("--config", default=None, help="material config .yaml (or a built-in name); not for novelty")
    p.add_argument("--model", default=None, help="novelty: bundled model name, model folder or classifier file")
    p.add_argument("--graphs", type=_positive(int), default=240,
                   help="novelty: simulated graphs to fit on (half as many more set the thresholds; default 240)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=None,
                   help="wall-clock budget (default: locator about 14 min by steps, classifier 10 min; for a model: "
                        "the classifier's)")
    p.add_argument("-o", "--output", default=None,
                   help="weights file (.safetensors; a .json model card is written beside it), or the model folder "
                        "(required, except for novelty: default beside the classifier)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--quiet", action="store_true", help="no progress bar (novelty)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_verb("model_verbs", "cmd_train"))

    p = sub.add_parser("discover", help="novel (never trained) structures over many frames, clustered, with galleries")
    p.add_argument("frames", nargs="+", metavar="FRAME", help="image files (stacks: every frame)")
    model_and_pixel_size(p, "Å/px for every file (default: each file's calibration)")
    p.add_argument("--min-cluster-size", type=_positive(int), default=None,
                   help="HDBSCAN min_cluster_size (default: 3, or 1 %% of the groups, at most 25)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p, "output folder: clusters.csv groups.csv frames.csv cluster_<k>.png")
    p.set_defaults(func=_verb("many_frames", "cmd_discover", door="discover"))

    p = sub.add_parser("models", help="bundled models and their cards")
    p.add_argument("--json", action="store_true", help="print the full cards as JSON")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_verb("model_list", "cmd_models"))

    p = sub.add_parser("demo", help="simulate a graphene-Si image, analyze it, compare with the truth")
    p.add_argument("-o", "--output", default="atomgraph-demo", help="output folder (default ./atomgraph-demo)")
    p.add_argument("--force", action="store_true", help="overwrite an existing demo folder")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_verb("simulations", "cmd_demo"))
