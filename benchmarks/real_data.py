"""The whole pipeline on the real HAADF/ADF-STEM images in /work/shared/data/real (never trained on).

Usage:
    python benchmarks/real_data.py [--data DIR] [--cache DIR] [--no-cache] [--only graphene|tmd|library]

DIR defaults to /work/shared/data/real; when it does not exist the script says so and exits 0. The files there are
third-party and mostly unlicensed: they are read in place, never copied.

Prints
1. per image (pixel size from SOURCES.md, FFT value where SOURCES says to prefer it, FFT estimate for uncalibrated
   frames): atoms found, the lattice-consistency fraction (atoms whose nearest real neighbor lies within ±15 % of the
   lattice bond: graphene C–C 1.42 Å; TMD metal–chalcogen a/√3 of that material) and defect counts per label;
2. on the labeled graphene-Si library (53 frames): Si detection recall / false positives (predicted Si3/Si4 or
   element Si matched to labeled Si within 0.5 Å), Si3 vs Si4 accuracy on the matched Si1C3/Si1C4, a confusion
   table, what the dimers/trimers get, and the projected Si–C distances the pipeline measures.
Writes benchmarks/out/real_graphene.png, real_tmd.png (contact sheets), real_library.png (library frames with the
labeled Si) and real_tmd_histograms.png (sublattice intensity histograms).

Results of each frame are cached under --cache (default /tmp/atomgraph_real_cache), keyed by the bundled weights'
sha256, so a rerun with unchanged weights only redoes the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
DATA = Path("/work/shared/data/real")
CACHE = Path("/tmp/atomgraph_real_cache")
TOL = 0.15        # relative tolerance of the lattice-consistency figure
MATCH_A = 0.5     # Si matching radius
SI_LABELS = ("Si3", "Si4")

# file, pixel size Å/px (and where it comes from), model, material, lattice bond Å (graphene C–C; TMD a/√3).
# Each TMD frame gets the model of its host (MoS2 -> mos2-v, WS2 -> ws2-mo, WSe2 -> wse2-v); the Se-implanted MoS2
# and the WS(1-x)Se(x) Janus frames have no model of their own: the closest host's model is used, and what that
# gets wrong is part of the report.
FRAMES = [
    ("graphene_si_2nm.npy", 0.078, "file", "graphene-si", "graphene", 1.42),
    ("graphene_gb_4nm.npy", 0.0781, "file", "graphene-si", "graphene", 1.42),
    ("graphene_gb_6nm.npy", 0.1172, "file", "graphene-si", "graphene", 1.42),
    ("graphene_si_dimer.npy", 0.0384, "FFT", "graphene-si", "graphene", 1.42),
    ("graphene_si_trimer.npy", 0.0363, "FFT", "graphene-si", "graphene", 1.42),
    ("mos2_se_implanted_temul.npy", 0.127, "file", "mos2-v", "MoS2", 3.16 / math.sqrt(3)),
    ("mos2_v_doped_scilink_exp000.npy", 0.1758, "file", "mos2-v", "MoS2", 3.16 / math.sqrt(3)),
    ("mos2_scilink_exp001.npy", 0.1367, "file", "mos2-v", "MoS2", 3.16 / math.sqrt(3)),
    ("mos2_scilink_exp002.npy", 0.128, "FFT", "mos2-v", "MoS2", 3.16 / math.sqrt(3)),
    ("mos2_v_doped_scilink_old.npy", 0.173, "FFT", "mos2-v", "MoS2", 3.16 / math.sqrt(3)),
    ("ws2_blobnet_60kv.npy", 0.1062, "file", "ws2-mo", "WS2", 3.153 / math.sqrt(3)),
    ("wsse_janus_partial_12.tif", 0.090, "FFT", "wse2-v", "WSSe", 3.22 / math.sqrt(3)),
    ("wsse_janus_partial_16.tif", 0.173, "FFT", "wse2-v", "WSSe", 3.22 / math.sqrt(3)),
    ("wse2_converted_full_14.tif", 0.0823, "FFT", "wse2-v", "WSe2", 3.28 / math.sqrt(3)),
    ("wse2_v_doped_skku_adf1389.tif", 0.0968, "FFT", "wse2-v", "WSe2", 3.28 / math.sqrt(3)),
    ("wse2_v_doped_skku_adf7792.tif", 0.0956, "FFT", "wse2-v", "WSe2", 3.28 / math.sqrt(3)),
]
COLORS = {"C": "#39c", "Si3": "#f60", "Si4": "#f0f", "Mo": "#39c", "W": "#f0f", "Se2": "#fc3", "Se1": "#0c0",
          "Sevac": "#f00", "S2": "#fc3", "S1": "#0c0", "Svac": "#f00", "V": "#0ff", "": "#888"}


def weights_key() -> str:
    """sha256 prefix of the bundled weights of the atomgraph that is imported (the cache key)."""
    import atomgraph

    h = hashlib.sha256()
    for p in sorted((Path(atomgraph.__file__).parent / "models" / "weights").glob("*.safetensors")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def read_image(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path).astype(np.float32)
    from PIL import Image

    img = Image.open(path)
    if img.mode == "P":
        img = img.convert("L")
    arr = np.asarray(img, dtype=np.float32)
    return arr if arr.ndim == 2 else arr[..., :3].mean(axis=-1)


def run_frame(image: np.ndarray, model: str, pixel_size_A: float) -> dict:
    """analyze() one frame and keep what the report needs (a picklable dict)."""
    import atomgraph

    t = time.perf_counter()
    res = atomgraph.analyze(image, model=model, pixel_size_A=pixel_size_A)
    a, g = res.atoms, res.graph
    return {
        "positions_px": a.positions_px, "positions_A": a.positions_A, "element": a.element, "label": a.label,
        "prob": a.prob, "vacancy": np.asarray(a.vacancy, bool), "intensity": a.intensity,
        "uncertain": a.uncertain if a.uncertain is not None else np.zeros(len(a), bool),
        "novel": a.novel if a.novel is not None else np.zeros(len(a), bool),
        "edge_index": g.edge_index, "edge_length_A": g.edge_length_A,
        "defects": [(d.label, np.asarray(d.center_px), list(d.site_ids), float(d.prob)) for d in res.defects],
        "defect_counts": res.defect_counts(), "seconds": time.perf_counter() - t, "pixel_size_A": pixel_size_A,
    }


def cached(cache: Path | None, name: str, fn):
    if cache is None:
        return fn()
    path = cache / f"{name}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    out = fn()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def lattice_fit(r: dict, bond_A: float, tol: float = TOL) -> float:
    """Fraction of real atoms whose nearest real neighbor is within ``tol`` (relative) of ``bond_A``."""
    xy = r["positions_A"][~r["vacancy"]]
    if len(xy) < 2:
        return float("nan")
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.mean(np.abs(d[:, 1] / bond_A - 1.0) <= tol))


def draw_overlay(ax, image: np.ndarray, r: dict, title: str, truth=None) -> None:
    lo, hi = np.percentile(image, [0.5, 99.5])
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="antialiased")
    xy = r["positions_px"]
    big = max(image.shape) > 300
    for lab in sorted(set(r["label"])):
        sel = r["label"] == lab
        host = lab in ("C", "Mo", "W", "Se2", "S2", "")
        ax.scatter(xy[sel, 0], xy[sel, 1], s=(1.5 if big else 5) if host else 18,
                   c=COLORS.get(lab, "r"), linewidths=0, label=f"{lab or 'unl.'} {sel.sum()}",
                   marker="o" if not lab == "Sevac" else "x")
    if truth is not None:
        for cls, x, y in truth:
            ax.scatter([x], [y], s=140, facecolors="none", edgecolors="#0f0" if cls == "Si1C3" else
                       ("#0ff" if cls == "Si1C4" else "#ff0"), linewidths=0.8)
    ax.set_title(title, fontsize=6)
    ax.legend(fontsize=4.5, loc="upper right", markerscale=1.5, framealpha=0.6, handletextpad=0.2)
    ax.axis("off")


def contact_sheet(items, path: Path, ncol: int, dpi: int = 60) -> None:
    nrow = math.ceil(len(items) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.7 * nrow), dpi=dpi)
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (image, r, title, truth) in zip(np.ravel(axes), items):
        draw_overlay(ax, image, r, title, truth)
    fig.tight_layout(pad=0.3)
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------------------------- per-image table
def run_frames(data: Path, cache: Path | None, which: str) -> dict:
    out = {}
    print("| image | material | model | px Å (src) | size | atoms | vacancy nodes | NN fit ±15% | defects | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, px, src, model, material, bond in FRAMES:
        if which not in ("all", "graphene" if material == "graphene" else "tmd"):
            continue
        path = data / name
        if not path.is_file():
            continue
        image = read_image(path)
        r = cached(cache, Path(name).stem, lambda: run_frame(image, model, px))
        fit = lattice_fit(r, bond)
        nvac = int(r["vacancy"].sum())
        dc = ", ".join(f"{k} {v}" for k, v in sorted(r["defect_counts"].items())) or "none"
        print(f"| {name} | {material} | {model} | {px} ({src}) | {image.shape[0]}² | {int((~r['vacancy']).sum())} "
              f"| {nvac} | {fit:.3f} | {dc} | {r['seconds']:.1f} |")
        out[name] = (image, r, material, bond, fit, px)
    return out


# --------------------------------------------------------------------------------------------- labeled library
def library(data: Path, cache: Path | None, model: str = "graphene-si") -> None:
    lib, meta = data / "graphene_si_library.npz", data / "graphene_si_library.json"
    if not (lib.is_file() and meta.is_file()):
        print("graphene_si_library not found: library check skipped")
        return
    frames = np.load(lib)
    info = {d["key"]: d for d in json.loads(meta.read_text())["images"]}
    confusion = defaultdict(Counter)           # truth class -> predicted label ('missed' when unmatched)
    calib = Counter()                          # (right / wrong / false, flagged uncertain) over single Si
    novel = Counter()                          # (truth class, flagged novel) over matched Si
    n_si_true = n_si_found = n_fp = 0
    fits, sheet, worst = [], [], []
    sic = defaultdict(list)                    # truth class (single Si) -> projected Si–C lengths measured (Å)
    sic_true = defaultdict(list)
    c_shell = defaultdict(list)                # truth class -> labeled first-shell C found within 0.5 Å (fraction)
    for key in sorted(info):
        d = info[key]
        px = d["pixel_size_A_nominal"]
        image = frames[key]
        r = cached(cache, f"lib_{key}", lambda: run_frame(image, model, px))
        fits.append(lattice_fit(r, 1.42))
        real = ~r["vacancy"]
        is_si = np.isin(r["label"], SI_LABELS) | (r["element"] == "Si")
        si_idx = np.flatnonzero(is_si & real)
        used = set()
        truth_xy = []
        atom_tree = cKDTree(r["positions_A"][real]) if real.any() else None
        real_idx = np.flatnonzero(real)
        for defect in d["defects"]:
            cls = defect["class"]
            si = [(a["x"], a["y"]) for a in defect["atoms"] if a["element"] == "Si"]
            cc = np.array([(a["x"], a["y"]) for a in defect["atoms"] if a["element"] == "C"]) * px
            for x, y in si:
                truth_xy.append((cls, x, y))
                n_si_true += 1
                p = np.array([x, y]) * px
                # nearest node of any kind, for the confusion table
                dd = np.hypot(*(r["positions_A"] - p).T)
                j = int(np.argmin(dd)) if len(dd) else -1
                cand = [i for i in si_idx if i not in used and dd[i] <= MATCH_A]
                if cand:
                    i = min(cand, key=lambda i: dd[i])
                    used.add(i)
                    n_si_found += 1
                    novel[(cls, bool(r.get("novel", np.zeros(len(dd), bool))[i]))] += 1
                    pred = r["label"][i] if r["label"][i] in SI_LABELS else f"el.Si/{r['label'][i]}"
                    j = i
                    if cls in ("Si1C3", "Si1C4"):
                        right = pred == {"Si1C3": "Si3", "Si1C4": "Si4"}[cls]
                        calib[("right" if right else "wrong", bool(r["uncertain"][i]))] += 1
                elif j >= 0 and dd[j] <= MATCH_A:
                    pred = f"{r['label'][j] or '-'}" + (" (vac)" if r["vacancy"][j] else "")
                else:
                    pred = "no node"
                confusion[cls][pred] += 1
                if cls in ("Si1C3", "Si1C4") and j >= 0 and dd[j] <= MATCH_A and len(cc) and atom_tree is not None:
                    # projected Si–C: labeled vs measured (found nodes nearest the labeled first-shell C)
                    sic_true[cls] += list(np.hypot(*(cc - p).T))
                    dc, jc = atom_tree.query(cc, k=1)
                    ok = dc <= MATCH_A
                    c_shell[cls].append(float(ok.mean()))
                    q = r["positions_A"][j]
                    sic[cls] += list(np.hypot(*(r["positions_A"][real_idx[jc[ok]]] - q).T))
        n_fp += len(si_idx) - len(used)
        for i in set(si_idx.tolist()) - used:  # a Si label where the authors marked none: wrong
            calib[("false", bool(r["uncertain"][i]))] += 1
        title = f"{key} {px:.3f}Å/px " + "+".join(sorted({df['class'] for df in d['defects']}))
        sheet.append((image, r, title, truth_xy))
        worst.append((key, r, truth_xy, image, title))
    acc_n = sum(confusion["Si1C3"][k] for k in ("Si3",)) + confusion["Si1C4"]["Si4"]
    matched_single = sum(confusion[c][k] for c in ("Si1C3", "Si1C4") for k in SI_LABELS)
    single_true = sum(sum(confusion[c].values()) for c in ("Si1C3", "Si1C4"))
    single_found = sum(sum(v for k, v in confusion[c].items() if k in SI_LABELS or k.startswith("el.Si"))
                       for c in ("Si1C3", "Si1C4"))
    print(f"\n## graphene-Si library: {len(info)} frames, {n_si_true} labeled Si atoms")
    print(f"lattice fit ±15% (all nodes, only defect atoms labeled): median {np.median(fits):.3f}, "
          f"min {np.min(fits):.3f}")
    print(f"Si recall, all labeled Si: {n_si_found}/{n_si_true} = {n_si_found / max(n_si_true, 1):.3f}; "
          f"single Si (Si1C3+Si1C4): {single_found}/{single_true} = {single_found / max(single_true, 1):.3f}")
    print(f"extra Si predictions (false positives, not within {MATCH_A} Å of a labeled Si): {n_fp} "
          f"in {len(info)} frames")
    print(f"Si3/Si4 accuracy on matched Si1C3/Si1C4: {acc_n}/{matched_single} = {acc_n / max(matched_single, 1):.3f}")
    n_right, n_wrong = calib[("right", False)] + calib[("right", True)], calib[("wrong", False)] + calib[("wrong", True)]
    print(f"uncertain flags on matched single Si: wrong Si3/Si4 flagged {calib[('wrong', True)]}/{n_wrong}, right "
          f"flagged {calib[('right', True)]}/{n_right}; extra Si predictions flagged {calib[('false', True)]}/"
          f"{calib[('false', True)] + calib[('false', False)]}")
    print_novel(novel)
    cols = sorted({k for v in confusion.values() for k in v}, key=lambda k: (k not in SI_LABELS, k))
    print("\n| truth \\ predicted | " + " | ".join(cols) + " | n |")
    print("|---" * (len(cols) + 2) + "|")
    for cls in ("Si1C3", "Si1C4", "Si2C4", "Si2C5", "Si2C6", "Si3C4", "Si3C6", "Si4C6"):
        if cls in confusion:
            print(f"| {cls} | " + " | ".join(str(confusion[cls][k]) for k in cols)
                  + f" | {sum(confusion[cls].values())} |")
    print("(rows count Si atoms; dimers/trimers have no label of ours)")
    for cls in ("Si1C3", "Si1C4"):
        if sic[cls]:
            t, m = np.array(sic_true[cls]), np.array(sic[cls])
            print(f"{cls}: projected Si–C labeled {t.mean():.2f} ± {t.std():.2f} Å, measured between found nodes "
                  f"{m.mean():.2f} ± {m.std():.2f} Å; labeled first-shell C found within {MATCH_A} Å: "
                  f"{np.mean(c_shell[cls]):.2f}")
    # contact sheet: the frames holding single Si (all Si1C4 and the first Si1C3), at most 20
    pick = [s for s in sheet if "Si1C4" in s[2]][:8] + [s for s in sheet if "Si1C3" in s[2]
                                                         and "Si1C4" not in s[2]][:8]
    pick += [s for s in sheet if "Si1C" not in s[2]][:4]
    contact_sheet(pick, OUT / "real_library.png", ncol=5)


def print_novel(novel: Counter) -> None:
    """Matched Si flagged ``novel``: single Si (target ≤ 0.1) against the dimers and trimers (target ≥ 0.9)."""
    single = ("Si1C3", "Si1C4")
    classes = sorted({c for c, _ in novel})
    def share(which):
        n = sum(novel[(c, True)] for c in which)
        return f"{n}/{n + sum(novel[(c, False)] for c in which)}"
    print(f"Si flagged novel (matched): single Si {share(single)}, dimers/trimers "
          f"{share([c for c in classes if c not in single])}; "
          + ", ".join(f"{c} {share([c])}" for c in classes))


# --------------------------------------------------------------------------------------------- TMD histograms
def sublattice_labels(model: str) -> dict[str, list[str]]:
    """The model's labels per sublattice (``Material.label_roles``): ``metal``, ``chalcogen`` (full and one-atom
    columns) and ``vacancy``."""
    from atomgraph.materials import get_material

    mat = get_material(model)
    vacancy = set(mat.settings.graph.all_vacancy_labels)
    out: dict[str, list[str]] = {"metal": [], "chalcogen": [], "vacancy": []}
    for label, role in mat.label_roles.items():
        out["vacancy" if label in vacancy else role].append(label)
    return out


def separation(a: np.ndarray, b: np.ndarray) -> float:
    """Robust sensitivity index d' of two intensity samples: |median difference| / pooled 1.4826 MAD."""
    if len(a) < 3 or len(b) < 3:
        return float("nan")
    mad = [1.4826 * np.median(np.abs(x - np.median(x))) for x in (a, b)]
    return float(abs(np.median(a) - np.median(b)) / max(np.sqrt(0.5 * (mad[0] ** 2 + mad[1] ** 2)), 1e-12))


