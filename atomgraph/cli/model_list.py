"""``atomgraph models``: the bundled models and the headline of each model card (no torch: the cards are JSON)."""

from __future__ import annotations

import argparse
import json

from ..models.paths import bundled_models
from .common import EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
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
