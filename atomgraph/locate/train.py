"""Train a locator on simulated images only (generated on the fly), then score it on fresh held-out images.

Training images come from :func:`atomgraph.simulate` with every setting drawn from the config's ``image:`` ranges
(pixel size, dose, probe, distortions, background). They pass through the same :func:`prepare` as at inference.
A pool of simulated images is refreshed continuously; batches are random crops with flips and 90° rotations.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from ..config import MaterialConfig, load_material_config
from ..errors import AtomgraphInputError
from ..evaluate import evaluate
from ..io.safe_write import check_writable
from ..models.files import n_parameters, write_card, write_model
from ..simulate import simulate
from ..simulate.perturb import locator_perturbation
from .infer import REFINE_MODES, locate
from .network import STRIDE, LocatorNet
from .normalize import prepare

log = logging.getLogger(__name__)

CROP_PX = 64              # training crop side on the native grid (px)
SIM_NATIVE_PX = 96        # side of each simulated image on the native grid (px)
HEAT_SIGMA_PX = 1.0       # Gaussian width of the center heatmap target (native px)
CLASS_RADIUS_PX = 1.6     # pixels within this distance of a column carry its class target (native px)
POOL_SIZE = 96
REFRESH_PER_STEP = 2
BATCH = 16
DEFAULT_STEPS = 4000
TRAIN_SEED_STRIDE = 1_000_000   # training image seeds: (seed + 1) * stride + k
EVAL_SEED_BASE = 900_000        # held-out images: disjoint from every training seed
VALID_SEED_BASE = 800_000       # validation images (choice of the refinement mode)
WIDTHS = (8, 16, 32)
CONTAMINATION_P = 0.2     # share of training images with an amorphous contamination patch
EMPTY_SITE_WEIGHT = 4.0   # extra heatmap-loss weight at the center of an empty lattice site (see heat_weight)
EMPTY_CLEAR_A = 0.7       # an empty site counts as empty when no real column is this close (Å)


def make_targets(shape: tuple[int, int], xy_native: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap (h, w) with a Gaussian at each column and a class map (h, w) (-1 = ignored) on the native grid."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(float)
    if len(xy_native) == 0:
        return np.zeros(shape, np.float32), np.full(shape, -1, np.int64)
    d, idx = cKDTree(xy_native).query(grid)
    heat = np.exp(-0.5 * (d / HEAT_SIGMA_PX) ** 2).reshape(shape).astype(np.float32)
    classes = np.where(d <= CLASS_RADIUS_PX, cls[idx], -1).reshape(shape).astype(np.int64)
    return heat, classes


def add_contamination(image: np.ndarray, xy_px: np.ndarray, settings, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Hard negatives: a bright amorphous patch (smooth mask, probe-scale texture, 1.5-5x the lattice contrast)
    over part of the image. Returns the image and a mask of the columns it hides (dropped from the targets)."""
    h, w = image.shape
    px = settings.pixel_size_A
    field = gaussian_filter(rng.normal(size=(h, w)), rng.uniform(3.0, 8.0) / px)
    field = (field - field.mean()) / max(field.std(), 1e-9)
    mask = np.clip((field - rng.uniform(0.3, 1.5)) * 2.0, 0.0, 1.0)
    texture = gaussian_filter(rng.random((h, w)), rng.uniform(0.3, 0.6) / px)
    texture = (texture - texture.min()) / max(float(np.ptp(texture)), 1e-9)
    lo, hi = np.percentile(image, [1, 99])
    amplitude = rng.uniform(1.5, 5.0) * (hi - lo)
    added = mask * amplitude * (0.5 + texture)
    noisy = added + rng.normal(size=(h, w)) * np.sqrt(np.maximum(added, 0) * max(hi - lo, 1e-9) / 50.0)
    ij = np.clip(np.rint(xy_px[:, ::-1]).astype(int), 0, [h - 1, w - 1])
    hidden = mask[ij[:, 0], ij[:, 1]] > 0.5
    return (image + noisy).astype(np.float32), hidden


