"""The whole chain on one image: locate -> graph -> classify -> defects, with no re-computation between stages.

>>> import atomgraph
>>> sim = atomgraph.simulate("graphene-si", size=256, pixel_size_A=0.1, dose=1e5, seed=0)
>>> result = atomgraph.analyze(sim.image, model="graphene-si", pixel_size_A=0.1)
>>> sorted(result.defect_counts())  # doctest: +SKIP
['Si3', 'Si4']
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atoms import UNLABELED, AtomTable
from .classify import classify
from .defects import defect_counts, find_defects, write_defects_csv
from .deprecations import pixel_size_alias
from .errors import AtomgraphInputError
from .graph.build import masking_warnings
from .graph.occupancy import build_image_graph
from .io.dataframes import atoms_frame, defects_frame
from .io.exports import EXPORTS, parse_exports  # noqa: F401 (re-exported: the names analyze's callers use)
from .io.graphs import write_graph
from .io.overlay import write_overlay_png
from .io.safe_write import atomic_output, atomic_path
from .io.signals import check_not_signal1d, image_from_signal, is_signal2d
from .io.source_record import write_source
from .io.tables import write_atoms_csv
from .models.model import Model, locator_of, resolve_model
from .notebook import analysis_html
from .pixel_size import check_pixel_size, native_size
from .plot import overlay_figure

if TYPE_CHECKING:
    from .io.signals import Signal2DLike

#: What ``analyze`` writes by default: compact, cheaper to write than the analysis itself. ``source.json`` records
#: the image file the results came from (:mod:`atomgraph.io.source_record`); an image with no file (an array from
#: Python) is saved as :data:`IMAGE_FILE` beside them.
OUTPUT_FILES = ("atoms.csv", "defects.csv", "graph.npz", "overlay.png", "source.json")
IMAGE_FILE = "image.npy"
#: Long side of the default overlay in pixels (``--overlay-full`` / ``overlay_full=True``: one per image pixel).
OVERLAY_MAX_PX = 2048


def output_names(export: tuple[str, ...] = (), image: bool = False) -> list[str]:
    """File names :meth:`Analysis.save` writes: :data:`OUTPUT_FILES`, the requested exports, then (``image``: the
    image has no file of its own) :data:`IMAGE_FILE`."""
    return list(OUTPUT_FILES) + [EXPORTS[name] for name in parse_exports(export)] + ([IMAGE_FILE] if image else [])


def overlay_dpi(shape: tuple[int, int], full: bool = False, height_in: float = 8.0) -> float:
    """Figure dpi for the overlay of an image of ``shape`` (H, W) px: one figure pixel per image pixel when
    ``full``, else the long side capped at :data:`OVERLAY_MAX_PX`; never under 100 dpi (800 px tall)."""
    h, w = int(shape[0]), int(shape[1])
    target_h = h if full else h * min(1.0, OVERLAY_MAX_PX / max(h, w))
    return max(100.0, target_h / height_in)


def check_scale(shape: tuple[int, ...], pixel_size_A: float | None, model: str | Model = "graphene-si") -> None:
    """Refuse, before anything is allocated, an image the locator would resample to an absurd size.

    The network runs at the model's native pixel size, so an image of ``H x W`` px at ``pixel_size_A`` becomes
    ``H * pixel_size_A / native_A`` px per side: a wrong pixel size (1e9 Å/px, or nm typed as Å) would ask for
    terabytes. ``shape`` is the image's shape (the last two axes are used); a missing pixel size is left to
    :func:`atomgraph.locate.locate` to report. ``model``: a :class:`~atomgraph.models.model.Model` or a name.
    """
    import math

    if pixel_size_A is None or len(shape) < 2:
        return
    try:
        px = float(pixel_size_A)
    except (TypeError, ValueError):
        return  # locate names the bad value
    if not (math.isfinite(px) and px > 0):
        return
    native_size(shape[-2:], px, locator_of(model).native_A, str(model))


@dataclass
class Analysis:
    """Result of :func:`analyze`.

    Attributes
    ----------
    image : the analyzed (H, W) image.
    pixel_size_A : Å per pixel.
    model : model name used for locate and classify.
    graph : the classified AtomGraph (nodes = atoms + vacancy nodes, with labels and probabilities).
    defects : list of Defect (grouped defect sites).
    timings_s : seconds spent per stage.
    warnings : one-line warnings about the frame (e.g. more than 20 % of its nodes masked, and why).
    source : the image file analyzed (set by the CLI; None for an array), recorded by :meth:`save`.
    frame : index of the analyzed frame in ``source`` when it is a stack, else None.
    host_labels : the model's host labels (drawn small in the overlay), recorded by :func:`analyze`.
    """

    image: np.ndarray
    pixel_size_A: float
    model: str
    graph: object
    defects: list
    timings_s: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    source: str | None = None
    frame: int | None = None
    host_labels: tuple[str, ...] | None = None

    @property
    def atoms(self) -> AtomTable:
        """Every node with its label and probability (vacancy nodes have an empty element)."""
        return self.graph.atoms

    def to_networkx(self):
        """The labeled graph as a networkx Graph."""
        return self.graph.to_networkx()

    def atoms_frame(self):
        """Every node as a ``pandas.DataFrame``: the Atoms CSV columns (``id, x_px, y_px, x_A, y_A, element, label,
        prob, score, intensity, vacancy``, then the per-node extras such as ``novelty``, ``uncertain``,
        ``masked``) at full precision; positions in px and Å."""
        return atoms_frame(self.atoms)

    def defects_frame(self):
        """The defects as a ``pandas.DataFrame`` with the Defects CSV columns (``id, label, x_px, y_px, x_A, y_A,
        site_ids, prob, uncertain, n_sites``)."""
        return defects_frame(self.defects)

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary as a table and the overlay as an inline PNG (no file is written)."""
        return analysis_html(self)

    def defect_counts(self) -> dict[str, int]:
        return defect_counts(self.defects)

    def label_counts(self) -> dict[str, int]:
        labels, counts = np.unique(np.asarray(self.atoms.label, dtype=str), return_counts=True)
        return {str(k): int(v) for k, v in zip(labels, counts)}

    def summary(self) -> str:
        """A short table: nodes per label and defects per label."""
        lines = [f"{len(self.atoms)} nodes ({int(np.sum(self.atoms.vacancy))} vacancy nodes: empty lattice sites, "
                 f"labeled or not), {len(self.defects)} defects, model {self.model}, {self.pixel_size_A:.4g} Å/px"]
        lines.append(f"{'label':<10}{'sites':>8}{'defects':>9}")
        defects = self.defect_counts()
        sites = self.label_counts()
        for label, n in sites.items():
            lines.append(f"{label or UNLABELED:<10}{n:>8}{defects.get(label, 0):>9}")
        for label, n in defects.items():
            if label not in sites:
                lines.append(f"{label:<10}{'':>8}{n:>9}")
        return "\n".join(lines)

    def plot(self, title: str | None = None, max_px: int | None = None):
        """The overlay as a matplotlib Figure (image, atoms by label, defects named, legend, scale bar); ``max_px``:
        the image is block-averaged for a figure saved at most that many px on its long side."""
        return overlay_figure(self.image, self.atoms, self.pixel_size_A, self.defects, title=title,
                              host_labels=self._host_labels(), max_px=max_px)

    def _host_labels(self) -> tuple[str, ...] | None:
        """The model's host labels (drawn small in the overlay): those :func:`analyze` recorded, else the model's;
        None when neither is known (the overlay then takes the labels no defect has)."""
        if self.host_labels is not None:
            return tuple(self.host_labels)
        try:
            return tuple(resolve_model(self.model).material.host_labels)
        except AtomgraphInputError:
            return None

    def save(self, outdir: str | Path, force: bool = False, export: str | tuple[str, ...] = (),
             overlay_full: bool = False) -> list[Path]:
        """Write the compact outputs into ``outdir`` and return their paths.

        Always: ``atoms.csv``, ``defects.csv``, ``graph.npz`` (the compact graph:
        :func:`atomgraph.io.graphs.write_npz`), ``overlay.png`` (long side at most :data:`OVERLAY_MAX_PX` px unless
        ``overlay_full``) and ``source.json`` (the image file :attr:`source`; when there is none, the image is written
        as ``image.npy`` and recorded by that name, so a viewer can show the results over their pixels). ``export``
        adds graph files by name (``graphml``, ``json``, ``extxyz``, ``pt``, or ``"all"``): the text ones take 10-20x
        longer to write than the analysis of a large frame, so they are opt-in.
        """
        names = output_names(export, image=self.source is None)
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = [outdir / name for name in names]
        write_atoms_csv(self.atoms, paths[0], force=force)
        write_defects_csv(self.defects, paths[1], force=force)
        for name in ["graph.npz"] + [EXPORTS[e] for e in parse_exports(export)]:
            write_graph(self.graph, outdir / name, force=force)
        if self.source is None:
            with atomic_path(outdir / IMAGE_FILE, force) as tmp:
                np.save(tmp, np.asarray(self.image))
        image_file = IMAGE_FILE if self.source is None else Path(self.source).resolve()
        write_source(outdir, [image_file], kind="analyze",
                     pixel_size_A=self.pixel_size_A, model=self.model, shape_px=self.image.shape[-2:],
                     frame=self.frame, force=force)
        full = bool(overlay_full)
        # drawn with Pillow (atomgraph.io.overlay): the picture of self.plot() without importing matplotlib
        write_overlay_png(outdir / "overlay.png", self.image, self.atoms, self.pixel_size_A, self.defects,
                          host_labels=self._host_labels(),
                          out_height_px=round(8.0 * overlay_dpi(self.image.shape, full)),
                          max_px=None if full else OVERLAY_MAX_PX, force=force, compress_level=1)
        return paths


