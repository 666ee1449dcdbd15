"""Analyze frames, group their unknown defects and cluster the groups (see the package docstring)."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable

import numpy as np

from ..classify import predict_with_descriptors
from ..defects import UNKNOWN
from ..errors import AtomgraphInputError
from ..io.tables import format_value
from ..models.model import resolve_model
from ..pipeline import analyze
from ..threads import inference_threads
from .describe import Crop, group_crop, group_vector
from .gallery import cluster_gallery

log = logging.getLogger("atomgraph.discover")

GALLERY_SIZE = 8


@dataclass
class Group:
    """One unknown defect of one frame: where it is, its nodes' best known labels, its vector and crop."""

    frame: int
    source: str
    defect: int
    center_px: np.ndarray
    center_A: np.ndarray
    site_ids: list[int]
    labels: list[str]
    vector: np.ndarray
    crop: Crop
    cluster: int = -1
    strength: float = 0.0


@dataclass
class Discovery:
    """Result of :func:`discover`: the groups (with their cluster) and one summary row per frame."""

    groups: list[Group]
    frames: list[dict]
    model: str
    clusters: list[int] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"source", "frame_index", "error"}: frames not analyzed

    def cluster_rows(self) -> list[dict]:
        """One dict per cluster (see ``clusters.csv`` in the module docstring).

        Returns
        -------
        list of dict
            The rows of ``clusters.csv``, clusters by id, the unclustered groups (cluster -1) last.
        """
        rows = []
        for k in self.clusters + ([-1] if any(g.cluster == -1 for g in self.groups) else []):
            members = [g for g in self.groups if g.cluster == k]
            best = sorted(members, key=lambda g: -g.strength)[:GALLERY_SIZE]
            labels = Counter(label for g in members for label in g.labels)
            rows.append({"cluster": k, "count": len(members), "frames": len({g.frame for g in members}),
                         "exemplar_ids": " ".join(f"{g.frame}:{g.defect}" for g in best),
                         "labels": " ".join(f"{lab or '-'}:{n}" for lab, n in labels.most_common(4)),
                         "mean_sites": float(np.mean([len(g.site_ids) for g in members]))})
        return rows

    def write(self, outdir: str | Path, progress: bool = False) -> list[Path]:
        """Write ``clusters.csv``, ``groups.csv``, ``frames.csv`` and one gallery PNG per cluster into ``outdir``.

        Parameters
        ----------
        outdir : str or Path
            An existing folder, e.g. the temporary one of :class:`atomgraph.io.safe_write.OutputFolder`.
        progress : bool, default False
            Not used: the files are written without a progress bar.

        Returns
        -------
        list of Path
            The files written (``skipped.csv`` too when frames were skipped).
        """
        outdir = Path(outdir)
        rows = self.cluster_rows()
        _write_csv(outdir / "clusters.csv", rows)
        _write_csv(outdir / "groups.csv", [
            {"frame": g.frame, "source": g.source, "defect": g.defect, "cluster": g.cluster,
             "x_px": g.center_px[0], "y_px": g.center_px[1], "x_A": g.center_A[0], "y_A": g.center_A[1],
             "n_sites": len(g.site_ids), "labels": " ".join(x or "-" for x in g.labels),
             "site_ids": " ".join(map(str, g.site_ids))} for g in self.groups])
        counts = Counter((g.frame, g.cluster) for g in self.groups)
        _write_csv(outdir / "frames.csv", [
            {**f, **{f"cluster_{k}": counts.get((f["frame"], k), 0) for k in self.clusters + [-1]}}
            for f in self.frames])
        paths = [outdir / n for n in ("clusters.csv", "groups.csv", "frames.csv")]
        if self.skipped:
            _write_csv(outdir / "skipped.csv", self.skipped)
            paths.append(outdir / "skipped.csv")
        for row in rows:
            k = row["cluster"]
            members = sorted((g for g in self.groups if g.cluster == k), key=lambda g: -g.strength)[:GALLERY_SIZE]
            name = f"cluster_{k}.png" if k >= 0 else "unclustered.png"
            heading = (f"cluster {k}: {row['count']} groups in {row['frames']} frames ({self.model})" if k >= 0
                       else f"unclustered: {row['count']} groups ({self.model})")
            cluster_gallery([g.crop for g in members], [f"{g.frame}:{g.defect} {Path(g.source).name}"[:34]
                                                        for g in members], heading, outdir / name)
            paths.append(outdir / name)
        return paths


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if not rows:
            handle.write("\n")
            return
        writer.writerow(list(rows[0]))
        writer.writerows([format_value(v) for v in row.values()] for row in rows)


def frame_groups(result, frame: int, source: str) -> list[Group]:
    """The unknown defects of one analyzed frame as groups (vectors and crops).

    Parameters
    ----------
    result : Analysis
        The frame's :class:`atomgraph.pipeline.Analysis`.
    frame : int
        The frame's number in this discovery.
    source : str
        The file the frame came from.

    Returns
    -------
    list of Group
        One group per ``unknown`` defect.
    """
    unknown = [d for d in result.defects if d.label == UNKNOWN]
    if not unknown:
        return []
    clf = resolve_model(result.model).classifier
    with inference_threads():
        _, descriptors = predict_with_descriptors(clf, result.graph)
    hidden = int(clf.net.config["hidden"])
    index = {int(i): k for k, i in enumerate(result.atoms.ids)}
    bond_A = clf.meta.bond_A
    labels = np.asarray(result.atoms.label, dtype=object)
    groups = []
    for d in unknown:
        core = np.array([index[i] for i in d.core_ids])
        groups.append(Group(frame=frame, source=source, defect=d.id, center_px=d.center_px, center_A=d.center_A,
                            site_ids=d.site_ids, labels=[str(x) for x in labels[core]],
                            vector=group_vector(result.graph, descriptors, hidden, core, bond_A),
                            crop=group_crop(result.graph, result.image, core, result.pixel_size_A)))
    return groups


