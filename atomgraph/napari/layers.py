"""atomgraph results as napari layer data: ``(data, kwargs, layer_type)`` tuples of plain NumPy arrays and dicts.

Nothing here imports napari, so the reader and the widget share these builders and the tests run without a display.
Coordinates are napari's ``(row, col) = (y_px, x_px)`` of the analyzed image (pixel centres at integers, scale 1:
one data unit is one pixel); a movie or stack adds the frame index first, ``(frame, y_px, x_px)``. Å positions
(``x_A, y_A``) ride along as features, the pixel size (Å/px) in every layer's ``metadata["pixel_size_A"]``.

Layers, bottom to top: the image (gray), ``bonds`` (Vectors: one line per graph edge), ``atoms`` (Points coloured by
label, with ``label, prob, novelty, uncertain, novel, masked, element, id, x_A, y_A`` as features), ``vacancy sites``
(Points drawn as crosses: lattice sites the model found empty), ``defects`` (Points drawn as circles, outline in the
label's colour, with their label as text). A ``track`` folder gives the movie, ``tracks`` (a Tracks layer), ``sites``
and ``vacancy sites`` per frame and ``events`` (stars with ``type: from -> to`` as text).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plot import LABEL_COLORS, PALETTE

LayerData = tuple[Any, dict, str]

#: Features of the atoms layer, with the value a point added in napari gets (``id`` -1 marks it as added).
ATOM_FEATURES = {"id": -1, "label": "", "prob": np.nan, "novelty": np.nan, "uncertain": False, "novel": False,
                 "masked": False, "element": "", "intensity": np.nan, "x_A": np.nan, "y_A": np.nan}
UNLABELED_RGBA = (0.62, 0.62, 0.62, 1.0)
#: Ring diameter of a defect marker, Å (the overlay's circles have a 1.7 Å radius).
DEFECT_DIAMETER_A = 3.4


def hex_rgba(color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """``"#rrggbb"`` -> RGBA in [0, 1]."""
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) / 255.0 for i in (0, 2, 4)) + (float(alpha),)


def label_colors(labels, palette: dict | None = None) -> np.ndarray:
    """(N, 4) RGBA per label: the overlay's colours (:data:`atomgraph.plot.LABEL_COLORS`), other labels from its
    palette in order of appearance (remembered in ``palette``), unlabeled nodes grey."""
    palette = {} if palette is None else palette
    out = np.empty((len(labels), 4), dtype=np.float32)
    for k, label in enumerate(labels):
        label = str(label)
        if not label:
            out[k] = UNLABELED_RGBA
            continue
        if label not in LABEL_COLORS and label not in palette:
            palette[label] = PALETTE[len(palette) % len(PALETTE)]
        out[k] = hex_rgba(LABEL_COLORS.get(label) or palette[label])
    return out


def spacing_px(yx: np.ndarray) -> float:
    """Median nearest-neighbour distance of points (px); 10 when there are fewer than two."""
    from scipy.spatial import cKDTree

    yx = np.asarray(yx, dtype=float)[:, -2:]
    yx = yx[np.all(np.isfinite(yx), axis=1)]
    if len(yx) < 2:
        return 10.0
    d, _ = cKDTree(yx).query(yx, k=2)
    return float(np.median(d[:, 1]))


def _column(frame, name: str, default, n: int) -> np.ndarray:
    if name in frame:
        return np.asarray(frame[name])
    return np.full(n, default, dtype=object if isinstance(default, str) else type(default))


def atom_features(atoms) -> dict[str, np.ndarray]:
    """The :data:`ATOM_FEATURES` columns of an atoms DataFrame (missing ones filled with their default)."""
    n = len(atoms)
    out = {}
    for name, default in ATOM_FEATURES.items():
        value = _column(atoms, name, default, n)
        if isinstance(default, bool):
            value = value.astype(bool)
        elif isinstance(default, str):
            value = np.array(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in value],
                             dtype=object)
        elif isinstance(default, int):
            value = value.astype(np.int64)
        else:
            value = value.astype(float)
        out[name] = value
    return out


def _yx(frame, with_frame: bool) -> np.ndarray:
    """(N, 2) ``(y_px, x_px)`` or (N, 3) ``(frame, y_px, x_px)`` of a table."""
    cols = (["frame"] if with_frame else []) + ["y_px", "x_px"]
    if len(frame) == 0:
        return np.zeros((0, len(cols)))
    return np.column_stack([np.asarray(frame[c], dtype=float) for c in cols])


def image_layer(image: np.ndarray, name: str, meta: dict) -> LayerData:
    """The analyzed image (or movie) in gray, contrast from its 0.5-99.5 percentiles."""
    sample = np.asarray(image[0] if image.ndim == 3 else image, dtype=np.float32)
    lo, hi = np.nanpercentile(sample, [0.5, 99.5])
    return (image, {"name": name, "colormap": "gray", "contrast_limits": [float(lo), float(max(hi, lo + 1e-6))],
                    "metadata": dict(meta)}, "image")


def bonds_layer(atoms, edges: np.ndarray, meta: dict, frames: np.ndarray | None = None) -> LayerData:
    """Graph edges as a Vectors layer: one segment per edge from node ``i`` to node ``j``.

    ``edges`` (E, 2) are *row indices* into ``atoms``; ``frames`` (E,) the frame of each edge for stacks."""
    yx = _yx(atoms, False)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    start, end = yx[edges[:, 0]], yx[edges[:, 1]]
    if frames is not None:
        f = np.asarray(frames, dtype=float)[:, None]
        start, end = np.hstack([f, start]), np.hstack([f, end])
        end[:, 0] = f[:, 0]
    data = np.stack([start, end - start], axis=1) if len(edges) else np.zeros((0, 2, start.shape[1]))
    width = max(0.04 * spacing_px(yx), 0.5)
    return (data, {"name": "bonds", "edge_width": width, "edge_color": "#d0d0d0", "opacity": 0.6, "length": 1.0,
                   "vector_style": "line", "metadata": dict(meta)}, "vectors")


def atoms_layer(atoms, meta: dict, name: str = "atoms", with_frame: bool = False,
                palette: dict | None = None) -> LayerData:
    """Real columns (not vacancy nodes) as Points coloured by label, with :data:`ATOM_FEATURES` as features.

    A point added in napari gets ``id`` -1, no label, NaN numbers and the most common element (edit it before
    re-classifying a column of another species)."""
    features = atom_features(atoms)
    yx = _yx(atoms, with_frame)
    defaults = dict(ATOM_FEATURES)
    elements, counts = np.unique(features["element"].astype(str), return_counts=True)
    if len(elements):
        defaults["element"] = str(elements[np.argmax(counts)])
    size = max(0.3 * spacing_px(yx), 1.0)
    kwargs = {"name": name, "features": features, "feature_defaults": defaults,
              "face_color": label_colors(features["label"], palette), "size": size, "border_width": 0,
              "opacity": 0.8, "metadata": dict(meta)}
    return (yx, kwargs, "points")


def vacancy_layer(vacancies, meta: dict, size: float, with_frame: bool = False, palette: dict | None = None
                  ) -> LayerData:
    """Vacancy nodes (empty lattice sites) as crosses coloured by label."""
    features = atom_features(vacancies)
    kwargs = {"name": "vacancy sites", "features": features, "face_color": label_colors(features["label"], palette),
              "symbol": "x", "size": size, "border_width": 0, "metadata": dict(meta)}
    return (_yx(vacancies, with_frame), kwargs, "points")


def defects_layer(defects, meta: dict, pixel_size_A: float | None, with_frame: bool = False,
                  palette: dict | None = None) -> LayerData:
    """Defects as circles (:data:`DEFECT_DIAMETER_A` wide, transparent inside, outlined in the label's colour) at
    their centres, their label as text."""
    n = len(defects)
    features = {"label": np.array([str(v) for v in _column(defects, "label", "", n)], dtype=object),
                "prob": _column(defects, "prob", np.nan, n).astype(float),
                "uncertain": _column(defects, "uncertain", False, n).astype(bool),
                "n_sites": _column(defects, "n_sites", 0, n).astype(np.int64),
                "id": _column(defects, "id", -1, n).astype(np.int64)}
    size = DEFECT_DIAMETER_A / pixel_size_A if pixel_size_A else 20.0
    colors = label_colors([s.split("+")[0] for s in features["label"]], palette)
    text = {"string": "{label}", "color": "white", "size": 10, "anchor": "upper_left"}
    kwargs = {"name": "defects", "features": features, "symbol": "disc", "size": size,
              "face_color": np.zeros((n, 4), np.float32), "border_color": colors, "border_width": 0.08,
              "border_width_is_relative": True, "text": text, "metadata": dict(meta)}
    return (_yx(defects, with_frame), kwargs, "points")


def analysis_layers(image: np.ndarray | None, atoms, defects, edges: np.ndarray | None, *, pixel_size_A: float | None,
                    model: str | None = None, name: str = "image", edge_frames: np.ndarray | None = None
                    ) -> list[LayerData]:
    """The layers of one analysis (or a stack of them when ``atoms`` has a ``frame`` column).

    Parameters
    ----------
    image
        (H, W) image or (frames, H, W) stack; None: no image layer.
    atoms, defects
        pandas DataFrames with the Atoms and Defects CSV columns (positions in px).
    edges
        (E, 2) row indices into ``atoms`` of the graph's edges; None: no bonds layer.
    pixel_size_A
        Å per pixel (for the defect ring size and the metadata).
    """
    meta = {"pixel_size_A": pixel_size_A, "model": model, "source": "atomgraph"}
    with_frame = "frame" in atoms
    vacancy = np.asarray(atoms["vacancy"], dtype=bool) if "vacancy" in atoms else \
        np.asarray(atoms["element"].fillna("") == "", dtype=bool)
    layers: list[LayerData] = []
    if image is not None:
        layers.append(image_layer(image, name, meta))
    if edges is not None:
        layers.append(bonds_layer(atoms, edges, meta, frames=edge_frames))
    palette: dict = {}
    real, empty = atoms[~vacancy], atoms[vacancy]
    layer = atoms_layer(real, meta, with_frame=with_frame, palette=palette)
    layers.append(layer)
    if len(empty):
        layers.append(vacancy_layer(empty, meta, layer[1]["size"], with_frame=with_frame, palette=palette))
    if defects is not None and len(defects):
        layers.append(defects_layer(defects, meta, pixel_size_A, with_frame=with_frame, palette=palette))
    return layers


def track_layers(movie: np.ndarray | None, tracks, events, *, pixel_size_A: float | None,
                 name: str = "movie") -> list[LayerData]:
    """The layers of a ``track`` result: movie, Tracks (``track_id, frame, y_px, x_px``), sites and vacancy sites
    per frame coloured by their smoothed label, and events at ``(frame, y_px, x_px)``.

    ``tracks``/``events``: DataFrames with the tracks.csv / events.csv columns."""
    meta = {"pixel_size_A": pixel_size_A, "source": "atomgraph"}
    layers: list[LayerData] = []
    if movie is not None:
        layers.append(image_layer(movie, name, meta))
    order = np.lexsort((np.asarray(tracks["frame"]), np.asarray(tracks["track_id"])))
    ordered = tracks.iloc[order]
    data = np.column_stack([np.asarray(ordered[c], dtype=float) for c in ("track_id", "frame", "y_px", "x_px")]) \
        if len(ordered) else np.zeros((0, 4))
    features = {"label": np.asarray(ordered["label"], dtype=object).astype(str),
                "prob": np.asarray(ordered["prob"], dtype=float)}
    layers.append((data, {"name": "tracks", "features": features, "tail_length": 10, "tail_width": 1.5,
                          "metadata": dict(meta)}, "tracks"))
    vacancy = np.asarray(tracks["element"].fillna("").astype(str) == "", dtype=bool)
    palette: dict = {}
    sites = atoms_layer(tracks[~vacancy], meta, name="sites", with_frame=True, palette=palette)
    layers.append(sites)
    if vacancy.any():
        layers.append(vacancy_layer(tracks[vacancy], meta, sites[1]["size"], with_frame=True, palette=palette))
    if events is not None and len(events):
        features = {c: np.asarray(events[c].fillna(""), dtype=object).astype(str)
                    for c in ("type", "track_ids", "from_label", "to_label")}
        features["prob"] = np.asarray(events["prob"], dtype=float)
        text = {"string": "{type}: {from_label}→{to_label}", "color": "yellow", "size": 9, "anchor": "upper_left"}
        layers.append((_yx(events, True), {"name": "events", "features": features, "symbol": "star",
                                           "size": 2.5 * sites[1]["size"], "face_color": "yellow",
                                           "border_width": 0, "text": text, "metadata": dict(meta)}, "points"))
    return layers