def simulate_sample(config: MaterialConfig | dict, classes: list[str], native_A: float, seed: int
                    ) -> tuple[np.ndarray, ...]:
    """One training image: normalized native image, heatmap target and class target (native grid of ``native_A``
    Å/px). The pixel size is drawn from ``image.pixel_size_A`` (one uniform draw, also when fixed), the dose from
    ``locator.train_dose_e_per_A2`` when given (log-uniform), else by the simulator from ``image.dose_e_per_A2``."""
    config = load_material_config(config)
    rng = np.random.default_rng(seed)
    pixel_range = config.image.pixel_size_A
    px = float(rng.uniform(pixel_range.low, pixel_range.high))  # always one draw: the seed stream stays fixed
    size = int(np.clip(round(SIM_NATIVE_PX * native_A / px), 64, 512))
    loc_cfg = config.locator
    dose_range = loc_cfg.train_dose_e_per_A2
    dose = dose_range.draw_log(rng) if dose_range is not None else None
    source = config
    u, acc = rng.random(), 0.0
    for other, fraction in loc_cfg.train_mix.items():  # a share of images from related materials (same native grid)
        acc += float(fraction)
        if u < acc:
            source, dose = load_material_config(other), None
            break
    perturb = locator_perturbation(loc_cfg) if source is config else None
    sim = simulate(source, size=size, pixel_size_A=px, dose=dose, seed=seed, perturb=perturb)
    image = sim.image
    real = ~sim.truth.vacancy
    if rng.random() < CONTAMINATION_P:
        image, hidden = add_contamination(image, sim.truth.positions_px[real], sim.settings, rng)
        real[np.flatnonzero(real)[hidden]] = False
    if rng.random() < 0.3:  # mild detector non-linearity
        lo_v, hi_v = float(image.min()), float(image.max())
        image = lo_v + (hi_v - lo_v) * ((image - lo_v) / max(hi_v - lo_v, 1e-9)) ** rng.uniform(0.7, 1.4)
    native = prepare(image, px, native_A)
    xy = native.to_native(sim.truth.positions_px[real])
    index = {c: i for i, c in enumerate(classes)}
    index.update({e: index[c] for e, c in loc_cfg.train_element_map.items() if c in index})
    cls = np.array([index.get(e, -1) for e in sim.truth.element[real]], dtype=np.int64)
    heat, cmap = make_targets(native.normalized.shape, xy, cls)
    weight = heat_weight(heat, native.to_native(empty_sites(sim.truth, real)))
    return native.normalized, heat, cmap, weight


def empty_sites(truth, real: np.ndarray) -> np.ndarray:
    """(K, 2) px positions of the truth's empty sites with no real column within :data:`EMPTY_CLEAR_A` (a
    chalcogen site that lost one of its two atoms still holds a column)."""
    empty = truth.vacancy & ~np.asarray(real, bool)
    xy = truth.positions_px[empty]
    if len(xy) and real.any():
        d, _ = cKDTree(truth.positions_A[real]).query(truth.positions_A[empty])
        xy = xy[d > EMPTY_CLEAR_A]
    return xy


def heat_weight(heat: np.ndarray, empty_native: np.ndarray) -> np.ndarray:
    """Per-pixel weight of the heatmap loss: ``1 + 4 heat`` (columns weigh like their rarity), plus
    :data:`EMPTY_SITE_WEIGHT` in a Gaussian of :data:`HEAT_SIGMA_PX` x 1.5 around each empty site: a column
    placed where the lattice has one but the image has none is the locator's costliest error (it hides a vacancy
    from the lattice model)."""
    weight = 1.0 + 4.0 * heat
    if len(empty_native):
        h, w = heat.shape
        yy, xx = np.mgrid[0:h, 0:w]
        d, _ = cKDTree(empty_native).query(np.column_stack([xx.ravel(), yy.ravel()]))
        weight = weight + EMPTY_SITE_WEIGHT * np.exp(-0.5 * (d / (1.5 * HEAT_SIGMA_PX)) ** 2).reshape(h, w)
    return weight.astype(np.float32)


