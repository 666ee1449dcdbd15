"""The napari reader: an ``analyze`` or ``track`` output folder opened as layers.

napari calls :func:`get_reader` with the path a user drops or opens (the folder, or its ``atoms.csv`` /
``tracks.csv``); :func:`read_results_layers` returns the layer data (:mod:`atomgraph.napari.layers`), so it can be
called and tested without napari. The image comes from ``source.json`` (:mod:`atomgraph.io.source_record`): the
file ``analyze``/``track`` read, or the ``image.npy`` saved beside results made from an array. When it is gone the
other layers still open and the reason is logged (napari shows warnings).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError
from ..io.dataframes import read_results, results_kind
from ..io.source_record import load_source_image, read_source
from .layers import LayerData, analysis_layers, track_layers

log = logging.getLogger(__name__)


def results_folder(path: str | os.PathLike) -> Path | None:
    """The output folder ``path`` names (the folder itself, or its atoms.csv / tracks.csv), or None when it is not
    one napari should open with atomgraph."""
    if isinstance(path, (list, tuple)):
        return None
    path = Path(path)
    folder = path.parent if path.name in ("atoms.csv", "tracks.csv") else path
    return folder if folder.is_dir() and results_kind(folder) in ("analyze", "track") else None


def get_reader(path: str | os.PathLike | list) -> Callable[[str], list[LayerData]] | None:
    """napari's reader hook: :func:`read_results_layers` when ``path`` is an atomgraph output folder, else None."""
    return read_results_layers if results_folder(path) is not None else None


def read_results_layers(path: str | os.PathLike) -> list[LayerData]:
    """Layers of an ``analyze`` folder (one image or a stack) or a ``track`` folder.

    Parameters
    ----------
    path
        The output folder, or its ``atoms.csv`` / ``tracks.csv``.

    Returns
    -------
    list of (data, kwargs, layer_type)
        Image, bonds, atoms, vacancy sites, defects (analyze); movie, tracks, sites, vacancy sites, events (track).
        Coordinates ``(y_px, x_px)``, with the frame first for stacks and movies.

    Raises
    ------
    AtomgraphInputError
        ``path`` is not an atomgraph output folder.
    """
    folder = results_folder(path)
    if folder is None:
        raise AtomgraphInputError("is not an atomgraph analyze or track output folder", source=str(path))
    tables = read_results(folder)
    if results_kind(folder) == "track":
        movie = _image(folder, whole_stack=True)
        return track_layers(movie, tables["tracks"], tables.get("events"), pixel_size_A=_pixel_size(folder, tables),
                            name=f"{folder.name} movie")
    atoms = tables["atoms"]
    if "frame" in atoms:  # a stack: one frame_NNNN/ per frame
        frames = sorted(int(f) for f in np.unique(atoms["frame"]))
        image = _image(folder / f"frame_{frames[0]:04d}", whole_stack=True) if frames else None
        edges, edge_frames = _stack_edges(folder, atoms, frames)
    else:
        image = _image(folder)
        edges, edge_frames = _edges(folder / "graph.npz", atoms), None
    return analysis_layers(image, atoms, tables.get("defects"), edges, pixel_size_A=_pixel_size(folder, tables),
                           model=_model(folder), name=f"{folder.name} image", edge_frames=edge_frames)


def _image(folder: Path, whole_stack: bool = False) -> np.ndarray | None:
    """The recorded image (or movie) of ``folder``; None, with the reason logged as a warning, when it is gone."""
    image, why = load_source_image(folder, whole_stack=whole_stack)
    if why:
        log.warning("atomgraph: %s", why)
    return image


def _record(folder: Path) -> dict:
    for candidate in (folder, folder / "frame_0000"):
        record = read_source(candidate)
        if record:
            return record
    return {}


def _model(folder: Path) -> str | None:
    return _record(folder).get("model")


def _pixel_size(folder: Path, tables: dict) -> float | None:
    """Å/px from source.json, else from the tables' ``x_A / x_px``."""
    value = _record(folder).get("pixel_size_A")
    if value:
        return float(value)
    table = tables.get("atoms", tables.get("tracks"))
    if table is not None and {"x_A", "x_px"} <= set(table.columns):
        x_px, x_A = np.asarray(table["x_px"], float), np.asarray(table["x_A"], float)
        ok = np.isfinite(x_px) & np.isfinite(x_A) & (np.abs(x_px) > 1)
        if ok.any():
            return float(np.median(x_A[ok] / x_px[ok]))
    return None


def _edges(npz: Path, atoms) -> np.ndarray | None:
    """(E, 2) row indices into ``atoms`` of the edges in ``graph.npz`` (node ids -> rows); None without the file."""
    if not npz.is_file():
        return None
    with np.load(npz, allow_pickle=False) as z:
        edges = np.asarray(z["edges"], dtype=np.int64).reshape(-1, 2)
    ids = np.asarray(atoms["id"], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    pos = np.searchsorted(ids[order], edges)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    rows = order[pos] if len(ids) else pos
    known = (ids[rows] == edges).all(axis=1) if len(ids) else np.zeros(len(edges), bool)
    return rows[known]


def _stack_edges(folder: Path, atoms, frames: list[int]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Edges of every ``frame_NNNN/graph.npz`` as rows of the stacked ``atoms`` table, and their frames."""
    frame_col = np.asarray(atoms["frame"], dtype=np.int64)
    all_edges, all_frames = [], []
    for f in frames:
        rows = np.flatnonzero(frame_col == f)
        edges = _edges(folder / f"frame_{f:04d}" / "graph.npz", atoms.iloc[rows])
        if edges is None:
            continue
        all_edges.append(rows[edges])
        all_frames.append(np.full(len(edges), f))
    if not all_edges:
        return None, None
    return np.concatenate(all_edges), np.concatenate(all_frames)