def tmd_histograms(results: dict) -> None:
    tmd = [(k, v) for k, v in results.items() if v[2] != "graphene"]
    if not tmd:
        return
    ncol = 4
    nrow = math.ceil(len(tmd) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.3 * nrow), dpi=100)
    for ax in np.ravel(axes):
        ax.axis("off")
    print("\n| TMD image | model | metal : chalcogen sites | vacancy nodes | I chalcogen/metal (median) | "
          "d' metal vs chalcogen | labels (defects by label) | uncertain |")
    print("|---|---|---|---|---|---|---|---|")
    models = {name: model for name, _px, _src, model, *_ in FRAMES}
    for ax, (name, (image, r, material, bond, fit, px)) in zip(np.ravel(axes), tmd):
        ax.axis("on")
        roles = sublattice_labels(models[name])
        inten = sample_intensity(image, r["positions_px"], max(1.0, 0.4 / px))
        lab = r["label"]
        metal = np.isin(lab, roles["metal"])
        chal = np.isin(lab, roles["chalcogen"])
        hi = np.percentile(inten[~r["vacancy"]], 99.5) if (~r["vacancy"]).any() else 1
        lo = np.percentile(inten, 0.5)
        bins = np.linspace(lo, hi, 60)
        for sel, c, nm in ((metal, "#39c", "metal"), (chal, "#fc3", "chalcogen"), (r["vacancy"], "#f00", "vacancy")):
            if sel.any():
                ax.hist(inten[sel], bins=bins, color=c, alpha=0.6, label=f"{nm} {sel.sum()}")
        ax.set_title(f"{Path(name).stem} ({models[name]})", fontsize=7)
        ax.tick_params(labelsize=5)
        ax.legend(fontsize=5)
        ratio = np.median(inten[chal]) / np.median(inten[metal]) if metal.any() and chal.any() else float("nan")
        c = Counter(lab)
        vocab = roles["metal"] + roles["chalcogen"] + roles["vacancy"]
        counts = " · ".join(f"{k} {c[k]} ({r['defect_counts'].get(k, 0)})" for k in vocab)
        print(f"| {name} | {models[name]} | {metal.sum()} : {chal.sum()} | {int(r['vacancy'].sum())} | {ratio:.2f} | "
              f"{separation(inten[metal], inten[chal]):.1f} | {counts} | {int(r['uncertain'].sum())} |")
    fig.suptitle("sublattice intensity (background-subtracted, 0.4 Å disc mean) by predicted label", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "real_tmd_histograms.png")
    plt.close(fig)