def _crop_batch(pool: list, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """(image, heatmap, class map, loss weight) of :data:`BATCH` random crops with random flips and rotations."""
    xs, hs, cs, ws = [], [], [], []
    for k in rng.integers(0, len(pool), BATCH):
        img, heat, cmap, weight = pool[k]
        h, w = img.shape
        c = min(CROP_PX, h // STRIDE * STRIDE, w // STRIDE * STRIDE)
        y0, x0 = rng.integers(0, h - c + 1), rng.integers(0, w - c + 1)
        four = [a[y0:y0 + c, x0:x0 + c] for a in (img, heat, cmap, weight)]
        r, flip = int(rng.integers(4)), bool(rng.integers(2))
        four = [np.rot90(a, r) for a in four]
        if flip:
            four = [a[:, ::-1] for a in four]
        pad = [(0, CROP_PX - c), (0, CROP_PX - c)]
        xs.append(np.pad(four[0], pad))
        hs.append(np.pad(four[1], pad))
        cs.append(np.pad(four[2], pad, constant_values=-1))
        ws.append(np.pad(four[3], pad, constant_values=1.0))
    return tuple(torch.from_numpy(np.stack(a)[:, None].copy()) for a in (xs, hs)) + (
        torch.from_numpy(np.stack(cs).copy()), torch.from_numpy(np.stack(ws)[:, None].copy()))


def choose_refinement(weights: Path, config: MaterialConfig | dict, n_images: int = 4, size: int = 256
                      ) -> tuple[str, dict]:
    """Pick the final-position mode (image fit or heatmap peak) with the lower RMS error on validation images
    (seeds from VALID_SEED_BASE, disjoint from training and held-out seeds) at the config's typical dose (the
    geometric mean of ``image.dose_e_per_A2``, e/Å²)."""
    config = load_material_config(config)
    dose = config.image.dose_e_per_A2.log_center()
    sims = [simulate(config, size=size, dose=dose, seed=VALID_SEED_BASE + i) for i in range(n_images)]
    rms = {}
    for mode in REFINE_MODES:
        sq = tp = 0.0
        for sim in sims:
            pred = locate(sim.image, weights, pixel_size_A=sim.pixel_size_A, refine=mode)
            r = evaluate(pred, sim.truth, 0.5, 1.0, sim.image.shape)
            sq += r["rms_error_A"] ** 2 * r["tp"]
            tp += r["tp"]
        rms[mode] = 100 * math.sqrt(sq / max(tp, 1))
    best = min(rms, key=rms.get)
    return best, {"dose_e_per_A2": dose, "images": n_images, "seeds": [VALID_SEED_BASE, VALID_SEED_BASE + n_images - 1],
                  "rms_error_pm": rms}


def held_out_metrics(weights: Path, config: MaterialConfig | dict, n_images: int = 6, size: int = 256) -> dict:
    """Detection F1, precision, recall and RMS error (pm) on fresh images (seeds from EVAL_SEED_BASE) per dose:
    2e4 e/Å² (low), the geometric mean of ``image.dose_e_per_A2`` (standard) and its upper end (high)."""
    config = load_material_config(config)
    dose_range = config.image.dose_e_per_A2
    doses = {"low": 2e4, "standard": dose_range.log_center(), "high": float(dose_range.high)}
    out = {}
    for name, dose in doses.items():
        rows = []
        for i in range(n_images):
            sim = simulate(config, size=size, dose=dose, seed=EVAL_SEED_BASE + i)
            pred = locate(sim.image, weights, pixel_size_A=sim.pixel_size_A)
            rows.append(evaluate(pred, sim.truth, 0.5, 1.0, sim.image.shape))
        tp = sum(r["tp"] for r in rows)
        n_pred = sum(r["n_pred"] for r in rows)
        n_truth = sum(r["n_truth"] for r in rows)
        rms = math.sqrt(sum(r["rms_error_A"] ** 2 * r["tp"] for r in rows) / max(tp, 1))
        elem = {}
        for r in rows:
            for e, v in r.get("per_element", {}).items():
                acc = elem.setdefault(e, [0, 0, 0])
                acc[0] += v["tp"]; acc[1] += v["n_pred"]; acc[2] += v["n_truth"]  # noqa: E702
        out[name] = {"dose_e_per_A2": dose, "images": n_images, "size_px": size,
                     "seeds": [EVAL_SEED_BASE, EVAL_SEED_BASE + n_images - 1],
                     "precision": tp / max(n_pred, 1), "recall": tp / max(n_truth, 1),
                     "f1": 2 * tp / max(n_pred + n_truth, 1), "rms_error_pm": 100 * rms,
                     "species_recall": {e: a[0] / max(a[2], 1) for e, a in elem.items()},
                     "species_precision": {e: a[0] / max(a[1], 1) for e, a in elem.items()}}
    return out


def finalize_card(weights: Path, config: MaterialConfig | dict, card: dict) -> dict:
    """Choose the refinement mode on validation images, score held-out images, and write the card beside
    ``weights`` (JSON, readable by all)."""
    card["refine"], card["refine_validation"] = choose_refinement(Path(weights), config)
    write_card(weights, card)
    card["metrics"] = held_out_metrics(Path(weights), config)
    write_card(weights, card)
    return card


def train_locator(config: str | Path, output: str | Path, *, seed: int = 0, minutes: float | None = None,
                  progress: bool = True, force: bool = False, steps: int = DEFAULT_STEPS) -> dict:
    """Train a locator on simulated images and write ``output`` (.safetensors) plus its JSON model card.

    Parameters
    ----------
    config : material config (path or built-in name); its ``locator:`` section gives ``pixel_size_A`` (the native
        sampling, Å/px) and ``classes``.
    output : weights path (``.safetensors``); the card is written beside it with suffix ``.json``.
    seed : seed of the network init, the batch order and every training image (fully deterministic without
        ``minutes``).
    minutes : optional wall-clock cap; training stops early when reached (then the result depends on speed).
    progress : show a tqdm progress bar.
    force : overwrite existing outputs.
    steps : optimizer steps.

    Returns
    -------
    dict : the model card.
    """
    settings = load_material_config(config)
    output = Path(output)
    if output.suffix != ".safetensors":
        raise AtomgraphInputError("locator weights must be a .safetensors file", source=str(output))
    check_writable(output, force)
    check_writable(output.with_suffix(".json"), force)
    loc_cfg = settings.locator
    if loc_cfg.classes is None or loc_cfg.pixel_size_A is None:
        raise AtomgraphInputError("config has no locator: pixel_size_A / classes section", source=str(config))
    classes, native_A = [str(c) for c in loc_cfg.classes], float(loc_cfg.pixel_size_A)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.time()
    pool = SamplePool(settings, classes, native_A, (seed + 1) * TRAIN_SEED_STRIDE)
    net = LocatorNet(len(classes), WIDTHS)
    done, loss_avg = fit_locator(net, pool, rng, steps, minutes, progress, settings.name)
    card = locator_card(settings, config, net, classes, native_A, seed, done, loss_avg, pool, time.time() - t0)
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    card = write_model(output, state, {"card": {k: card[k] for k in (
        "kind", "name", "classes", "native_pixel_size_A", "threshold", "architecture")}}, card, force)
    finalize_card(output, settings, card)
    log.info("locator written to %s (%d parameters)", output, card["parameters"])
    return card


class SamplePool:
    """Training samples of simulated images (seeds ``base + i``), :data:`POOL_SIZE` at a time, refreshed as
    training goes; ``class_weight`` balances the species classes of the first pool (sqrt of inverse frequency,
    at most 10x)."""

    def __init__(self, settings: MaterialConfig, classes: list[str], native_A: float, base: int) -> None:
        self.settings, self.classes, self.native_A, self.base = settings, classes, native_A, base
        self.n_sims = 0
        self.samples = [self.fresh() for _ in range(POOL_SIZE)]
        counts = np.bincount(np.concatenate([p[2][p[2] >= 0] for p in self.samples]),
                             minlength=len(classes)).astype(float)
        weight = torch.tensor((counts.sum() / np.maximum(counts, 1)) ** 0.5, dtype=torch.float32)
        self.class_weight = torch.clamp(weight / weight.min(), max=10.0)

    def fresh(self):
        """One new simulated sample (image, heatmap, class map, loss weight)."""
        self.n_sims += 1
        return simulate_sample(self.settings, self.classes, self.native_A, self.base + self.n_sims - 1)

    def refresh(self, rng: np.random.Generator) -> None:
        """Replace :data:`REFRESH_PER_STEP` random samples by fresh ones."""
        for _ in range(REFRESH_PER_STEP):
            self.samples[int(rng.integers(len(self.samples)))] = self.fresh()


def fit_locator(net: LocatorNet, pool: SamplePool, rng: np.random.Generator, steps: int, minutes: float | None,
                progress: bool, name: str) -> tuple[int, float | None]:
    """Adam with cosine decay over ``steps`` (or the ``minutes`` cap, whichever runs out first): center heatmap
    BCE (weighted by :func:`heat_weight`) + 0.3 x class cross-entropy. Returns the steps done and the smoothed
    final loss."""
    from tqdm import tqdm

    t_start = time.time()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    bar = tqdm(total=steps, disable=not progress, desc=f"train locator {name}", unit="step")
    loss_avg, done = None, 0
    for step in range(steps):
        if minutes is not None and time.time() - t_start > 60 * minutes:
            log.info("time cap reached after %d steps", step)
            break
        frac = step / steps
        if minutes is not None:  # anneal by whichever runs out first: steps or the time cap
            frac = max(frac, (time.time() - t_start) / (60 * minutes))
        for g in opt.param_groups:
            g["lr"] = 3e-3 * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * frac)))
        pool.refresh(rng)
        x, heat, cmap, weight = _crop_batch(pool.samples, rng)
        out = net(x)
        bce = F.binary_cross_entropy_with_logits(out[:, :1], heat, weight=weight)
        ce = F.cross_entropy(out[:, 1:], cmap, weight=pool.class_weight, ignore_index=-1) if (cmap >= 0).any() \
            else out.sum() * 0
        loss = bce + 0.3 * ce
        opt.zero_grad()
        loss.backward()
        opt.step()
        lv = loss.item()
        loss_avg = lv if loss_avg is None else 0.98 * loss_avg + 0.02 * lv
        done = step + 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss_avg:.4f}", images=pool.n_sims)
    bar.close()
    return done, loss_avg


