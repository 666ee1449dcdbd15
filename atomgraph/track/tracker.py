"""``atomgraph.track``: a movie -> per-frame analysis, registration, linking, smoothed label timelines, events.

Frames are taken one at a time (an array, a memory-mapped stack or any iterable of 2D arrays: they are never all
held); per frame the normal :func:`atomgraph.analyze`, then the drift against the last good frame
(:mod:`.register`, refined by the median offset of the sites to their tracks), then :mod:`.link`. After the last
frame every track's label timeline is decoded (:mod:`.decode`) and the changes become events (:mod:`.events`,
:mod:`.changes`); during a live session :meth:`Tracker.latest` decodes only the last few frames (:mod:`.live`). A blank or unusable frame (constant, non-finite, or refused by the analysis) is reported in
``skipped`` and left out; the movie goes on.

Units: positions in px of each frame's own pixels and in Å; drift in px relative to the first good frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import numpy as np

from ..errors import AtomgraphInputError
from ..models.model import resolve_model
from ..pipeline import analyze
from ..pixel_size import check_pixel_size
from .alias import ON_TRACK_SHARE, shift_log_odds
from .decode import DecodeSettings, decode_rows, track_table
from .events import transition_pairs, transition_rows
from .evidence import column_labels, label_probs
from .frames import UnreadableFrame
from .intensity import frame_ratios
from .link import Linker
from .live import LiveUpdate, LiveWindow
from .register import aperiodic_scores, candidate_shifts, prepare, spectrum
from .result import TrackResult
from .sublattice import sublattice_groups

_label_probs = label_probs  # the name tests and notebooks imported before evidence.py held it

log = logging.getLogger(__name__)

REGISTRATION_GRID_A = 0.1  # frames finer than this are binned for the drift correlation (refined on the sites)
SHIFT_SITES = 3000         # sites read per candidate shift (all dopants and vacancies, evenly spaced others)
SHIFT_CANDIDATES = 48      # correlation peaks considered: every lattice-vector alias within the drift bound
COARSE_SITES = 400         # sites every candidate shift is first judged on ...
FINE_CANDIDATES = 3        # ... and how many of the best are judged again on SHIFT_SITES


def _frame_problem(image: np.ndarray) -> str | None:
    """Why a frame cannot be analyzed (None when it can)."""
    if image.ndim != 2:
        return f"not a 2D frame (shape {image.shape})"
    if not np.all(np.isfinite(image)):
        return "non-finite pixels"
    if float(np.ptp(image)) == 0.0:
        return "blank (constant) frame"
    return None


def track(frames: Iterable[np.ndarray], model: str = "graphene-si", pixel_size_A: float | None = None, *,
          memory: int = 2, switch: float = 0.01, edge_A: float | None = None, min_event_prob: float = 0.5,
          max_drift_A: float = 6.0,
          progress: Callable[[int], None] | None = None) -> TrackResult:
    """Track every site of a movie and report label changes.

    Parameters
    ----------
    frames : iterable of ndarray
        2D frames in order: an (F, H, W) array (a memory map is fine) or any iterable of 2D arrays.
    model : str, default "graphene-si"
        Bundled model name or model folder (as in :func:`atomgraph.analyze`).
    pixel_size_A : float
        Å per pixel (required).
    memory : int, default 2
        A site missed for up to this many frames keeps its identity.
    switch : float, default 0.01
        Per-frame probability that a site's label changes (the HMM's stickiness).
    edge_A : float, optional
        Sites closer than this to the frame edge give weak evidence and no events, Å (default: two bonds).
    min_event_prob : float, default 0.5
        Events whose confidence (old label's probability before times the new one's after) is below this are
        not reported (the smoothed labels in ``tracks`` still show the change).
    max_drift_A : float, default 6.0
        Largest drift between two consecutive analyzed frames, Å (bounds the registration's search).
    progress : callable, optional
        Called with the frame index after each frame (e.g. a tqdm update).

    Returns
    -------
    TrackResult
        Tracks (one row per site per frame), events, transitions, drift (px) and the skipped frames.
    """
    tracker = Tracker(model, pixel_size_A, memory=memory, switch=switch, edge_A=edge_A,
                      min_event_prob=min_event_prob, max_drift_A=max_drift_A)
    for k, image in enumerate(frames):
        tracker.add(image)
        if progress:
            progress(k)
    return tracker.result()


class Tracker:
    """The state of :func:`track`, one frame at a time. Live use: :meth:`add` each frame as it lands and
    :meth:`latest` for what it settled (a fixed lag of ``lag`` frames, cost independent of the movie's length);
    :meth:`result` decodes the whole movie (at the end).

    Parameters
    ----------
    model : str, default "graphene-si"
        As in :func:`track`.
    pixel_size_A : float
        Å per pixel (required).
    memory, switch, edge_A, min_event_prob, max_drift_A : int, float, float, float, float
        As in :func:`track` (``edge_A`` and ``max_drift_A`` in Å).
    lag : int, default 5
        Frames until a frame is final in :meth:`latest` (at least ``memory + 1``: a track's end is sure only then).
    context : int, default 8
        Frames decoded before the lag window (at least ``memory + 3``).
    """

    def __init__(self, model: str = "graphene-si", pixel_size_A: float | None = None, *, memory: int = 2,
                 switch: float = 0.01, edge_A: float | None = None, min_event_prob: float = 0.5,
                 max_drift_A: float = 6.0, lag: int = 5, context: int = 8) -> None:
        self.px = check_pixel_size(pixel_size_A)
        self.model = resolve_model(model)  # once for the movie: every frame's analysis reads the object
        self.mat = self.model.material
        self.labels, self.host = self.mat.labels, self.mat.host_labels
        self.columns = column_labels(self.mat.settings, self.labels)
        self.groups = sublattice_groups(self.mat, self.labels)
        self.host_elements = list(self.mat.settings.lattice.host.values())
        self.bond = self.mat.bond_A
        self.edge = 2.0 * self.bond if edge_A is None else float(edge_A)
        # a node's novelty reads its graph neighborhood out to the classifier's receptive field (one bond per
        # message-passing layer): nearer the frame edge than that, part of the neighborhood is out of view, so its
        # novelty flag is no evidence of a change (a window moving over a grain boundary otherwise "finds" events)
        self.novelty_edge = max(self.edge, (self.model.classifier.net.config.get("layers", 4) + 1) * self.bond)
        self.switch, self.min_event_prob, self.max_drift_A = switch, min_event_prob, max_drift_A
        self.bin_px = max(1, int(REGISTRATION_GRID_A / self.px))  # the correlation runs on pixels of ~0.1 Å or more
        self.linker = Linker(max_cost_A=0.75 * self.bond, memory=memory, element_penalty_A=0.35 * self.bond)
        self.rows: dict[str, list] = {k: [] for k in ("frame", "track_id", "xy_px", "xy_reg_A", "element",
                                                      "raw_label", "probs", "edge", "vacancy", "ratio",
                                                      "sigma", "novel", "novel_edge", "born")}
        self.drift: list[np.ndarray] = []
        self.skipped: list[tuple[int, str]] = []
        self.prev, self.shift_total = None, np.zeros(2)
        self.t_analyze = self.t_link = 0.0
        self.n_frames = 0
        implied = self.model.classifier.meta.label_elements
        dopants = tuple(x for x in self.labels if implied.get(x, "") not in ("", *self.host_elements))
        self.settings = DecodeSettings(self.labels, self.host, switch, self.bond, min_event_prob, self.groups,
                                       self.columns, tuple(self.mat.settings.graph.all_vacancy_labels or ()), memory,
                                       dopants)
        self.birth = np.zeros(0, dtype=int)  # the frame each track id was born
        self.window = LiveWindow(self.settings, self.px, lag=max(lag, memory + 1), context=max(context, memory + 3))

    def add(self, image) -> str | None:
        """Analyze, register and link the next frame.

        Parameters
        ----------
        image : ndarray or UnreadableFrame
            The frame (H, W), or the reason it could not be read.

        Returns
        -------
        str or None
            Why the frame was skipped; None when it was not.
        """
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
        frame, the one the evidence favours (:func:`_choose_shift`), refined by the sites' median offset."""
        px, bond, linker = self.px, self.bond, self.linker
        b = self.bin_px
        prepared = prepare(image, bin_px=b)
        cur = (prepared.shape, spectrum(prepared))
        if self.prev is not None and self.prev[0] == cur[0]:
            candidates = candidate_shifts(self.prev[1], cur[1], self.max_drift_A / (px * b), n=SHIFT_CANDIDATES,
                                          fine_px=1.0 / b, coarse_px=12.0 / b, shape=cur[0], heights=True)
            aperiodic = aperiodic_scores(self.prev[1], cur[1], cur[0], candidates[:, :2], fine_px=1.0 / b,
                                         coarse_px=12.0 / b)
            candidates = np.c_[b * candidates[:, :2], candidates[:, 2], aperiodic]
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
                  "probs": label_probs(atoms, self.labels, self.mat.settings.graph.all_vacancy_labels),
                  "edge": dist_edge < self.edge, "vacancy": vacancy, "ratio": ratio,
                  "sigma": np.full(len(atoms), sigma),
                  "novel": atoms.novel if atoms.novel is not None else np.zeros(len(atoms), bool),
                  "novel_edge": dist_edge < self.novelty_edge,
                  "born": self._born(ids, k)}
        for key, value in values.items():
            self.rows[key].append(value)
        self.window.push(values)

    def _born(self, ids: np.ndarray, k: int) -> np.ndarray:
        """The frame each of ``ids`` was born (new ids, numbered on from the last, are born at frame ``k``)."""
        if len(ids) and ids.max() >= len(self.birth):
            self.birth = np.concatenate([self.birth, np.full(int(ids.max()) + 1 - len(self.birth), k)])
        return self.birth[ids]

    def latest(self) -> LiveUpdate:
        """What the frames so far settle for a live session (:class:`~atomgraph.track.live.LiveUpdate`): the rows
        and events of the frames that became final (``lag`` frames back), the newest frame's provisional labels,
        the transition counts so far. Costs the same at frame 3,000 as at frame 30 (only the last
        ``lag + context`` analyzed frames are decoded).

        Returns
        -------
        LiveUpdate
            The final rows and events, the provisional labels and the transition counts.
        """
        return self.window.update(self.n_frames - 1, self.drift[-1] if self.drift else np.full(2, np.nan))

    def result(self) -> TrackResult:
        """Decode the label timelines of every frame so far into tracks, events and transitions (the whole movie:
        its cost grows with the movie; a live session asks :meth:`latest` per frame and this once at the end).

        Returns
        -------
        TrackResult
            As :func:`track` returns it.
        """
        if self.n_frames == 0:
            raise AtomgraphInputError("the movie has no frames")
        if len(self.rows["frame"]) == 0:
            raise AtomgraphInputError(f"no frame of the movie could be analyzed ({self.skipped[0][1]})")
        t0 = time.perf_counter()
        data = {k: np.concatenate(v) for k, v in self.rows.items()}
        dec = decode_rows(data, self.settings)
        tracks = track_table(data, dec, self.labels, self.px)
        pairs = transition_pairs(data["track_id"][dec.order], dec.smoothed[dec.order])
        pairs.update(dec.joined)
        transitions = transition_rows(pairs, self.n_frames - len(self.skipped))
        timings = {"analyze": self.t_analyze, "register_link": self.t_link, "timelines": time.perf_counter() - t0}
        return TrackResult(tracks=tracks, events=dec.events, transitions=transitions, drift_px=np.array(self.drift),
                           skipped=self.skipped, labels=self.labels, host_labels=self.host, pixel_size_A=self.px,
                           n_frames=self.n_frames, timings_s=timings)


def _choose_shift(linker: Linker, candidates: np.ndarray, shift_total: np.ndarray, xy_px: np.ndarray,
                  element: np.ndarray, rare: np.ndarray, frame: int, px: float, bond: float) -> np.ndarray:
    """The cumulative drift (px) for this frame. ``candidates`` (K, 4): the correlation's shifts ``dx, dy`` (px),
    their peak heights over the highest and their aperiodic z-scores (:func:`.register.aperiodic_scores`). Each
    is refined by the sites' median offset to the tracks; those under which clearly fewer sites sit on a track than
    under the best one (:data:`.alias.ON_TRACK_SHARE`: a shift by a bond puts half of them between tracks) are
    dropped; of the rest the most probable wins (:func:`.alias.shift_log_odds`). Every candidate is first judged on
    :data:`COARSE_SITES` sites (every dopant and vacancy among them), the best :data:`FINE_CANDIDATES` again on
    :data:`SHIFT_SITES`."""
    if len(candidates) == 0:
        return shift_total
    coarse = _judged(linker, candidates, shift_total, xy_px, element, rare, frame, px, bond, COARSE_SITES)
    best = np.argsort([-t[2] for t in coarse], kind="stable")[:FINE_CANDIDATES]
    fine = _judged(linker, candidates[best], shift_total, xy_px, element, rare, frame, px, bond, SHIFT_SITES)
    top_share = max(t[1] for t in fine)
    return max((t for t in fine if t[1] >= ON_TRACK_SHARE * top_share), key=lambda t: t[2])[0]


def _judged(linker: Linker, candidates: np.ndarray, shift_total: np.ndarray, xy_px: np.ndarray,
            element: np.ndarray, rare: np.ndarray, frame: int, px: float, bond: float, n_sites: int
            ) -> list[tuple[np.ndarray, float, float]]:
    """(refined cumulative drift (px), share of sites on a track, log-odds; -inf for a shift by a bond) of each
    candidate, judged on at most ``n_sites`` sites."""
    sample = _shift_sample(rare, n_sites)
    xy, element, rare = xy_px[sample], element[sample], rare[sample]
    out = []
    for rank, (dx, dy, height, aperiodic) in enumerate(candidates):
        total = shift_total + np.array([dx, dy])
        res = linker.residuals((xy - total) * px, frame, 0.5 * bond)  # the peak is a few tenths of an Å off
        if len(res) >= 5:
            total = total + np.median(res, axis=0) / px
        share, n_rare = linker.agreement((xy - total) * px, element, frame, 0.45 * bond, rare)
        out.append((total, share, shift_log_odds(height, aperiodic, n_rare) - 1e-3 * rank))
    top_share = max((t[1] for t in out), default=0.0)
    return [(t[0], t[1], t[2] if t[1] >= ON_TRACK_SHARE * top_share else -np.inf) for t in out]


def _shift_sample(rare: np.ndarray, n_sites: int) -> np.ndarray:
    """Indices of the sites a candidate shift is judged on: every rare one and evenly spaced others, about
    ``n_sites`` in all (every site when there are fewer)."""
    n = len(rare)
    if n <= n_sites:
        return np.arange(n)
    keep = np.asarray(rare, bool).copy()
    keep[:: max(1, n // n_sites)] = True
    return np.flatnonzero(keep)