def cluster_groups(groups: list[Group], min_cluster_size: int | None = None) -> list[int]:
    """HDBSCAN over the standardized group vectors, setting each group's ``cluster`` and ``strength``.

    Leaf clusters: small and pure rather than one large cluster swallowing several structures (measured in
    benchmarks/README.md); one cluster for all when HDBSCAN finds no split.

    Parameters
    ----------
    groups : list of Group
        The groups; each one's ``cluster`` and ``strength`` are set.
    min_cluster_size : int, optional
        HDBSCAN's; default 3, or 1 % of the groups when that is more (at most 25).

    Returns
    -------
    list of int
        The cluster ids (sorted by size, largest first, renumbered 0, 1, ...); empty when there are too few groups.
    """
    from sklearn.cluster import HDBSCAN
    from sklearn.preprocessing import StandardScaler

    if min_cluster_size is None:
        min_cluster_size = int(np.clip(len(groups) // 100, 3, 25))
    if len(groups) < max(min_cluster_size, 2):
        return []
    x = StandardScaler().fit_transform(np.stack([g.vector for g in groups]))
    settings = {"min_cluster_size": int(min_cluster_size), "min_samples": min(3, int(min_cluster_size)),
                "cluster_selection_method": "leaf", "copy": True}
    model = HDBSCAN(**settings).fit(x)
    if (model.labels_ < 0).all():  # HDBSCAN splits or gives nothing: all groups alike is one cluster
        model = HDBSCAN(**{**settings, "cluster_selection_method": "eom"}, allow_single_cluster=True).fit(x)
    raw = model.labels_
    order = [k for k, _ in Counter(int(k) for k in raw if k >= 0).most_common()]
    renumber = {k: i for i, k in enumerate(order)}
    for g, k, p in zip(groups, raw, model.probabilities_):
        g.cluster = renumber.get(int(k), -1)
        g.strength = float(p)
    return list(range(len(order)))


def discover(frames: Iterable[tuple[str, int, np.ndarray, float]], model: str = "graphene-si", *,
             min_cluster_size: int | None = None, progress: bool = False, total: int | None = None) -> Discovery:
    """Analyze frames, collect their unknown defects and cluster them.

    Parameters
    ----------
    frames : iterable of tuple
        ``(source, frame_index, image (H, W), pixel_size_A)`` (Å/px), read lazily, one at a time. An ``image`` that
        is an exception (a file that could not be read), or a frame :func:`atomgraph.analyze` refuses
        (:class:`AtomgraphInputError`), is recorded in ``Discovery.skipped`` (``skipped.csv``) and the others go on,
        as in ``atomgraph batch``.
    model : str, default "graphene-si"
        A model with novelty statistics (``atomgraph train novelty --model M``).
    min_cluster_size : int, optional
        HDBSCAN's (default: see :func:`cluster_groups`).
    progress : bool, default False
        Show a tqdm bar.
    total : int, optional
        The number of frames, when known (for the bar).

    Returns
    -------
    Discovery
        The groups, their clusters, one row per analyzed frame and the skipped frames; :meth:`Discovery.write`
        writes them.
    """
    from tqdm.auto import tqdm

    model = resolve_model(model)  # once: every frame's analysis reads the same object
    if model.novelty is None:
        raise AtomgraphInputError(f"model {model} has no novelty statistics: fit them with "
                                  f"'atomgraph train novelty --model {model}'")
    groups: list[Group] = []
    rows: list[dict] = []
    skipped: list[dict] = []
    k = 0
    for source, index, image, pixel_size_A in tqdm(frames, desc="discover", unit="frame", total=total,
                                                   disable=not progress):
        if isinstance(image, BaseException):
            skipped.append({"source": source, "frame_index": index, "error": str(image)})
            continue
        try:
            result = analyze(image, model=model, pixel_size_A=pixel_size_A)
        except AtomgraphInputError as exc:
            skipped.append({"source": source, "frame_index": index, "error": str(exc)})
            continue
        found = frame_groups(result, k, source)
        groups += found
        novel = result.atoms.novel if result.atoms.novel is not None else np.zeros(len(result.atoms), bool)
        rows.append({"frame": k, "source": source, "frame_index": index, "n_nodes": len(result.atoms),
                     "n_novel": int(novel.sum()), "n_unknown": len(found)})
        k += 1
    clusters = cluster_groups(groups, min_cluster_size)
    log.info("discover: %d unknown defects in %d frames, %d clusters, %d frames skipped", len(groups), len(rows),
             len(clusters), len(skipped))
    return Discovery(groups=groups, frames=rows, model=str(model), clusters=clusters, skipped=skipped)
