"""The model verbs of ``atomgraph`` that train (torch): train (locator, classifier, model, novelty) and adapt;
``atomgraph models`` lists the bundled ones without torch (:mod:`atomgraph.cli.model_list`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..classify.adapt import adapt_classifier
from ..classify.novelty_fit import fit_novelty
from ..classify.train import train_classifier
from ..errors import AtomgraphInputError
from ..io.safe_write import check_writable
from ..locate.train import train_locator
from ..models.training import train_model
from .common import EXIT_OK, display_path


def cmd_train(args: argparse.Namespace) -> int:
    if args.stage == "novelty":
        return train_novelty_command(args)
    if args.config is None or args.output is None:
        raise AtomgraphInputError(f"train {args.stage} needs --config and -o")
    if args.minutes is not None and not args.minutes > 0:
        raise AtomgraphInputError(f"--minutes must be positive, got {args.minutes}")
    if args.stage == "model":
        summary = train_model(args.config, args.output, seed=args.seed, classifier_minutes=args.minutes,
                              force=args.force)
        print(json.dumps(summary, indent=2))
        print(f"use it as --model {args.output}")
        return EXIT_OK
    check_writable(args.output, args.force)
    train = train_locator if args.stage == "locator" else train_classifier
    card = train(args.config, args.output, seed=args.seed, force=args.force, minutes=args.minutes)
    print(json.dumps({k: card[k] for k in ("name", "metrics", "calibration") if k in card}, indent=2))
    return EXIT_OK


def train_novelty_command(args: argparse.Namespace) -> int:
    """``train novelty --model M``: fit the novelty statistics and write them beside the classifier (or ``-o``)."""
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


def cmd_adapt(args: argparse.Namespace, frames: list) -> int:
    """``adapt FRAMES -o DIR``, once :func:`atomgraph.cli.doors.adapt` has checked it and read the ``frames``."""
    card = adapt_classifier(frames, args.model, args.output, minutes=args.minutes, confidence=args.confidence,
                            force=args.force)
    a = card["adaptation"]
    print(f"adapted on {a['frames']} frame(s), pseudo-labels {a['pseudo_labels']}, {a['steps']} steps; "
          f"calibration on simulations: threshold {card['calibration']['threshold']:.3f} -> "
          f"{display_path(args.output)}/ (use --model {args.output})")
    return EXIT_OK
