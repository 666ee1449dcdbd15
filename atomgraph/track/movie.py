"""Simulated movies: one evolving structure rendered frame by frame, with exact per-frame truth and an event list.

The structure is built once (lattice + defects, as :func:`atomgraph.simulate` builds it); before every frame after
the first, beam-driven events change it at the rates of the material's ``movie:`` config section, and the whole
structure is translated by a random-walk drift. Every frame is then scanned and rendered with the same image
settings (dose, probe, scan distortions) and fresh noise. A column keeps its identity (``track_id``, the column id of
the structure) through every event, so tracking can be measured.

Events (``type`` and what changes). The rate keys of ``movie.rates`` name the event kinds: ``dopant_to_divacancy``,
``dopant_hop`` (honeycomb), ``chalcogen_loss``, ``chalcogen_vacancy`` (tmd), ``host_vacancy`` (honeycomb); a kind
the family has not is ignored.

- ``Si3>Si4`` (honeycomb): a Si3 takes one of its C neighbors' places away (the C leaves, the Si moves to the
  center of the pair and becomes Si4); the Si's track keeps its id, the C's track ends.
- ``hop`` (honeycomb): a Si3 swaps with one of its three C neighbors: the old site becomes ``C``, the neighbor
  ``Si3``; ``track_ids`` lists the old site first.
- ``vacancy_created`` (honeycomb, ``host_vacancy``): a host column (C) with only host columns within two bonds is
  sputtered (``from_label`` C, ``to_label`` empty: graphene-si has no vacancy label); its track ends.
- ``Se2>Se1`` (tmd): one chalcogen of an intact column is sputtered. ``Se1>Sevac`` (tmd): the second one goes, the
  site becomes a vacancy (element empty). The chalcogen label names come from the material's config.

Units: positions in Å inside the structure, truth positions in px of each frame; drift in Å per frame; rates are
expected events per frame in the whole field of view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ase.data import atomic_numbers

from ..atoms import AtomTable
from ..errors import AtomgraphInputError
from ..materials import Material, Structure, get_material, neighbor_columns
from ..simulate.scene import EDGE_MARGIN_BONDS, place_lattice
from ..simulate.settings import MAX_PIXELS, ImageSettings, check_positive, check_request, draw_settings
from ..simulate.simulation import frame_shape, render_columns

EVENT_COLUMNS = ["frame", "type", "track_ids", "x_px", "y_px", "from_label", "to_label"]


@dataclass
class Movie:
    """A simulated movie and its truth.

    Attributes
    ----------
    frames : (F, H, W) float32 detector signal.
    truth : one AtomTable per frame (``label`` set, ``extra['track_id']`` the site's identity; vacancy sites
        have ``vacancy`` True).
    events : list of dicts with :data:`EVENT_COLUMNS` (``frame`` = first frame showing the new state, ``x_px,
        y_px`` in that frame's pixels, ``track_ids`` a space-separated string).
    drift_px : (F, 2) translation of the structure in each frame relative to frame 0, px (x, y).
    settings : the image settings shared by every frame.
    """

    material: str
    seed: int
    frames: np.ndarray
    truth: list[AtomTable]
    events: list[dict]
    drift_px: np.ndarray
    settings: ImageSettings
    config: dict = field(default_factory=dict)

    @property
    def pixel_size_A(self) -> float:
        """Å per pixel."""
        return self.settings.pixel_size_A

    def manifest(self) -> dict:
        """JSON-ready description of the movie.

        Returns
        -------
        dict
            Material, seed, frames, shape (px), pixel size (Å/px), dose (e/Å²), movie config, event count.
        """
        return {"material": self.material, "seed": self.seed, "frames": int(len(self.frames)),
                "shape": list(self.frames.shape[1:]), "pixel_size_A": self.pixel_size_A,
                "dose_e_per_A2": self.settings.dose_e_per_A2, "movie": self.config, "events": len(self.events)}


def _column_ids(structure: Structure) -> np.ndarray:
    """Column ids in the order :meth:`Structure.columns` lists the columns."""
    return np.unique(structure.column[structure.keep])


class _Evolver:
    """Applies beam-driven events to a structure (one job: change atoms, report what changed)."""

    def __init__(self, mat: Material, structure: Structure, rng: np.random.Generator, inside,
                 base_positions: np.ndarray) -> None:
        self.mat, self.s, self.rng, self.inside = mat, structure, rng, inside
        self.base = base_positions  # the pristine lattice, to undo a recipe's relaxation around a site
        self.specs = {d.recipe: d for d in mat.settings.defects}
        host = mat.settings.host_labels
        self.family = mat.settings.family
        labels = {d.recipe: d.label for d in mat.settings.defects}
        self.si3 = labels.get("substitution", "Si3")
        self.si4 = labels.get("divacancy_center", "Si4")
        self.host_c = host.get("A", "C")
        self.x2 = host.get("chalcogen", "Se2")
        self.x1 = labels.get("chalcogen_single_vacancy", "Se1")
        self.x0 = labels.get("chalcogen_double_vacancy", "Sevac")

    def _sites(self, label: str, role: str | None = None) -> np.ndarray:
        ids, xy, roles = self.s.column_table()
        lab = np.array([self._label(c) for c in ids], dtype=object)
        ok = (lab == label) & self.inside(xy)
        if role is not None:
            ok &= roles == role
        return ids[ok]

    def _label(self, column: int) -> str:
        members = self.s.atoms_in_column(int(column))
        return str(self.s.labels[members[0]]) if len(members) else ""

    def _center(self, column: int) -> np.ndarray:
        return self.s.positions[self.s.atoms_in_column(int(column)), :2].mean(axis=0)

    def step(self, rates: dict[str, float]) -> list[dict]:
        """Draw this frame's events (Poisson numbers at ``rates``) and apply them; returns the events (without
        frame and pixel positions): ``type, track_ids (list), site_A (x, y), from_label, to_label``."""
        out: list[dict] = []
        used: set[int] = set()
        for kind, rate in rates.items():
            for _ in range(int(self.rng.poisson(rate)) if rate > 0 else 0):
                event = getattr(self, "_" + kind)(used)
                if event is not None:
                    out.append(event)
        return out

    # --- honeycomb --------------------------------------------------------------------------------------------
    def _c_neighbors(self, column: int, used: set[int]) -> np.ndarray:
        nb = neighbor_columns(self.s, int(column), 1.2 * self.mat.bond_A)
        return np.array([c for c in nb if self._label(c) == self.host_c and c not in used], dtype=int)

    def _relax_back(self, column: int) -> None:
        """Put a site and its neighbors back on the pristine lattice (undo the substitution's relaxation)."""
        for c in [column, *neighbor_columns(self.s, int(column), 1.2 * self.mat.bond_A)]:
            atoms = self.s.atoms_in_column(int(c))
            self.s.positions[atoms] = self.base[atoms]

    def _dopant_and_neighbor(self, used: set[int]) -> tuple[int, int, int, int] | None:
        """A random Si3 column not used this frame, one of its C neighbors, and their atoms (relaxation undone)."""
        sites = [c for c in self._sites(self.si3) if c not in used]
        if not sites or self.family != "honeycomb":
            return None
        c = int(self.rng.choice(sites))
        nb = self._c_neighbors(c, used)
        if len(nb) == 0:
            return None
        partner = int(self.rng.choice(nb))
        (i,) = self.s.atoms_in_column(c)
        (j,) = self.s.atoms_in_column(partner)
        self._relax_back(c)
        return c, partner, i, j

    def _dopant_to_divacancy(self, used: set[int]) -> dict | None:
        picked = self._dopant_and_neighbor(used)
        if picked is None:
            return None
        c, partner, i, j = picked
        self.s.positions[i] = 0.5 * (self.base[i] + self.base[j])  # as the divacancy_center recipe places it
        self.s.keep[j] = False
        self.s.labels[i] = self.si4
        self.s.touched[[i, j]] = True
        used.update((c, partner))
        return {"type": f"{self.si3}>{self.si4}", "track_ids": [c], "site_A": self.s.positions[i, :2].copy(),
                "from_label": self.si3, "to_label": self.si4}

    def _dopant_hop(self, used: set[int]) -> dict | None:
        picked = self._dopant_and_neighbor(used)
        if picked is None:
            return None
        c, target, i, j = picked
        self.s.numbers[i] = atomic_numbers[self.host_c]
        self.s.labels[i] = self.host_c
        spec = self.specs.get("substitution")
        if spec is None or not self.mat.family.RECIPES["substitution"](self.s, target, spec, self.rng, self.mat):
            return None
        used.update((c, target))
        return {"type": "hop", "track_ids": [c, target],
                "site_A": 0.5 * (self.s.positions[i, :2] + self.s.positions[j, :2]),
                "from_label": self.si3, "to_label": self.si3}

    def _host_vacancy(self, used: set[int]) -> dict | None:
        """A random host column (C) inside the field, all of whose columns within two bonds are host too, leaves."""
        sites = [c for c in self._sites(self.host_c) if c not in used]
        if not sites or self.family != "honeycomb":
            return None
        c = int(self.rng.choice(sites))
        nb = neighbor_columns(self.s, c, 2.1 * self.mat.bond_A)
        if any(self._label(n) != self.host_c or n in used for n in nb):
            return None
        site = self._center(c)
        atoms = self.s.atoms_in_column(c)
        self.s.keep[atoms] = False
        self.s.touched[atoms] = True
        used.update((c, *[int(n) for n in nb]))
        return {"type": "vacancy_created", "track_ids": [c], "site_A": site, "from_label": self.host_c,
                "to_label": ""}

    # --- tmd --------------------------------------------------------------------------------------------------
    def _chalcogen_column(self, used: set[int], label: str, n_atoms: int) -> tuple[int, np.ndarray] | None:
        """A random unused chalcogen column labeled ``label`` and its atoms, if it holds ``n_atoms`` (TMDs only)."""
        sites = [c for c in self._sites(label, "chalcogen") if c not in used]
        if not sites or self.family != "tmd":
            return None
        c = int(self.rng.choice(sites))
        atoms = self.s.atoms_in_column(c)
        return (c, atoms) if len(atoms) == n_atoms else None

    def _chalcogen_loss(self, used: set[int]) -> dict | None:
        picked = self._chalcogen_column(used, self.x2, 2)
        if picked is None:
            return None
        c, atoms = picked
        self.s.keep[atoms[int(self.rng.integers(2))]] = False
        self.s.labels[atoms] = self.x1
        self.s.touched[atoms] = True
        used.add(c)
        return {"type": f"{self.x2}>{self.x1}", "track_ids": [c], "site_A": self._center(c),
                "from_label": self.x2, "to_label": self.x1}

    def _chalcogen_vacancy(self, used: set[int]) -> dict | None:
        picked = self._chalcogen_column(used, self.x1, 1)
        if picked is None:
            return None
        c, atoms = picked
        site = self.s.positions[atoms[0]].copy()
        site[2] = 0.0
        self.s.keep[atoms] = False
        k = self.s.add(site, 0, self.x0, "chalcogen")
        self.s.column[k] = c
        used.add(c)
        return {"type": f"{self.x1}>{self.x0}", "track_ids": [c], "site_A": site[:2],
                "from_label": self.x1, "to_label": self.x0}


def _drift_walk(n: int, step_A: float, max_A: float, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) structure translation per frame, Å: a random walk of ``step_A`` per frame (direction persistent,
    turning by up to 60° per frame), kept within ``max_A`` of the start by a soft pull back."""
    out = np.zeros((n, 2))
    angle = rng.uniform(0.0, 2 * math.pi)
    for k in range(1, n):
        angle += rng.uniform(-math.pi / 3, math.pi / 3)
        step = step_A * rng.uniform(0.5, 1.0) * np.array([math.cos(angle), math.sin(angle)])
        nxt = out[k - 1] + step
        if np.hypot(*nxt) > max_A:  # turn back towards the start
            angle += math.pi
            nxt = out[k - 1] - step
        out[k] = nxt
    return out


def _place_events(events: list[dict], truth: AtomTable, ids: np.ndarray, drift_A: np.ndarray, px: float) -> None:
    """Set each event's position (px) in the frame that first shows it: its site's column, or the hop's two sites'
    mean; the drifted site position where the column is out of the frame."""
    for ev in events:
        row = np.flatnonzero(ids == ev["track_ids"][0])
        ev["x_px"], ev["y_px"] = truth.positions_px[row[0]] if len(row) else (ev["site_A"] + drift_A) / px
        if ev["type"] == "hop":
            rows = [np.flatnonzero(ids == t) for t in ev["track_ids"]]
            if all(len(r) for r in rows):
                ev["x_px"], ev["y_px"] = np.mean([truth.positions_px[r[0]] for r in rows], axis=0)


def _checked_arguments(frames, seed, pixel_size_A, dose, drift_A, shape: tuple[int, int]) -> float:
    """Refuse bad movie arguments and sizes (one line each, before anything is drawn); return the drift step, Å."""
    check_positive("pixel size", pixel_size_A)
    check_positive("dose", dose)
    if not isinstance(frames, (int, np.integer)) or not 1 <= frames <= 10000:
        raise AtomgraphInputError(f"frames must be an integer between 1 and 10000, got {frames!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AtomgraphInputError(f"seed must be a non-negative integer, got {seed!r}")
    step_A = float(drift_A)
    if not math.isfinite(step_A) or step_A < 0:
        raise AtomgraphInputError(f"drift must be >= 0 Å per frame, got {drift_A!r}")
    check_request(shape, pixel_size_A, dose)
    if shape[0] * shape[1] * int(frames) > 4 * MAX_PIXELS:
        raise AtomgraphInputError(f"{frames} frames of {shape[1]}x{shape[0]} px are more than {4 * MAX_PIXELS:,} "
                                  "pixels in all; simulate fewer or smaller frames")
    return step_A


def simulate_movie(material: str | Material, frames: int = 10, size: int | tuple[int, int] | None = None,
                   pixel_size_A: float | None = None, dose: float | None = None, seed: int = 0,
                   counts: dict[str, float] | None = None, drift_A_per_frame: float | None = None,
                   rates: dict[str, float] | None = None, noise: bool = True) -> Movie:
    """Simulate a movie of one evolving structure with exact truth per frame.

    Parameters
    ----------
    material : str or Material
        Built-in name or config (see :func:`atomgraph.simulate`); its ``movie:`` section gives the defaults.
    frames : int, default 10
        Number of frames (1..10000).
    size, pixel_size_A, dose, seed, counts : int, float, float, int, dict
        As in :func:`atomgraph.simulate` (px, Å/px, e/Å²; seed default 0: the same seed, the same movie).
    drift_A_per_frame : float, optional
        Drift step per frame, Å (default: the config's ``movie.drift_A_per_frame``).
    rates : dict of str to float, optional
        Event type -> expected events per frame in the field (default: config ``movie.rates``); 0: a static movie.
    noise : bool, default True
        As in :func:`atomgraph.simulate`.

    Returns
    -------
    Movie
        The frames (F, H, W), their truth (with ``extra['track_id']``), the events and the drift (px).

    Examples
    --------
    >>> movie = simulate_movie("graphene-si", frames=3, size=192, pixel_size_A=0.1, dose=1e5, seed=1)
    >>> movie.frames.shape, len(movie.truth), "track_id" in movie.truth[0].extra
    ((3, 192, 192), 3, True)
    """
    mat = get_material(material)
    cfg = mat.settings.movie
    shape = frame_shape(mat.settings.image.size_px if size is None else size)
    step_A = _checked_arguments(frames, seed, pixel_size_A, dose,
                                cfg.drift_A_per_frame if drift_A_per_frame is None else drift_A_per_frame, shape)
    rates = dict(cfg.rates if rates is None else rates)
    rng = np.random.default_rng(int(seed))
    s = draw_settings(mat.settings.image, rng, pixel_size_A, dose, noise, True)
    px = s.pixel_size_A
    max_A = min(cfg.max_drift_A, 0.15 * min(shape) * px)
    drift_A = _drift_walk(int(frames), step_A, max_A, rng)
    structure, inside = _padded_lattice(mat, shape, s, max_A, rng)
    base = structure.positions.copy()
    mat.add_defects(structure, inside, rng, mat.defect_counts(rng, counts))  # kept inside all frames
    evolver = _Evolver(mat, structure, rng, inside, base)
    images, truths, events = _film(evolver, int(frames), rates, drift_A, shape, s, rng, noise)
    return Movie(material=mat.name, seed=int(seed), frames=np.stack(images), truth=truths, events=_rows(events),
                 drift_px=drift_A / px, settings=s,
                 config={"drift_A_per_frame": step_A, "max_drift_A": max_A, "rates": rates})


def _film(evolver: _Evolver, frames: int, rates: dict, drift_A: np.ndarray, shape, s, rng, noise: bool) -> tuple:
    """The frames (images), their truth tables and the events of the evolving structure: events happen before every
    frame but the first and are placed (px) in the frame they happened in."""
    host = list(evolver.mat.settings.lattice.host.values())
    images, truths, events = [], [], []
    for k in range(frames):
        if k > 0:
            for ev in evolver.step(rates):
                ev["frame"] = k
                events.append(ev)
        image, truth, ids = _render_frame(evolver.s, drift_A[k], host, shape, s, rng, noise)
        images.append(image)
        truths.append(truth)
        _place_events([ev for ev in events if ev["frame"] == k], truth, ids, drift_A[k], s.pixel_size_A)
    return images, truths, events


def _render_frame(structure, drift_A: np.ndarray, host: list[str], shape: tuple[int, int], s, rng,
                  noise: bool) -> tuple[np.ndarray, AtomTable, np.ndarray]:
    """One frame of the structure as it is now, shifted by ``drift_A`` (Å): the image (float32), its truth table
    (columns inside the frame, with ``extra['track_id']``) and those columns' ids."""
    h, w = shape
    cols = structure.columns()
    ids = _column_ids(structure)
    cols.positions_A = cols.positions_A + drift_A
    xy_px, electrons, image = render_columns(cols, host, shape, s, rng, noise)
    in_frame = (xy_px[:, 0] >= -0.5) & (xy_px[:, 0] < w - 0.5) & (xy_px[:, 1] >= -0.5) & (xy_px[:, 1] < h - 0.5)
    truth = AtomTable.from_pixels(xy_px[in_frame], s.pixel_size_A, cols.element[in_frame], label=cols.label[in_frame],
                                  prob=np.ones(int(in_frame.sum())), intensity=electrons[in_frame],
                                  image_shape_px=(h, w), extra={"track_id": ids[in_frame]})
    return image, truth, ids[in_frame]


def _padded_lattice(mat: Material, shape: tuple[int, int], s, max_A: float, rng: np.random.Generator):
    """The movie's lattice, wide enough for ``max_A`` Å of drift on every side, and the test of "inside every
    frame" (positions in Å, at least the edge margin plus the drift from each frame edge) that defects and events
    keep to; a frame too small for that drift is refused."""
    px = s.pixel_size_A
    h, w = shape
    pad = int(math.ceil(max_A / px)) + 2
    structure = place_lattice(mat, (h + 2 * pad, w + 2 * pad), s, rng)
    structure.positions[:, :2] -= pad * px
    margin = EDGE_MARGIN_BONDS * mat.bond_A + max_A

    def inside(p: np.ndarray) -> np.ndarray:
        return (p[:, 0] > margin) & (p[:, 0] < (w - 1) * px - margin) & (p[:, 1] > margin) & \
            (p[:, 1] < (h - 1) * px - margin)

    if (w - 1) * px - 2 * margin < 2 * mat.bond_A or (h - 1) * px - 2 * margin < 2 * mat.bond_A:
        raise AtomgraphInputError(f"frames of {h}x{w} px are too small for {max_A:.1f} Å of drift")
    return structure, inside


def _rows(events: list[dict]) -> list[dict]:
    """The truth events as the movie's rows: frame, type, track ids (space-separated), place (px), labels."""
    return [{"frame": ev["frame"], "type": ev["type"], "track_ids": " ".join(str(t) for t in ev["track_ids"]),
             "x_px": float(ev["x_px"]), "y_px": float(ev["y_px"]), "from_label": ev["from_label"],
             "to_label": ev["to_label"]} for ev in events]
