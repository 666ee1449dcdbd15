"""The model verbs of ``atomgraph``: train (locator, classifier, model, novelty), models and adapt."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import AtomgraphInputError
from ..io.safe_write import check_output_folder
from .common import EXIT_OK, display_path


def cmd_train(args: argparse.Namespace) -> int:
    from ..io.safe_write import check_writable

    if args.stage == "novelty":
        return train_novelty_command(args)
    if args.config is None or args.output is None:
        raise AtomgraphInputError(f"train {args.stage} needs --config and -o")
    if args.minutes is not None and not args.minutes > 0:
        raise AtomgraphInputError(f"--minutes must be positive, got {args.minutes}")
    if args.stage == "model":
        from ..training import train_model

        summary = train_model(args.config, args.output, seed=args.seed, classifier_minutes=args.minutes,
                              force=args.force)
        print(json.dumps(summary, indent=2))
        print(f"use it as --model {args.output}")
        return EXIT_OK
    check_writable(args.output, args.force)
    if args.stage == "locator":
        from ..locate.train import train_locator as train
    else:
        from ..classify.train import train_classifier as train
    card = train(args.config, args.output, seed=args.seed, force=args.force, minutes=args.minutes)
    print(json.dumps({k: card[k] for k in ("name", "metrics", "calibration") if k in card}, indent=2))
    return EXIT_OK


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


def cmd_models(args: argparse.Namespace) -> int:
    from ..weights import bundled_models

    models = bundled_models()
    if args.json:
        print(json.dumps(models, indent=2))
        return EXIT_OK
    if not models:
        print("no bundled models")
    print(f"{'kind':<11}{'model':<13}{'params':>8}{'kB':>6}  held-out (fresh simulated images)")
    for m in models:
        card = m["card"]
        print(f"{m['kind']:<11}{m['name']:<13}{card.get('parameters', 0):>8}"
              f"{card.get('weights_bytes', 0) / 1000:>6.0f}  {_card_headline(card)}")
    print("`atomgraph models --json` prints the full cards (config, seeds, data ranges, metrics, sha256).")
    return EXIT_OK


def _card_headline(card: dict) -> str:
    """One line of a model card's held-out metrics."""
    metrics = card.get("metrics") or {}
    if card.get("kind") == "novelty":
        flagged = (card.get("threshold_set") or {}).get("flagged_novel", {})
        return "novelty statistics; known nodes flagged on held-out simulations: " + ", ".join(
            f"{k} {v:.3f}" for k, v in flagged.items())
    if "standard" in metrics:
        std = metrics["standard"]
        return (f"classes {', '.join(card.get('classes', []))}; at {std.get('dose_e_per_A2', 0):.0e} e/Å²: "
                f"F1 {std.get('f1', float('nan')):.4f}, RMS {std.get('rms_error_pm', float('nan')):.1f} pm")
    bench = (card.get("benchmark") or {}).get("sets", {}).get("located, dose 1e5")
    if bench:  # the figures benchmarks/README.md quotes (bench_classify.py --update-cards)
        parts = [f"{k} {v['precision']:.3f}/{v['recall']:.3f}" for k, v in bench.items()
                 if v["precision"] is not None and v["recall"] is not None]
        return "labels P/R end to end at 1e5 e/Å² (benchmark): " + ", ".join(parts)
    located = (card.get("heldout") or {}).get("metrics", {}).get("located", {}).get("per_label", {})
    if located:
        parts = [f"{k} {v['precision']:.2f}/{v['recall']:.2f}" for k, v in located.items() if not k.startswith("(")]
        return "labels P/R from located atoms (24 held-out 256² graphs): " + ", ".join(parts)
    return ""


def cmd_adapt(args: argparse.Namespace) -> int:
    from ..classify.adapt import adapt_classifier
    from ..io.images import read_image

    check_output_folder(Path(args.output), args.force)
    frames = []
    for path in args.frames:
        image = read_image(path, allow_stack=True)
        pixel_size = args.pixel_size or image.pixel_size_A
        if pixel_size is None:
            raise AtomgraphInputError("no pixel size in the file: give --pixel-size", source=path)
        frames += [(image.frame(i), float(pixel_size)) for i in range(image.frames)]
    card = adapt_classifier(frames, args.model, args.output, minutes=args.minutes, confidence=args.confidence,
                            force=args.force)
    a = card["adaptation"]
    print(f"adapted on {a['frames']} frame(s), pseudo-labels {a['pseudo_labels']}, {a['steps']} steps; "
          f"calibration on simulations: threshold {card['calibration']['threshold']:.3f} -> "
          f"{display_path(args.output)}/ (use --model {args.output})")
    return EXIT_OK