def analyze(image: np.ndarray | Signal2DLike, model: str | Model = "graphene-si",
            pixel_size_A: float | None = None, *, threshold: float | None = None, tile_size: int | None = None,
            pixel_size: float | None = None) -> Analysis:
    """Locate atoms, build the graph, classify every node and group defects, on one 2D image.

    Parameters
    ----------
    image : ndarray or Signal2D
        2D array, HAADF contrast (atoms bright), any dtype; or a hyperspy ``Signal2D`` (its data, and its
        calibration when ``pixel_size_A`` is not given; hyperspy itself is never imported).
    model : str or Model, default "graphene-si"
        Bundled model name (``graphene-si``, ``mose2-w``), model folder, or a :class:`~atomgraph.models.model.Model`
        (:func:`atomgraph.load_model`): used for both the locator and the classifier.
    pixel_size_A : float
        Å per pixel (required).
    threshold : float, optional
        Nodes whose best (calibrated) class probability is below this are flagged ``uncertain``; None: the
        classifier's own threshold, chosen on held-out simulations.
    tile_size : int, optional
        Tile size in px for the locator (None: automatic).
    pixel_size : float, optional
        Deprecated alias of ``pixel_size_A`` (a warning says so).

    Returns
    -------
    Analysis
        The classified graph (atoms and vacancy nodes with labels and probabilities), the defects, the image, the
        pixel size (Å/px), seconds per stage and warnings about the frame.
    """
    pixel_size_A = pixel_size_alias(pixel_size_A, pixel_size, "analyze")
    image, pixel_size_A = _unwrap_signal(image, pixel_size_A)
    pixel_size_A = check_pixel_size(pixel_size_A)  # the one check; the stages behind take the float
    model = resolve_model(model)  # once: the stages below read the object
    shape = getattr(image, "shape", None)
    check_scale(shape if isinstance(shape, tuple) else (), pixel_size_A, model)
    return run_analysis(image, model, pixel_size_A, threshold=threshold, tile_size=tile_size)