def locator_card(settings: MaterialConfig, config, net: LocatorNet, classes: list[str], native_A: float, seed: int,
                 done: int, loss_avg: float | None, pool: SamplePool, seconds: float) -> dict:
    """The model card of a trained locator (held-out metrics are added by :func:`finalize_card`)."""
    cfg = settings.to_dict()
    return {
        "kind": "locator", "name": cfg["name"], "config": str(config), "classes": classes,
        "native_pixel_size_A": native_A, "threshold": 0.3,
        "architecture": {"type": "LocatorNet", "widths": list(WIDTHS), "outputs": ["center"] + classes},
        "parameters": n_parameters(net),
        "training": {"seed": seed, "steps": done, "batch": BATCH, "crop_px": CROP_PX,
                     "images_simulated": pool.n_sims, "image_seeds": [pool.base, pool.base + pool.n_sims - 1],
                     "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
                     "final_loss": loss_avg, "class_weight": pool.class_weight.tolist(),
                     "data_ranges": {**cfg["image"], **({"dose_e_per_A2": cfg["locator"]["train_dose_e_per_A2"]}
                                                       if settings.locator.train_dose_e_per_A2 is not None else {})}},
    }


if __name__ == "__main__":  # python -m atomgraph.locate.train CONFIG OUTPUT [minutes] [threads]
    import sys

    logging.basicConfig(level=logging.INFO)
    if len(sys.argv) > 4:
        torch.set_num_threads(int(sys.argv[4]))
    train_locator(sys.argv[1], sys.argv[2], minutes=float(sys.argv[3]) if len(sys.argv) > 3 else None, force=True)
