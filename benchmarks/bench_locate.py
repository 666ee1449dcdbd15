"""Locate benchmark: accuracy on fresh simulated images, speed and peak memory vs image size, AtomAI-like U-Net ratio.

Usage:
    python benchmarks/bench_locate.py accuracy [--images 8] [--weights graphene-si=PATH.safetensors ...]
    python benchmarks/bench_locate.py speed [--repeats 7]      # BENCH_THREADS=1 for the size table on 1 thread
    python benchmarks/bench_locate.py one SIZE      # (internal) one size in a fresh process: time + peak RSS

All runs use torch.set_num_threads(2). Evaluation seeds (500_000+) are disjoint from training seeds (>= 1_000_000)
and from the model cards' held-out seeds (900_000+). Positions are scored with a 1 Å border excluded.
"""

from __future__ import annotations

import argparse
import os
import json
import math
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import atomgraph
from atomgraph.evaluate import evaluate
from atomgraph.locate import load_locator, locate

THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # intra-op threads for the size table
torch.set_num_threads(THREADS)
EVAL_SEED = 500_000
CASES = [("graphene-si", 1e5), ("graphene-si", 1e6), ("graphene-si", 2e4),
         ("mose2-w", 5e4), ("mose2-w", 2e4)]


def accuracy(n_images: int, size: int = 384, weights: dict[str, str] | None = None) -> None:
    """Pooled detection precision/recall/F1 and RMS error per material and dose (pixel size drawn per image).

    ``weights`` maps a material to a locator ``.safetensors`` path (card beside it) used instead of the bundled one."""
    weights = weights or {}
    print(f"| model | dose e/Å² | images ({size}², px 0.06–0.2 Å drawn) | precision | recall | F1 | RMS pm | "
          "RMS pm, global offset removed | species acc. |")
    print("|---|---|---|---|---|---|---|---|---|")
    for material, dose in CASES:
        tp = n_pred = n_truth = 0
        sq = sq_c = 0.0
        sp_ok = sp_n = 0
        for i in range(n_images):
            sim = atomgraph.simulate(material, size=size, dose=dose, seed=EVAL_SEED + i)
            pred = locate(sim.image, weights.get(material, material), pixel_size_A=sim.pixel_size_A)
            r = evaluate(pred, sim.truth, 0.5, 1.0, sim.image.shape)
            tp += r["tp"]; n_pred += r["n_pred"]; n_truth += r["n_truth"]  # noqa: E702
            sq += r["rms_error_A"] ** 2 * r["tp"]
            sq_c += (r["rms_error_pm_centered"] / 100) ** 2 * r["tp"]
            for v in r.get("per_element", {}).values():
                sp_ok += v["tp"]
            sp_n += r["tp"]
        print(f"| {material} | {dose:.0e} | {n_images} | {tp / n_pred:.4f} | {tp / n_truth:.4f} | "
              f"{2 * tp / (n_pred + n_truth):.4f} | {100 * math.sqrt(sq / tp):.1f} | {100 * math.sqrt(sq_c / tp):.1f} | "
              f"{sp_ok / max(sp_n, 1):.4f} |")