def sample_intensity(image: np.ndarray, xy_px: np.ndarray, radius_px: float) -> np.ndarray:
    """Mean of a disc around each position, after subtracting a wide local background (median filter)."""
    from scipy.ndimage import gaussian_filter, uniform_filter

    img = image.astype(float)
    bg = gaussian_filter(img, sigma=7.5 * radius_px)     # ~3 Å: wider than a column, narrower than contamination
    flat = img - bg
    sm = uniform_filter(flat, size=max(1, int(round(2 * radius_px))))
    ij = np.clip(np.round(xy_px[:, ::-1]).astype(int), 0, np.array(image.shape) - 1)
    return sm[ij[:, 0], ij[:, 1]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--library-model", default="graphene-si",
                    help="model for the library check: a bundled name or a model folder (e.g. from atomgraph adapt)")
    ap.add_argument("--only", choices=("all", "graphene", "tmd", "library"), default="all")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} not found: real-data benchmark skipped")
        return 0
    import torch

    torch.set_num_threads(2)
    OUT.mkdir(exist_ok=True)
    cache = None if args.no_cache else args.cache / weights_key()
    print(f"weights {weights_key()}; cache {cache}")
    if args.only != "library":
        results = run_frames(args.data, cache, args.only)
        gr = [(v[0], v[1], f"{Path(k).stem} {v[5]}Å/px fit {v[4]:.2f}", None) for k, v in results.items()
              if v[2] == "graphene"]
        if gr:
            contact_sheet(gr, OUT / "real_graphene.png", ncol=3)
        tm = [(v[0], v[1], f"{Path(k).stem} {v[5]}Å/px fit {v[4]:.2f}", None) for k, v in results.items()
              if v[2] != "graphene"]
        if tm:
            contact_sheet(tm, OUT / "real_tmd.png", ncol=4)
            frames = OUT / "real_tmd"   # one overlay per frame, at a size a person can check column by column
            frames.mkdir(exist_ok=True)
            for image, r, title, _ in tm:
                dpi = max(250, int(image.shape[1] / 2.4))  # about one figure pixel per image pixel
                contact_sheet([(image, r, title, None)], frames / f"{title.split()[0]}.png", ncol=1, dpi=dpi)
        tmd_histograms(results)
    if args.only in ("all", "library"):
        library(args.data, None if args.library_model != "graphene-si" else cache, args.library_model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
