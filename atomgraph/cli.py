"""The ``atomgraph`` command.

Verbs (a contract, see ARCHITECTURE.md): simulate, locate, classify, analyze, batch, adapt, evaluate, train, models,
demo, track, watch.
User mistakes (:class:`~atomgraph.errors.AtomgraphInputError`) print one line on stderr and exit 2; anything else is
an internal error: one line and exit 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path

from . import __version__
from .errors import AtomgraphInputError
from .io.safe_write import OutputFolder, check_output_folder

log = logging.getLogger("atomgraph")

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
# warnings of the running command, printed on stderr when it succeeds (a failing command prints one line: the error)
_WARNINGS: list[str] = []


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so usage errors are one line + exit 2."""

    def error(self, message: str) -> None:  # noqa: D102
        raise AtomgraphInputError(f"{self.prog}: {message}")


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


def _defect_counts(items: list[str] | None) -> dict[str, float]:
    counts: dict[str, float] = {}
    for item in items or []:
        label, sep, value = item.partition("=")
        try:
            counts[label.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            sep = ""
        if not sep:
            raise AtomgraphInputError(f"--defect expects LABEL=COUNT (e.g. Si3=2), got {item!r}")
    return counts


# ----------------------------------------------------------------------------------------------------------- outputs
# ---------------------------------------------------------------------------------------------------------- commands
def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from .io.safe_write import plain_name, safe_child
    from .io.tables import write_truth_csv
    from .materials import get_material
    from .simulate import simulate

    material = get_material(args.material)  # validate before touching the disk
    plain_name(material.name, "config key 'name'", source=args.material)  # names the files written below
    counts = _defect_counts(args.defect)
    if args.count < 1:
        raise AtomgraphInputError(f"--count must be >= 1, got {args.count}")
    if args.frames is not None:
        return _simulate_movie(args, material, counts)
    manifest = {"material": material.name, "size_px": args.size, "pixel_size_A": args.pixel_size,
                "dose_e_per_A2": args.dose, "seed": args.seed, "defects": counts, "images": []}
    # check the arguments once before creating anything
    simulate(material, size=8, pixel_size=args.pixel_size, dose=args.dose, seed=args.seed)
    with OutputFolder(args.output, args.force) as tmp:
        for i in tqdm(range(args.count), desc="simulate", unit="image", disable=args.count < 2 or args.quiet):
            seed = args.seed + i
            sim = simulate(material, size=args.size, pixel_size=args.pixel_size, dose=args.dose, seed=seed,
                           counts=counts or None)
            name = f"{material.name}_seed{seed:05d}"
            np.save(safe_child(tmp, f"{name}.npy"), sim.image)
            write_truth_csv(sim.truth, safe_child(tmp, f"{name}.csv"))
            manifest["images"].append({"name": name, "image": f"{name}.npy", "truth": f"{name}.csv",
                                       **sim.manifest()})
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    total = {}
    for image in manifest["images"]:
        for label, n in image["counts"].items():
            total[label] = total.get(label, 0) + n
    print(f"wrote {args.count} image(s) to {args.output}: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    return EXIT_OK


def _simulate_movie(args: argparse.Namespace, material, counts: dict) -> int:
    """``simulate --frames N``: one evolving structure -> NAME.npy stack + per-frame truth with track_id + events."""
    from .track import simulate_movie
    from .track.output import write_movie

    if args.count != 1:
        raise AtomgraphInputError("--frames makes one movie: leave out --count")
    check_output_folder(Path(args.output), args.force)  # before the work; nothing is written until it succeeds
    movie = simulate_movie(material, frames=args.frames, size=args.size, pixel_size=args.pixel_size, dose=args.dose,
                           seed=args.seed, counts=counts or None, drift_A_per_frame=args.drift)
    with OutputFolder(args.output, args.force) as tmp:
        write_movie(movie, tmp, f"{material.name}_seed{args.seed:05d}")
    print(f"wrote a {args.frames}-frame movie to {args.output}: {len(movie.events)} event(s)")
    return EXIT_OK


def cmd_locate(args: argparse.Namespace) -> int:
    from .io.images import read_image
    from .io.safe_write import check_writable
    from .io.tables import write_atoms_csv
    from .locate import locate

    from .pipeline import check_scale

    check_writable(args.output, args.force)
    image = read_image(args.image, allow_stack=True)
    if image.frames > 1:
        raise AtomgraphInputError(f"is a stack of {image.frames} frames; `atomgraph locate` takes one 2D image: "
                                  "`atomgraph analyze` takes stacks (frame by frame), or save one frame",
                                  source=args.image)
    pixel_size = _pixel_size(args, image)
    check_scale(image.shape, pixel_size, args.model)
    atoms = locate(image.data, model=args.model, pixel_size=pixel_size)
    write_atoms_csv(atoms, args.output, force=args.force)
    print(f"{len(atoms)} atoms -> {args.output}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from .classify import classify
    from .io.coords import read_coordinates
    from .io.graphs import check_graph_output, write_graph

    check_graph_output(args.output, args.force)
    atoms = read_coordinates(args.coords, pixel_size_A=args.pixel_size)
    _check_known_elements(atoms, args.model, args.coords)
    graph = classify(atoms, model=args.model, threshold=args.threshold)
    write_graph(graph, args.output, force=args.force)
    _print_label_counts(graph.atoms.label)
    return EXIT_OK


def _check_known_elements(atoms, model: str, source: str) -> None:
    """Refuse atoms whose element the classifier has no input for (U in a graphene file): the model would label
    them from geometry alone with a host or defect label, which is silently wrong. Atoms without an element (no
    ``element`` column, or vacancy rows) are fine."""
    import numpy as np

    from .classify import load_classifier

    known = sorted(set(load_classifier(model).meta.get("label_elements", {}).values()) - {""})
    element = np.asarray(atoms.element, dtype=object)
    unknown = (element != "") & ~np.isin(element, known) & ~np.asarray(atoms.vacancy, bool)
    if unknown.any():
        names, counts = np.unique(element[unknown].astype(str), return_counts=True)
        found = ", ".join(f"{n} ({c} atom{'s' if c > 1 else ''})" for n, c in zip(names, counts.tolist()))
        raise AtomgraphInputError(f"element {found} is not known to the {model} classifier (it knows "
                                  f"{', '.join(known)}); remove those atoms, or drop the element column to classify "
                                  "from positions alone", source=source)


def cmd_analyze(args: argparse.Namespace) -> int:
    from .io.images import read_image
    from .pipeline import analyze, check_scale, parse_exports, save_stack

    export = parse_exports(args.export)  # an unknown name is refused before any work
    check_output_folder(Path(args.output), args.force)
    image = read_image(args.image, allow_stack=True)
    if args.model is None:
        _which_model(args, image)
    pixel_size = _pixel_size(args, image)
    check_scale(image.shape, pixel_size, args.model)
    if image.frames == 1:
        result = analyze(image.frame(0), model=args.model, pixel_size=pixel_size, threshold=args.threshold)
        with OutputFolder(args.output, args.force) as tmp:
            result.save(tmp, export=export, overlay_full=args.overlay_full)
        print(result.summary())
        return EXIT_OK
    from tqdm import tqdm

    results = [analyze(image.frame(i), model=args.model, pixel_size=pixel_size, threshold=args.threshold)
               for i in tqdm(range(image.frames), desc="analyze", unit="frame")]
    with OutputFolder(args.output, args.force) as tmp:
        save_stack(results, tmp, export=export, overlay_full=args.overlay_full)
    print(f"{image.frames} frames; per frame: " + "; ".join(
        f"{i}: " + ", ".join(f"{k} {v}" for k, v in r.defect_counts().items()) for i, r in enumerate(results)))
    return EXIT_OK


def cmd_adapt(args: argparse.Namespace) -> int:
    from .classify.adapt import adapt_classifier
    from .io.images import read_image

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
          f"calibration on simulations: threshold {card['calibration']['threshold']:.3f} -> {args.output}/ "
          f"(use --model {args.output})")
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .batch import batch

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
        summary = batch(args.patterns, model=args.model, output=args.output, pixel_size=args.pixel_size,
                        scheduler=args.scheduler, workers=args.workers, threshold=args.threshold, force=args.force,
                        memory_limit=args.memory_limit, on_start=on_start, on_result=on_result)
    finally:
        if bar is not None:
            bar.close()
    rate = f", {summary.frames_per_second:.2f} frames/s" if summary.ok else ""
    print(f"{summary.ok} analyzed, {summary.skipped} skipped (done before), {summary.failed} failed of "
          f"{summary.frames} frame(s) in {summary.seconds:.1f} s{rate} -> {args.output}/"
          "{atoms,defects,frames}.parquet")
    if summary.failed:
        print(f"failed frames are listed with their error in {args.output}/frames.parquet (status 'error'); a rerun "
              "retries them", file=sys.stderr)
    return EXIT_OK


def _which_model(args: argparse.Namespace, image) -> None:
    """``analyze`` without ``--model``: exit 2 listing the bundled models whose lattice matches (never guess)."""
    from .pipeline import check_scale
    from .scale import bundled_model_names, which_model_message

    pixel_size = None if args.pixel_size == "auto" else (args.pixel_size or image.pixel_size_A)
    if pixel_size is not None:
        check_scale(image.shape, pixel_size, bundled_model_names()[0])  # absurd sizes first, before any FFT
    raise AtomgraphInputError(which_model_message(image.frame(0), pixel_size, image.pixel_size_A is not None),
                              source=args.image)


def _pixel_size(args: argparse.Namespace, image) -> float:
    """--pixel-size (a number or ``auto``), else the file's calibration, checked against the lattice the image shows
    (atomgraph.scale): warnings go to stderr, a pixel size that cannot fit is a usage error naming the file."""
    from .pipeline import check_scale
    from .scale import check_lattice_scale

    pixel_size = args.pixel_size or image.pixel_size_A
    if pixel_size is None:
        raise AtomgraphInputError("pixel size is needed: the file has no calibration, give --pixel-size (Å/px) or "
                                  "--pixel-size auto", source=args.image)
    if pixel_size != "auto":
        check_scale(image.shape, pixel_size, args.model)  # absurd sizes first, before any FFT
    try:
        check = check_lattice_scale(image.frame(0), args.model, pixel_size, strict=args.strict,
                                    lattice_check=not args.no_lattice_check)
    except AtomgraphInputError as exc:
        raise AtomgraphInputError(str(exc), source=args.image) from None
    _WARNINGS.extend(f"atomgraph: warning: {args.image}: {warning}" for warning in check.warnings)
    if pixel_size == "auto":
        _WARNINGS.append(f"atomgraph: {args.image}: pixel size measured from the {check.material} lattice: "
                         f"{check.pixel_size_A:.4g} Å/px")
    return check.pixel_size_A


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .io.coords import read_coordinates

    pred = read_coordinates(args.pred, pixel_size_A=args.pixel_size)
    truth = read_coordinates(args.truth, pixel_size_A=args.pixel_size or pred.pixel_size_A)
    report = evaluate(pred, truth, tolerance_A=args.tolerance)
    print(format_report(report))
    return EXIT_OK


def format_report(report: dict) -> str:
    """The evaluate dict as a small text table: detection, RMS error, then per label and per element."""
    f = lambda v: "  -  " if v != v else f"{v:.3f}"  # noqa: E731 (NaN-safe)
    lines = [f"detection (tolerance {report['tolerance_A']:g} Å, border {report['border_A']:g} Å): "
             f"precision {f(report['precision'])}  recall {f(report['recall'])}  F1 {f(report['f1'])}  "
             f"(pred {report['n_pred']}, truth {report['n_truth']}, matched {report['tp']})",
             f"RMS position error: {report['rms_error_pm']:.1f} pm"]
    for key in ("per_label", "per_element"):
        if key not in report:
            continue
        lines.append(f"{key.replace('_', ' ')}:")
        lines.append(f"  {'name':<8}{'truth':>7}{'pred':>7}{'precision':>11}{'recall':>8}{'F1':>7}")
        for name, r in report[key].items():
            lines.append(f"  {name:<8}{r['n_truth']:>7}{r['n_pred']:>7}{f(r['precision']):>11}{f(r['recall']):>8}"
                         f"{f(r['f1']):>7}")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    from .io.safe_write import check_writable

    check_writable(args.output, args.force)
    if args.stage == "locator":
        from .locate.train import train_locator as train
    else:
        from .classify.train import train_classifier as train
    if args.minutes is not None and not args.minutes > 0:
        raise AtomgraphInputError(f"--minutes must be positive, got {args.minutes}")
    card = train(args.config, args.output, seed=args.seed, force=args.force, minutes=args.minutes)
    print(json.dumps({k: card[k] for k in ("name", "metrics", "calibration") if k in card}, indent=2))
    return EXIT_OK


def cmd_track(args: argparse.Namespace) -> int:
    """``track STACK... --model M -o OUTDIR``: tracks, events, transitions, drift, timeline.png, events.png."""
    from tqdm import tqdm

    from .track import track
    from .track.frames import FrameSource
    from .track.output import write_track

    check_output_folder(Path(args.output), args.force)
    source = FrameSource(args.stack)
    pixel_size = args.pixel_size or source.pixel_size_A
    if pixel_size is None:
        raise AtomgraphInputError("the file has no pixel size: give --pixel-size (Å/px)", source=args.stack[0])
    with tqdm(total=len(source), desc="track", unit="frame", disable=args.quiet) as bar:
        result = track(source, model=args.model, pixel_size=pixel_size, memory=args.memory,
                       progress=lambda _k: bar.update(1))
    with OutputFolder(args.output, args.force) as tmp:
        write_track(result, tmp, get_frame=source.__getitem__)
    for frame, reason in result.skipped:
        _WARNINGS.append(f"atomgraph: warning: frame {frame} skipped: {reason}")
    for e in result.events:
        print(f"frame {e['frame']:>4}  {e['type']:<12} sites {e['track_ids']:<12} at ({e['x_px']:.1f}, "
              f"{e['y_px']:.1f}) px  p={e['prob']:.2f}")
    n_tracks = len(set(result.tracks["track_id"].tolist()))
    print(f"tracked {result.n_frames - len(result.skipped)} of {result.n_frames} frame(s): {n_tracks} sites, "
          f"{len(result.events)} event(s) -> {args.output}")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    """``watch DIR --model M -o OUTDIR``: each new complete frame file in DIR tracked as it lands; CSVs rewritten
    atomically after every frame, events printed as they are confirmed, PNGs at the end (also on Ctrl-C)."""
    from .io.images import read_image
    from .track import Tracker
    from .track.frames import UnreadableFrame
    from .track.output import write_track
    from .track.watch import complete_files

    folder, out = Path(args.folder), Path(args.output)
    if not folder.is_dir():
        raise AtomgraphInputError("not a folder", source=str(folder))
    check_output_folder(out, args.force)
    tracker, paths, printed = None, [], set()
    try:
        for path in complete_files(folder, args.pattern, args.poll, idle_exit_s=args.idle_exit,
                                   max_files=args.max_frames):
            try:
                image = read_image(path)
                frame, pixel_size = image.data, args.pixel_size or image.pixel_size_A
            except AtomgraphInputError as exc:
                frame, pixel_size = UnreadableFrame(str(exc)), args.pixel_size
            if tracker is None:
                if pixel_size is None:
                    raise AtomgraphInputError("the file has no pixel size: give --pixel-size (Å/px)", source=str(path))
                tracker = Tracker(args.model, pixel_size, memory=args.memory)
            paths.append(path)
            problem = tracker.add(frame)
            if problem is not None:
                print(f"atomgraph: warning: frame {len(paths) - 1} ({path.name}) skipped: {problem}", file=sys.stderr)
                continue
            result = tracker.result()
            out.mkdir(exist_ok=True)
            write_track(result, out, force=True, figures=False)
            for e in result.events:
                key = (e["frame"], e["type"], e["track_ids"])
                if key not in printed:
                    printed.add(key)
                    print(f"frame {e['frame']:>4}  {e['type']:<12} sites {e['track_ids']:<12} at "
                          f"({e['x_px']:.1f}, {e['y_px']:.1f}) px  p={e['prob']:.2f}", flush=True)
    except KeyboardInterrupt:
        print("atomgraph: stopping; writing the outputs", file=sys.stderr)
    if tracker is None or not out.is_dir():
        print(f"no frame tracked; nothing written to {out}")
        return EXIT_OK
    result = tracker.result()
    write_track(result, out, get_frame=lambda i: read_image(paths[i]).data, force=True)
    print(f"tracked {result.n_frames - len(result.skipped)} of {result.n_frames} frame(s), {len(result.events)} "
          f"event(s) -> {out}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from .weights import bundled_models

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
    if "standard" in metrics:
        std = metrics["standard"]
        return (f"classes {', '.join(card.get('classes', []))}; at {std.get('dose_e_per_A2', 0):.0e} e/Å²: "
                f"F1 {std.get('f1', float('nan')):.4f}, RMS {std.get('rms_error_pm', float('nan')):.1f} pm")
    located = (card.get("heldout") or {}).get("metrics", {}).get("located", {}).get("per_label", {})
    if located:
        parts = [f"{k} {v['precision']:.2f}/{v['recall']:.2f}" for k, v in located.items() if not k.startswith("(")]
        return "labels P/R from located atoms: " + ", ".join(parts)
    return ""


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    print(run_demo(Path(args.output), force=args.force))
    return EXIT_OK


def _print_label_counts(labels) -> None:
    from collections import Counter

    counts = Counter(str(x) for x in labels)
    width = max([5] + [len(k) for k in counts])
    print(f"{'label':<{width}}  count")
    for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{label or '(none)':<{width}}  {n}")


# ------------------------------------------------------------------------------------------------------------ parser
def threshold_option(p: argparse.ArgumentParser) -> None:
    """``--threshold``: nodes whose calibrated probability is below it are flagged uncertain."""
    p.add_argument("--threshold", type=float, default=None,
                   help="flag nodes uncertain below this probability (default: the model's calibrated threshold)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="atomgraph", description="STEM images of 2D materials -> labeled defect graphs.")
    parser.add_argument("--version", action="version", version=f"atomgraph {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser, output_help: str) -> None:
        p.add_argument("-o", "--output", required=True, help=output_help)
        p.add_argument("--force", action="store_true", help="overwrite existing outputs")
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

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
    p.set_defaults(func=cmd_simulate)

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

    p = sub.add_parser("locate", help="find atomic columns in an image")
    p.add_argument("image")
    model_and_pixel_size(p, "Å/px, or auto (measured from the lattice); default: from the file", image=True)
    common(p, "atoms CSV")
    p.set_defaults(func=cmd_locate)

    p = sub.add_parser("classify", help="label local environments from a coordinate file")
    p.add_argument("coords", help="CSV (x_px,y_px or x_A,y_A [,element]) or any file ase.io.read reads")
    model_and_pixel_size(p, "Å/px (for x_px/y_px input)")
    threshold_option(p)
    common(p, "graph file: .graphml .json .csv .extxyz .pt")
    p.set_defaults(func=cmd_classify)

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
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("adapt", help="self-train a classifier on your own unlabeled frames -> a model folder")
    p.add_argument("frames", nargs="+", metavar="FRAME", help="image files (stacks: every frame)")
    model_and_pixel_size(p, "Å/px for every file (default: each file's calibration)")
    p.add_argument("--minutes", type=_positive(float), default=5.0, help="fine-tuning budget (default 5)")
    p.add_argument("--confidence", type=float, default=0.99,
                   help="calibrated probability a node needs to become a pseudo-label (default 0.99)")
    common(p, "model folder to write (use it as --model FOLDER)")
    p.set_defaults(func=cmd_adapt)

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
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("track", help="movie -> site tracks, label timelines, events, transition statistics")
    p.add_argument("stack", nargs="+", metavar="STACK",
                   help="a stack file (.npy (frames, rows, cols), .tif, .emd, .dm4, ...) or single frames in order")
    model_and_pixel_size(p, "Å/px (default: the file's calibration)")
    p.add_argument("--memory", type=int, default=2, help="frames a site may be missed and keep its id (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p, "output folder: tracks.csv events.csv transitions.csv drift.csv timeline.png events.png")
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("watch", help="live: track each new frame file in a folder as it lands")
    p.add_argument("folder", metavar="DIR", help="folder the microscope writes frame files into (one frame each)")
    model_and_pixel_size(p, "Å/px (default: the first file's calibration)")
    p.add_argument("--pattern", default="*", help="file name pattern, e.g. '*.tif' (default: every file)")
    p.add_argument("--poll", type=_positive(float), default=0.5, help="seconds between looks (default 0.5)")
    p.add_argument("--memory", type=int, default=2, help="frames a site may be missed and keep its id (default 2)")
    p.add_argument("--max-frames", type=_positive(int), default=None, help="stop after this many files")
    p.add_argument("--idle-exit", type=_positive(float), default=None,
                   help="stop when no new file has completed for this many seconds (default: run until Ctrl-C)")
    common(p, "output folder (CSVs rewritten after every frame; PNGs at the end)")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("evaluate", help="compare predicted atoms with truth")
    p.add_argument("pred")
    p.add_argument("truth")
    p.add_argument("--tolerance", type=_positive(float), default=0.5, help="match distance in Å (default 0.5)")
    p.add_argument("--pixel-size", type=_positive(float), default=None, help="Å/px for px-only CSVs")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train a locator or classifier on simulated data")
    p.add_argument("stage", choices=["locator", "classifier"])
    p.add_argument("--config", required=True, help="material config .yaml (or a built-in name)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=None,
                   help="wall-clock budget (default: locator about 14 min by steps, classifier 10 min)")
    common(p, "weights file (.safetensors); a .json model card is written beside it")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", help="bundled models and their cards")
    p.add_argument("--json", action="store_true", help="print the full cards as JSON")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("demo", help="simulate a graphene-Si image, analyze it, compare with the truth")
    p.add_argument("-o", "--output", default="atomgraph-demo", help="output folder (default ./atomgraph-demo)")
    p.add_argument("--force", action="store_true", help="overwrite an existing demo folder")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    _WARNINGS.clear()
    try:
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        for line in _WARNINGS:
            print(line, file=sys.stderr)
        return code
    except BrokenPipeError:
        # the reader went away (`atomgraph evaluate ... | head -1`): stop quietly, as the Python docs recommend,
        # pointing stdout at devnull so the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except AtomgraphInputError as exc:
        if debug:
            raise
        print(f"atomgraph: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("atomgraph: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"atomgraph: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