class AtomAIUnet(nn.Module):
    """AtomAI-default-like segmentation U-Net: 16 base filters, 3 pooling levels, conv-BN-LeakyReLU blocks,
    a dilated bottleneck (dilations 2, 4, 6), bilinear upsampling + 1x1 conv, skip concatenation, blocks of
    1, 2, 2 | 3 | 2, 2, 1 layers (≈ 0.59 M parameters)."""

    def __init__(self, nb: int = 16) -> None:
        super().__init__()

        def block(c_in, c_out, n, dil=(1,)):
            layers = []
            for k in range(n):
                d = dil[k % len(dil)]
                layers += [nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=d, dilation=d),
                           nn.BatchNorm2d(c_out), nn.LeakyReLU(0.01)]
            return nn.Sequential(*layers)

        self.c1, self.c2, self.c3 = block(1, nb, 1), block(nb, 2 * nb, 2), block(2 * nb, 4 * nb, 2)
        self.bn = block(4 * nb, 8 * nb, 3, dil=(2, 4, 6))
        self.up3, self.up2, self.up1 = nn.Conv2d(8 * nb, 4 * nb, 1), nn.Conv2d(4 * nb, 2 * nb, 1), \
            nn.Conv2d(2 * nb, nb, 1)
        self.u3, self.u2, self.u1 = block(8 * nb, 4 * nb, 2), block(4 * nb, 2 * nb, 2), block(2 * nb, nb, 1)
        self.head = nn.Conv2d(nb, 1, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        up = lambda t: nn.functional.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa
        e1 = self.c1(x)
        e2 = self.c2(self.pool(e1))
        e3 = self.c3(self.pool(e2))
        b = self.bn(self.pool(e3))
        d3 = self.u3(torch.cat([self.up3(up(b)), e3], 1))
        d2 = self.u2(torch.cat([self.up2(up(d3)), e2], 1))
        d1 = self.u1(torch.cat([self.up1(up(d2)), e1], 1))
        return self.head(d1)


def one(size: int, repeats: int, px: float = 0.1) -> dict:
    """Median locate time and the process's peak RSS for one image size (graphene-si, 0.1 Å/px)."""
    base = atomgraph.simulate("graphene-si", size=min(size, 1024), pixel_size_A=px, dose=1e5, seed=EVAL_SEED).image
    reps = int(math.ceil(size / base.shape[0]))
    image = np.tile(base, (reps, reps))[:size, :size].copy()
    del base
    load_locator("graphene-si")
    locate(image[:256, :256], "graphene-si", pixel_size_A=px)  # warm-up
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        atoms = locate(image, "graphene-si", pixel_size_A=px)
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"size": size, "median_s": float(np.median(times)), "min_s": float(np.min(times)), "atoms": len(atoms),
            "peak_rss_MiB": peak, "rss_before_MiB": rss_before, "image_MiB": image.nbytes / 2**20}


def speed(repeats: int) -> None:
    """Speed table (each size in a fresh process for an honest peak RSS) and the AtomAI-like U-Net ratio."""
    print(f"| size px (0.1 Å/px), {THREADS} thread(s) | median s | min s | atoms | peak RSS MiB (whole process) |")
    print("|---|---|---|---|---|")
    for size in (256, 512, 1024, 2048, 4096):
        n = repeats if size <= 1024 else max(3, repeats // 2) if size == 2048 else 3
        out = subprocess.run([sys.executable, __file__, "one", str(size), "--repeats", str(n)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {size} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['atoms']} | {r['peak_rss_MiB']:.0f} |")
    # side by side on the same 1024² image, interleaved so machine load hits both alike; 2 threads, then 1 thread
    # (on a loaded machine, 2 OpenMP threads per process oversubscribe the cores and can be much slower than 1)
    unet = AtomAIUnet().eval()
    n_unet = sum(p.numel() for p in unet.parameters())
    ours = load_locator("graphene-si")
    n_ours = sum(p.numel() for p in ours.net.parameters())
    image = atomgraph.simulate("graphene-si", size=1024, pixel_size_A=0.1, dose=1e5, seed=EVAL_SEED).image
    x = torch.from_numpy((image - image.mean()) / image.std())[None, None]
    for threads in (2, 1):
        torch.set_num_threads(threads)
        t_unet, t_ours = [], []
        locate(image, "graphene-si", pixel_size_A=0.1)
        with torch.inference_mode():
            unet(x)
            for _ in range(repeats):
                t = time.perf_counter()
                unet(x)
                t_unet.append(time.perf_counter() - t)
                t = time.perf_counter()
                locate(image, "graphene-si", pixel_size_A=0.1)
                t_ours.append(time.perf_counter() - t)
        mu, mo = float(np.median(t_unet)), float(np.median(t_ours))
        print(f"\n1024² graphene at 0.1 Å/px, {repeats} interleaved runs, {threads} thread(s):")
        print(f"AtomAI-like U-Net forward only ({n_unet} params): median {mu:.3f} s")
        print(f"atomgraph locate, whole step ({n_ours} params): median {mo:.3f} s  -> ratio {mu / mo:.1f}x")
    torch.set_num_threads(2)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["accuracy", "speed", "one"])
    p.add_argument("size", nargs="?", type=int)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--weights", action="append", default=[], metavar="MATERIAL=PATH",
                   help="accuracy: score this locator .safetensors (card beside it) instead of the bundled one")
    a = p.parse_args()
    if a.what == "accuracy":
        accuracy(a.images, weights=dict(w.split("=", 1) for w in a.weights))
    elif a.what == "speed":
        speed(a.repeats)
    else:
        print(json.dumps(one(a.size, a.repeats)))