def run_analysis(image: np.ndarray, model: Model, pixel_size_A: float, *, threshold: float | None = None,
                 tile_size: int | None = None) -> Analysis:
    """:func:`analyze` on inputs already checked at the door (a resolved model, a pixel size that passed
    :func:`check_scale`): the CLI and batch workers make their checks once, then call this."""
    from .locate import locate  # lazy: torch (about 2.5 s); a refused input never reaches it (tests/test_startup.py)

    material = model.material
    timings = {}
    t0 = time.perf_counter()
    atoms = locate(image, model=model, pixel_size_A=pixel_size_A, tile_size=tile_size)
    t1 = time.perf_counter()
    graph = build_image_graph(atoms, material, image)   # with the columns the locator missed put back
    t2 = time.perf_counter()
    graph = classify(graph, model=model, threshold=threshold)
    t3 = time.perf_counter()
    defects = find_defects(graph, host_labels=material.host_labels)
    t4 = time.perf_counter()
    timings.update(locate=t1 - t0, graph=t2 - t1, classify=t3 - t2, defects=t4 - t3, total=t4 - t0)
    return Analysis(image=np.asarray(image), pixel_size_A=float(pixel_size_A), model=str(model), graph=graph,
                    defects=defects, timings_s=timings, warnings=masking_warnings(graph.atoms),
                    host_labels=tuple(material.host_labels))


def _unwrap_signal(image, pixel_size_A: float | None) -> tuple[np.ndarray, float | None]:
    """A hyperspy ``Signal2D`` -> (its 2D data, the given pixel size or else its calibration); arrays pass through."""
    if not is_signal2d(image):
        check_not_signal1d(image)
        return image, pixel_size_A
    data = image_from_signal(image, allow_stack=False)
    return data.data, pixel_size_A if pixel_size_A is not None else data.pixel_size_A


def save_stack(results: list[Analysis], outdir: str | Path, force: bool = False,
               export: str | tuple[str, ...] = (), overlay_full: bool = False) -> None:
    """Write a stack's results: ``frame_NNNN/`` with the outputs of :meth:`Analysis.save` per frame, plus top-level
    ``atoms.csv`` and ``defects.csv`` for all frames with a ``frame`` column last (the contract's columns stay
    first)."""
    import csv

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for i, result in enumerate(results):
        result.save(outdir / f"frame_{i:04d}", force=force, export=export, overlay_full=overlay_full)
    for name in ("atoms.csv", "defects.csv"):
        with atomic_output(outdir / name, force) as handle:
            writer = csv.writer(handle)
            header_written = False
            for i in range(len(results)):
                with open(outdir / f"frame_{i:04d}" / name, newline="", encoding="utf-8") as src:
                    reader = csv.reader(src)
                    header = next(reader)
                    if not header_written:
                        writer.writerow(header + ["frame"])
                        header_written = True
                    writer.writerows(row + [i] for row in reader)
