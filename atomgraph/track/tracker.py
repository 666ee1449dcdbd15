"""``atomgraph.track``: a movie -> per-frame analysis, registration, linking, smoothed label timelines, events.

Frames are taken one at a time (an array, a memory-mapped stack or any iterable of 2D arrays: they are never all
held); per frame the normal :func:`atomgraph.analyze`, then the drift against the last good frame
(:mod:`.register`, refined by the median offset of the sites to their tracks), then :mod:`.link`. After the last
frame every track's label timeline is decoded by :mod:`.timeline` and the changes become events
(:mod:`.events`). A blank or unusable frame (constant, non-finite, or refused by the analysis) is reported in
``skipped`` and left out; the movie goes on.

Units: positions in px of each frame's own pixels and in Å; drift in px relative to the first good frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..errors import AtomgraphInputError
from .events import label_changes, pair_hops, transition_table
from .frames import UnreadableFrame
from .intensity import column_evidence, frame_ratios, single_level
from .link import Linker
from .register import candidate_shifts, prepare, spectrum
from .sublattice import keep_sublattice, sublattice_groups
from .timeline import emission_log, viterbi

log = logging.getLogger(__name__)

REGISTRATION_GRID_A = 0.1  # frames finer than this are binned for the drift correlation (refined on the sites)


@dataclass
class TrackResult:
    """What :func:`track` found.

    Attributes
    ----------
    tracks : dict of (N,) arrays, one row per detected site per frame: ``frame, track_id, x_px, y_px, x_A, y_A,
        element, label`` (smoothed), ``prob`` (that frame's probability of the smoothed label), ``raw_label``
        (the frame's own label), ``vacancy``.
    events : list of dicts ``frame, type, track_ids, x_px, y_px, from_label, to_label, prob``.
    transitions : list of dicts ``from_label, to_label, count, rate_per_frame, prob, prob_low, prob_high``.
    drift_px : (F, 2) drift of each frame relative to the first good one, px (NaN for skipped frames).
    skipped : list of (frame, reason).
    labels : the model's label vocabulary; ``host_labels`` its host labels.
    """

    tracks: dict
    events: list
    transitions: list
    drift_px: np.ndarray
    skipped: list
    labels: list
    host_labels: list
    pixel_size_A: float
    n_frames: int
    timings_s: dict = field(default_factory=dict)

    def tracks_frame(self):
        """``tracks`` as a ``pandas.DataFrame`` (one row per site per frame, ordered by frame then track), with the
        tracks.csv columns first."""
        import pandas as pd

        frame = pd.DataFrame({k: np.asarray(v) for k, v in self.tracks.items()})
        first = [c for c in ("frame", "track_id", "x_px", "y_px", "x_A", "y_A", "element", "label", "prob")
                 if c in frame]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        return frame.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)

    def events_frame(self):
        """``events`` as a ``pandas.DataFrame`` (events.csv columns; positions in that frame's px)."""
        import pandas as pd

        columns = ["frame", "type", "track_ids", "x_px", "y_px", "from_label", "to_label", "prob"]
        return pd.DataFrame(list(self.events), columns=columns)

    def transitions_frame(self):
        """``transitions`` as a ``pandas.DataFrame`` (transitions.csv columns)."""
        import pandas as pd

        columns = ["from_label", "to_label", "count", "rate_per_frame", "prob", "prob_low", "prob_high"]
        return pd.DataFrame(list(self.transitions), columns=columns)

    def _repr_html_(self) -> str:
        """Jupyter's view: events and transitions as tables and the label timeline inline (no file written)."""
        from ..notebook import track_html

        return track_html(self)

    def rates_per_frame(self) -> dict[str, float]:
        """Events per analyzed frame, by type."""
        n = max(self.n_frames - len(self.skipped), 1)
        out: dict[str, float] = {}
        for e in self.events:
            out[e["type"]] = out.get(e["type"], 0.0) + 1.0 / n
        return out


def _frame_problem(image: np.ndarray) -> str | None:
    """Why a frame cannot be analyzed (None when it can)."""
    if image.ndim != 2:
        return f"not a 2D frame (shape {image.shape})"
    if not np.all(np.isfinite(image)):
        return "non-finite pixels"
    if float(np.ptp(image)) == 0.0:
        return "blank (constant) frame"
    return None


def _label_probs(atoms, labels: list[str], vacancy_label: str | list[str] | None = None) -> np.ndarray:
    """(N, L) per-node label probabilities (``extra['prob_<label>']``; one-hot on ``label`` where missing). A node
    with no probability on the vocabulary has none (NaN row). A vacancy node of a material with a vacancy label
    that the classifier leaves unlabeled (less than half its probability on the vocabulary) gets 0.9 (shared among
    several vacancy labels) on it: the lattice model found its site empty, which is evidence for it."""
    n = len(atoms)
    cols = []
    for label in labels:
        p = atoms.extra.get(f"prob_{label}")
        cols.append(np.asarray(p, float) if p is not None else (atoms.label == label).astype(float))
    probs = np.stack(cols, axis=1) if n else np.zeros((0, len(labels)))
    mass = np.nansum(probs, axis=1)
    none = ~(mass > 0)
    probs[none] = np.nan
    vac = [vacancy_label] if isinstance(vacancy_label, str) else list(vacancy_label or [])
    vac = [labels.index(v) for v in vac if v in labels]
    if vac and len(labels) > len(vac):
        empty = ~(mass >= 0.5) & np.asarray(atoms.vacancy, bool)
        probs[empty] = 0.1 / (len(labels) - len(vac))
        probs[np.ix_(np.flatnonzero(empty), vac)] = 0.9 / len(vac)
    return probs


def track(frames: Iterable[np.ndarray], model: str = "graphene-si", pixel_size_A: float | None = None, *,
          memory: int = 2, switch: float = 0.01, edge_A: float | None = None, min_event_prob: float = 0.5,
          max_drift_A: float = 6.0,
          progress: Callable[[int], None] | None = None) -> TrackResult:
    """Track every site of a movie and report label changes.

    Parameters
    ----------
    frames
        2D frames in order: an (F, H, W) array (a memory map is fine) or any iterable of 2D arrays.
    model
        Bundled model name or model folder (as in :func:`atomgraph.analyze`).
    pixel_size_A
        Å per pixel (required).
    memory
        A site missed for up to this many frames keeps its identity.
    switch
        Per-frame probability that a site's label changes (the HMM's stickiness).
    edge_A
        Sites closer than this to the frame edge give weak evidence and no events, Å (default: two bonds).
    min_event_prob
        Events whose confidence (old label's probability before times the new one's after) is below this are
        not reported (the smoothed labels in ``tracks`` still show the change).
    max_drift_A
        Largest drift between two consecutive analyzed frames, Å (bounds the registration's search).
    progress
        Called with the frame index after each frame (e.g. a tqdm update).
    """
    tracker = Tracker(model, pixel_size_A, memory=memory, switch=switch, edge_A=edge_A,
                      min_event_prob=min_event_prob, max_drift_A=max_drift_A)
    for k, image in enumerate(frames):
        tracker.add(image)
        if progress:
            progress(k)
    return tracker.result()


class Tracker:
    """The state of :func:`track`, one frame at a time (for live use: :meth:`add` each frame as it lands,
    :meth:`result` whenever the outputs are wanted). Arguments as in :func:`track`."""

    def __init__(self, model: str = "graphene-si", pixel_size_A: float | None = None, *, memory: int = 2,
                 switch: float = 0.01, edge_A: float | None = None, min_event_prob: float = 0.5,
                 max_drift_A: float = 6.0) -> None:
        from ..materials import get_material
        from ..weights import model_material

        if pixel_size_A is None:
            raise AtomgraphInputError("pixel size is needed (Å/px): give pixel_size_A= or --pixel-size")
        self.model, self.px = model, float(pixel_size_A)
        self.mat = get_material(model_material(model))
        self.labels, self.host = self.mat.labels, self.mat.host_labels
        self.columns = _column_labels(self.mat.settings, self.labels)
        self.groups = sublattice_groups(self.mat, self.labels)
        self.host_elements = list(self.mat.settings.lattice.host.values())
        self.bond = self.mat.bond_A
        self.edge = 2.0 * self.bond if edge_A is None else float(edge_A)
        self.switch, self.min_event_prob, self.max_drift_A = switch, min_event_prob, max_drift_A
        self.bin_px = max(1, int(REGISTRATION_GRID_A / self.px))  # the correlation runs on pixels of ~0.1 Å or more
        self.linker = Linker(max_cost_A=0.75 * self.bond, memory=memory, element_penalty_A=0.35 * self.bond)
        self.rows: dict[str, list] = {k: [] for k in ("frame", "track_id", "xy_px", "xy_reg_A", "element",
                                                      "raw_label", "probs", "edge", "vacancy", "ratio",
                                                      "sigma")}
        self.drift: list[np.ndarray] = []
        self.skipped: list[tuple[int, str]] = []
        self.prev, self.shift_total = None, np.zeros(2)
        self.t_analyze = self.t_link = 0.0
        self.n_frames = 0

    def add(self, image) -> str | None:
        """Analyze, register and link the next frame; returns why it was skipped (None when it was not)."""
        from ..pipeline import analyze

        k = self.n_frames
        self.n_frames += 1
        if isinstance(image, UnreadableFrame):
            problem = image.reason
        else:
            image = np.asarray(image, dtype=np.float32)
            problem = _frame_problem(image)
        result = None
        if problem is None:
            t0 = time.perf_counter()
            try:
                result = analyze(image, model=self.model, pixel_size_A=self.px)
            except AtomgraphInputError as exc:
                problem = str(exc)
            self.t_analyze += time.perf_counter() - t0
        if problem is not None:
            log.info("frame %d skipped: %s", k, problem)
            self.skipped.append((k, problem))
            self.drift.append(np.full(2, np.nan))
            return problem
        t0 = time.perf_counter()
        atoms = result.atoms
        element = np.where(atoms.vacancy, "vac", atoms.element).astype(object)
        reg = self._register(image, atoms.positions_px, element, k)
        ids = self.linker.link(reg, element, k)
        self._append_rows(k, image.shape, atoms, ids, reg)
        self.drift.append(self.shift_total.copy())
        self.t_link += time.perf_counter() - t0
        return None

    def _register(self, image: np.ndarray, xy_px: np.ndarray, element: np.ndarray, k: int) -> np.ndarray:
        """Frame ``k``'s sites in the registered frame (Å): the correlation's candidate shifts against the last good
        frame, the one that puts dopants and vacancies on their tracks, refined by the sites' median offset."""
        px, bond, linker = self.px, self.bond, self.linker
        b = self.bin_px
        prepared = prepare(image, bin_px=b)
        cur = (prepared.shape, spectrum(prepared))
        if self.prev is not None and self.prev[0] == cur[0]:
            candidates = b * candidate_shifts(self.prev[1], cur[1], self.max_drift_A / (px * b), n=16,
                                              fine_px=1.0 / b, coarse_px=12.0 / b, shape=cur[0])
            self.shift_total = _choose_shift(linker, candidates, self.shift_total, xy_px, element,
                                             ~np.isin(element, self.host_elements), k, px, bond)
        self.prev = cur
        reg = (xy_px - self.shift_total) * px
        for _ in range(2):  # refine the drift by the median offset of the sites to their tracks
            res = linker.residuals(reg, k, 0.45 * bond)
            if len(res) >= 5:
                med = np.median(res, axis=0)
                reg -= med
                self.shift_total = self.shift_total + med / px
        return reg

    def _append_rows(self, k: int, shape: tuple[int, int], atoms, ids: np.ndarray, reg: np.ndarray) -> None:
        """One row per site of frame ``k``: ids, positions, labels and probabilities, edge flags, intensity ratios."""
        xy_px, (h, w) = atoms.positions_px, shape
        dist_edge = np.minimum.reduce([xy_px[:, 0] + 0.5, w - 0.5 - xy_px[:, 0], xy_px[:, 1] + 0.5,
                                       h - 0.5 - xy_px[:, 1]]) * self.px
        vacancy = np.asarray(atoms.vacancy, bool)
        ratio, sigma = np.full(len(atoms), np.nan), np.nan
        if self.columns is not None and atoms.intensity is not None:
            ratio, sigma = frame_ratios(atoms.intensity, (atoms.label == self.labels[self.columns[0]]) & ~vacancy)
        values = {"frame": np.full(len(atoms), k), "track_id": ids, "xy_px": xy_px, "xy_reg_A": reg,
                  "element": np.asarray(atoms.element, dtype=object),
                  "raw_label": np.asarray(atoms.label, dtype=object),
                  "probs": _label_probs(atoms, self.labels, self.mat.settings.graph.all_vacancy_labels),
                  "edge": dist_edge < self.edge, "vacancy": vacancy, "ratio": ratio,
                  "sigma": np.full(len(atoms), sigma)}
        for key, value in values.items():
            self.rows[key].append(value)

    def result(self) -> TrackResult:
        """Decode the label timelines of every frame so far into tracks, events and transitions."""
        n_frames, skipped, labels, host = self.n_frames, self.skipped, self.labels, self.host
        px, bond, switch, min_event_prob = self.px, self.bond, self.switch, self.min_event_prob
        rows, drift = self.rows, self.drift
        t_analyze, t_link = self.t_analyze, self.t_link
        if n_frames == 0:
            raise AtomgraphInputError("the movie has no frames")
        if len(rows["frame"]) == 0:
            raise AtomgraphInputError(f"no frame of the movie could be analyzed ({skipped[0][1]})")
        t0 = time.perf_counter()
        data = {k: np.concatenate(v) for k, v in rows.items()}
        if self.groups is not None:  # a track keeps its sublattice (a dim Se1 column is not a Mo now and then)
            data["probs"] = keep_sublattice(data["probs"], data["track_id"], self.groups, self.columns)
        if self.columns is not None:  # chalcogen columns: one atom or two from the intensity, frame by frame
            full, single = self.columns
            level = single_level(data["ratio"], data["raw_label"] == labels[single])
            data["probs"] = column_evidence(data["probs"], data["ratio"], data["sigma"], full, single, level)
        smoothed, paths, changes = _decode(data, labels, host, switch)
        events = [c for c in changes if not c.pop("edge")]
        events = [e for e in pair_hops(events, host, 1.3 * bond) if e["prob"] >= min_event_prob]
        probs = data["probs"]
        index = np.array([labels.index(lab) for lab in smoothed]) if len(smoothed) else np.zeros(0, int)
        tracks = {"frame": data["frame"], "track_id": data["track_id"], "x_px": data["xy_px"][:, 0],
                  "y_px": data["xy_px"][:, 1], "x_A": data["xy_px"][:, 0] * px, "y_A": data["xy_px"][:, 1] * px,
                  "element": data["element"], "label": smoothed,
                  "prob": probs[np.arange(len(index)), index] if len(index) else np.zeros(0),
                  "raw_label": data["raw_label"], "vacancy": data["vacancy"]}
        timings = {"analyze": t_analyze, "register_link": t_link, "timelines": time.perf_counter() - t0}
        joined = [(e["from_label"], e["to_label"]) for e in events if e.pop("joins_tracks", False)]
        transitions = transition_table(paths, n_frames - len(skipped), joined)
        return TrackResult(tracks=tracks, events=events, transitions=transitions, drift_px=np.array(drift),
                           skipped=skipped, labels=labels, host_labels=host, pixel_size_A=px, n_frames=n_frames,
                           timings_s=timings)


def _column_labels(settings, labels: list[str]) -> tuple[int, int] | None:
    """Indices (in ``labels``) of the full chalcogen column label and of its one-atom label (recipe
    ``chalcogen_single_vacancy``), or None for a material without them (graphene)."""
    if settings.family != "tmd":
        return None
    single = [d.label for d in settings.defects if d.recipe == "chalcogen_single_vacancy"]
    full = settings.host_labels.get("chalcogen")
    if not single or full not in labels or single[0] not in labels:
        return None
    return labels.index(full), labels.index(single[0])


def _choose_shift(linker: Linker, candidates: np.ndarray, shift_total: np.ndarray, xy_px: np.ndarray,
                  element: np.ndarray, rare: np.ndarray, frame: int, px: float, bond: float) -> np.ndarray:
    """The cumulative drift (px) for this frame. Among the correlation's candidate shifts (best first), those under
    which fewer than 80 % of the sites near a track sit on one are dropped (a shift by a bond, not a lattice
    vector, puts half the sites between tracks); of the rest, the one under which the most dopants and vacancies
    land on a track of their own element wins, and the correlation's order breaks ties (a frame with no dopant or
    vacancy in view keeps the highest peak)."""
    best, best_score = shift_total + candidates[0], (-1, 0)
    n_rare_max = int(np.sum(rare))
    for rank, cand in enumerate(candidates):
        total = shift_total + cand
        res = linker.residuals((xy_px - total) * px, frame, 0.5 * bond)  # the peak is a few tenths of an Å off
        if len(res) >= 5:
            total = total + np.median(res, axis=0) / px
        on_track, n_rare = linker.agreement((xy_px - total) * px, element, frame, 0.45 * bond, rare)
        score = (n_rare, -rank)
        if on_track >= 0.8 and score > best_score:
            best, best_score = total, score
            if n_rare == n_rare_max:  # no later candidate can do better (ties go to the higher peak)
                break
    return best


def _decode(data: dict, labels: list[str], host: list[str], switch: float):
    """Viterbi per track: smoothed label per row, the label paths, and the changes (with ``edge`` flags).

    A track whose every frame with evidence has the same most probable label needs no Viterbi: that label at every
    frame has the best emission everywhere and no switch, so it is the most probable path (most tracks, at once)."""
    order = np.lexsort((data["frame"], data["track_id"]))
    tid = data["track_id"][order]
    starts = np.flatnonzero(np.r_[True, tid[1:] != tid[:-1]])
    ends = np.r_[starts[1:], len(order)]
    smoothed = np.empty(len(order), dtype=object)
    label_arr = np.array(labels, dtype=object)
    probs = data["probs"][order]
    has = np.isfinite(probs).all(axis=1)
    best = np.where(has, np.argmax(np.where(np.isfinite(probs), probs, -1.0), axis=1), -1)
    hi = np.maximum.reduceat(best, starts)
    lo = np.minimum.reduceat(np.where(has, best, len(labels)), starts)
    constant = (hi == lo) | (hi < 0)
    # the weight of a frame's evidence: none at the frame edge; an unlabeled node (little probability on the
    # vocabulary: "not a lattice site") weighs as much as the probability it puts on the vocabulary
    mass = np.nansum(np.where(np.isfinite(data["probs"]), data["probs"], 0.0), axis=1)
    floor = np.where(data["edge"], 0.8, np.clip(1.0 - 2.0 * mass, 0.01, 1.0))
    paths, changes = [], []
    for a, b, const, label in zip(starts, ends, constant, np.maximum(hi, 0)):
        if const:
            smoothed[order[a:b]] = labels[label]
            paths.append([labels[label]] * int(b - a))
            continue
        rows = order[a:b]
        path_idx = viterbi(emission_log(data["probs"][rows], floor[rows]), switch)
        path = list(label_arr[path_idx])
        smoothed[rows] = path
        paths.append(path)
        for c in label_changes(data["frame"][rows], path, data["probs"][rows], labels):
            r = rows[np.searchsorted(data["frame"][rows], c["frame"])]
            before = rows[np.searchsorted(data["frame"][rows], c["frame"]) - 1]
            c.update(track_id=int(tid[a]), x_px=float(data["xy_px"][r, 0]), y_px=float(data["xy_px"][r, 1]),
                     x_A=float(data["xy_reg_A"][r, 0]), y_A=float(data["xy_reg_A"][r, 1]),
                     edge=bool(data["edge"][r] or data["edge"][before]))
            changes.append(c)
    return smoothed, paths, changes + _ends_and_starts(data, order, starts, ends, smoothed, host, floor < 0.5)


def _ends_and_starts(data: dict, order: np.ndarray, starts: np.ndarray, ends: np.ndarray, smoothed: np.ndarray,
                     host: list[str], evidence: np.ndarray) -> list[dict]:
    """Pseudo-changes for dopant tracks that end before the movie does (``to_label`` '') or start after its first
    frame (``from_label`` ''), at their last and first frames with ``evidence`` (rows, bool): when a Si3 becomes a
    Si4 the Si moves to a bond center, where the linker may give it a new track or a C's track, so the change shows
    as one track ending and another starting or changing. :func:`~atomgraph.track.events.pair_hops` pairs them with
    their partner; unpaired ones are not events."""
    first_frame, last_frame = int(data["frame"].min()), int(data["frame"].max())
    out = []
    for a, b in zip(starts, ends):
        rows = order[a:b]
        rows = rows[evidence[rows]]
        if len(rows) == 0:
            continue
        for r, frame, side in ((rows[-1], int(data["frame"][rows[-1]]) + 1, "end"),
                               (rows[0], int(data["frame"][rows[0]]), "start")):
            label = smoothed[r]
            if label in host or not label or (side == "end" and frame > last_frame) or \
                    (side == "start" and frame == first_frame):
                continue
            out.append({"frame": frame, "from_label": label if side == "end" else "",
                        "to_label": "" if side == "end" else label, "prob": float(np.nanmax(data["probs"][r])),
                        "track_id": int(data["track_id"][r]), "x_px": float(data["xy_px"][r, 0]),
                        "y_px": float(data["xy_px"][r, 1]), "x_A": float(data["xy_reg_A"][r, 0]),
                        "y_A": float(data["xy_reg_A"][r, 1]), "edge": bool(data["edge"][r])})
    return out
