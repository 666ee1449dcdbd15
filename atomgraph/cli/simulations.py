"""The ``simulate`` and ``demo`` verbs: images with exact truth. Kept apart from the image verbs (``locate``,
``classify``, ``analyze``), which then do not import the simulator and the tracker."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..demo import run_demo
from ..errors import AtomgraphInputError
from ..io.safe_write import OutputFolder, plain_name, safe_child
from ..io.tables import write_truth_csv
from ..materials import get_material
from ..simulate import simulate
from ..simulate.settings import check_request
from ..simulate.simulation import frame_shape
from .common import EXIT_OK, display_path
from .movies import simulate_movie_command


def defect_counts(items: list[str] | None) -> dict[str, float]:
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


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    material = get_material(args.material)  # validate before touching the disk
    plain_name(material.name, "config key 'name'", source=args.material)  # names the files written below
    counts = defect_counts(args.defect)
    if args.count < 1:
        raise AtomgraphInputError(f"--count must be >= 1, got {args.count}")
    if args.frames is not None:
        return simulate_movie_command(args, material, counts)
    manifest = {"material": material.name, "size_px": args.size, "pixel_size_A": args.pixel_size,
                "dose_e_per_A2": args.dose, "seed": args.seed, "defects": counts, "images": []}
    # check the arguments once before creating anything
    check_request(frame_shape(args.size), args.pixel_size, args.dose)
    simulate(material, size=8, pixel_size_A=args.pixel_size, dose=args.dose, seed=args.seed)
    with OutputFolder(args.output, args.force) as tmp:
        for i in tqdm(range(args.count), desc="simulate", unit="image", disable=args.count < 2 or args.quiet):
            seed = args.seed + i
            sim = simulate(material, size=args.size, pixel_size_A=args.pixel_size, dose=args.dose, seed=seed,
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
    counts_text = ", ".join(f"{k} {v}" for k, v in total.items())
    print(f"wrote {args.count} image(s) to {display_path(args.output)}: {counts_text}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    print(run_demo(Path(args.output), force=args.force))
    return EXIT_OK
