"""The atom table passed between pipeline stages.

:class:`AtomTable` is a few aligned NumPy arrays: one row per atomic column (or vacancy site). Positions are kept in
Å (``positions_A``) with the pixel size beside them, so pixel coordinates follow (``x_px = x_A / pixel_size_A``;
pixel (row i, column j) has its center at ``x_px = j, y_px = i``). It converts to and from ``ase.Atoms``
(:meth:`AtomTable.to_ase`, :meth:`AtomTable.from_ase`), with the per-atom columns as ``Atoms.arrays``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

VACANCY_ELEMENT = ""  # vacancy nodes have an empty element
NO_LABEL = "-"  # how an empty label is stored in ase.Atoms arrays (extxyz cannot hold empty strings)
UNLABELED = "unlabeled"  # how an empty label is named to people (summary, overlay legend, README)
#: the per-node records stages add as typed :class:`AtomTable` fields (name -> dtype); None (and unwritten) until set
NODE_FLAGS = {"saturated": bool, "masked": bool, "recovered": bool, "uncertain": bool, "novel": bool,
              "novelty": float}


def _unset(name: str, n: int) -> np.ndarray:
    """(n,) rows of a :data:`NODE_FLAGS` record no stage set for them: False, NaN for ``novelty``."""
    kind = NODE_FLAGS[name]
    return np.full(n, np.nan if kind is float else False, kind)


def _str_array(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    return np.array([("" if v is None else str(v)) for v in values], dtype=object)


@dataclass
class AtomTable:
    """Atoms (columns) found in or given for one image.

    Attributes
    ----------
    positions_A : (N, 2) float
        x, y in Å (x along image columns, y along image rows).
    element : (N,) str
        Chemical symbol, ``''`` for a vacancy site.
    pixel_size_A : float or None
        Å per pixel of the image the positions refer to; ``None`` for coordinate input without an image.
    label : (N,) str
        Local-environment label (``''`` before classification).
    prob : (N,) float
        Probability of ``label`` (NaN before classification).
    score : (N,) float
        Detection score in [0, 1] (1 for coordinates given by a user).
    intensity : (N,) float
        Integrated column intensity in image units (NaN when unknown).
    vacancy : (N,) bool
        True for vacancy nodes (sites the lattice says are occupied but no atom was found).
    ids : (N,) int
        Stable ids, 0..N-1 unless set.
    extra : dict of (N, ...) arrays
        Further per-atom data (e.g. the locator's per-class probabilities ``p_<class>``, ``frame`` for stacks).
    image_shape_px : (rows, cols) or None
        Shape of the image the atoms were found in (None for coordinate input): the frame spans
        ``x_px, y_px`` in ``[-0.5, cols - 0.5] x [-0.5, rows - 0.5]``; the lattice model uses it as the observed region.
    saturated : (N,) bool or None
        The locator: the column's peak region is clipped (set by :func:`atomgraph.locate`).
    masked : (N,) bool or None
        The graph stage: no lattice can be read there (or a clipped column); its label is no defect.
    recovered : (N,) bool or None
        The graph stage: a column the locator missed, put back from the image evidence.
    uncertain : (N,) bool or None
        The classifier: the label's probability is below the model's threshold, or the topology does not settle it.
    novel : (N,) bool or None
        The classifier: outside every known class (``novelty`` > 1).
    novelty : (N,) float or None
        The classifier: > 1 means outside every known class (NaN without novelty statistics).

    label_probs : (N, L) float or None
        The classifier: every label's calibrated probability, columns in ``prob_labels`` order.
    prob_labels : tuple of str or None
        The labels of ``label_probs``' columns.

    The six flags are None until a stage sets them (:data:`NODE_FLAGS`), as are ``label_probs``/``prob_labels``. A
    table built with one of them in ``extra`` (read back from a file, or by older code; ``prob_<label>`` columns
    for the probabilities) gets it as the field. The writers put them back as those columns.
    """

    positions_A: np.ndarray
    element: np.ndarray
    pixel_size_A: float | None = None
    label: np.ndarray | None = None
    prob: np.ndarray | None = None
    score: np.ndarray | None = None
    intensity: np.ndarray | None = None
    vacancy: np.ndarray | None = None
    ids: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    image_shape_px: tuple[int, int] | None = None
    saturated: np.ndarray | None = None
    masked: np.ndarray | None = None
    recovered: np.ndarray | None = None
    uncertain: np.ndarray | None = None
    novel: np.ndarray | None = None
    novelty: np.ndarray | None = None
    label_probs: np.ndarray | None = None
    prob_labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self.positions_A = np.asarray(self.positions_A, dtype=float).reshape(-1, 2)
        n = len(self.positions_A)
        self.element = _str_array(self.element, n)
        self.label = _str_array(self.label, n)
        self.prob = np.full(n, np.nan) if self.prob is None else np.asarray(self.prob, dtype=float)
        self.score = np.ones(n) if self.score is None else np.asarray(self.score, dtype=float)
        self.intensity = np.full(n, np.nan) if self.intensity is None else np.asarray(self.intensity, float)
        self.vacancy = (self.element == VACANCY_ELEMENT) if self.vacancy is None else np.asarray(self.vacancy, bool)
        self.ids = np.arange(n) if self.ids is None else np.asarray(self.ids, dtype=int)
        if self.pixel_size_A is not None:
            self.pixel_size_A = float(self.pixel_size_A)
        if self.image_shape_px is not None:
            self.image_shape_px = (int(self.image_shape_px[0]), int(self.image_shape_px[1]))
        for name, kind in NODE_FLAGS.items():
            value = getattr(self, name)
            if value is None and name in self.extra:
                value = self.extra.pop(name)
            if value is not None:
                setattr(self, name, np.asarray(value).astype(kind).reshape(-1))
        if self.label_probs is None and any(str(k).startswith("prob_") for k in self.extra):
            keys = [k for k in self.extra if str(k).startswith("prob_")]
            self.label_probs = np.column_stack([np.asarray(self.extra.pop(k), float) for k in keys])
            self.prob_labels = tuple(k[len("prob_"):] for k in keys)
        if self.label_probs is not None:
            self.label_probs = np.asarray(self.label_probs, float).reshape(n, -1)
            self.prob_labels = tuple(str(x) for x in self.prob_labels)
            width = self.label_probs.shape[1]
            if len(self.prob_labels) != width:
                raise ValueError(f"AtomTable.label_probs: {width} columns, {self.prob_labels} labels")
        for name in ("element", "label", "prob", "score", "intensity", "vacancy", "ids", *self.set_flags()):
            if len(getattr(self, name)) != n:
                raise ValueError(f"AtomTable.{name} has {len(getattr(self, name))} rows, positions have {n}")

    def set_flags(self) -> list[str]:
        """The names of the :data:`NODE_FLAGS` some stage has set on this table.

        Returns
        -------
        list of str
            In :data:`NODE_FLAGS` order.
        """
        return [name for name in NODE_FLAGS if getattr(self, name) is not None]

    def extended_records(self, m: int) -> dict[str, np.ndarray]:
        """The set :data:`NODE_FLAGS` with ``m`` rows appended (False; NaN for ``novelty``), for a table that grows.

        Parameters
        ----------
        m : int
            Rows to append.

        Returns
        -------
        dict
            Name -> (N + m,) array; with ``label_probs`` (NaN rows appended) and ``prob_labels`` when set.
        """
        out = {name: np.r_[getattr(self, name), _unset(name, m)] for name in self.set_flags()}
        if self.label_probs is not None:
            out["label_probs"] = np.vstack([self.label_probs, np.full((m, self.label_probs.shape[1]), np.nan)])
            out["prob_labels"] = self.prob_labels
        return out

    def extra_columns(self) -> dict[str, np.ndarray]:
        """The per-atom columns beyond the fixed ones, as the table writers write them (name -> array).

        Returns
        -------
        dict
            ``extra``, then the records some stage has set, then ``prob_<label>`` per column of ``label_probs``.
        """
        out = {**self.extra, **{name: getattr(self, name) for name in self.set_flags()}}
        if self.label_probs is not None:
            out.update({f"prob_{label}": self.label_probs[:, k] for k, label in enumerate(self.prob_labels)})
        return out

    def __len__(self) -> int:
        return len(self.positions_A)

    @classmethod
    def from_pixels(cls, positions_px: np.ndarray, pixel_size_A: float, element, **kwargs) -> "AtomTable":
        """Build from pixel positions (N, 2) as (x_px, y_px) and the pixel size (Å/px).

        Parameters
        ----------
        positions_px : array_like
            (N, 2) positions as x_px, y_px (px).
        pixel_size_A : float
            Å per pixel.
        element : sequence of str
            (N,) element of each row ('' for a vacancy site).
        **kwargs
            Further :class:`AtomTable` fields (``label``, ``prob``, ``score``, ``intensity``, ``vacancy``, ``extra``,
            ...).

        Returns
        -------
        AtomTable
            The table, positions in Å.

        Examples
        --------
        >>> table = AtomTable.from_pixels([[10.0, 20.0], [12.5, 20.0]], 0.1, ["C", "Si"])
        >>> len(table), table.positions_A.tolist(), table.positions_px.tolist()
        (2, [[1.0, 2.0], [1.25, 2.0]], [[10.0, 20.0], [12.5, 20.0]])
        """
        positions_px = np.asarray(positions_px, dtype=float).reshape(-1, 2)
        return cls(positions_A=positions_px * float(pixel_size_A), element=element, pixel_size_A=pixel_size_A,
                   **kwargs)

    @property
    def positions_px(self) -> np.ndarray:
        """(N, 2) x_px, y_px; NaN when the pixel size is unknown."""
        if self.pixel_size_A is None:
            return np.full_like(self.positions_A, np.nan)
        return self.positions_A / self.pixel_size_A

    def subset(self, index) -> "AtomTable":
        """Rows selected by a boolean mask or an index array (ids are kept).

        Parameters
        ----------
        index : array_like of bool or int
            (N,) mask, or the indices of the rows to keep.

        Returns
        -------
        AtomTable
            A new table with those rows, ``extra`` columns included.
        """
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("positions_A", "element", "label", "prob", "score", "intensity", "vacancy", "ids",
                     *self.set_flags(), *(["label_probs"] if self.label_probs is not None else [])):
            kwargs[name] = kwargs[name][index]
        kwargs["extra"] = {k: np.asarray(v)[index] for k, v in self.extra.items()}
        return AtomTable(**kwargs)

    def copy(self) -> "AtomTable":
        """A copy of every row (the arrays copied, ids kept).

        Returns
        -------
        AtomTable
            The copy.
        """
        return self.subset(np.arange(len(self)))

    def with_labels(self, label, prob) -> "AtomTable":
        """A copy with new labels and probabilities.

        Parameters
        ----------
        label : sequence of str
            (N,) the new labels.
        prob : array_like of float
            (N,) their probabilities.

        Returns
        -------
        AtomTable
            The copy.
        """
        out = self.copy()
        out.label = _str_array(label, len(self))
        out.prob = np.asarray(prob, dtype=float)
        return out

    @staticmethod
    def concat(tables: list["AtomTable"]) -> "AtomTable":
        """Stack tables with the same pixel size; ids are renumbered 0..N-1.

        Parameters
        ----------
        tables : list of AtomTable
            The tables, in order; the first one's pixel size (Å/px) and image shape (px) are kept, and only the
            ``extra`` columns every table has.

        Returns
        -------
        AtomTable
            All rows (an empty table when ``tables`` is empty).
        """
        if not tables:
            return AtomTable(np.empty((0, 2)), [])
        first = tables[0]
        kwargs = {}
        for name in ("positions_A", "element", "label", "prob", "score", "intensity", "vacancy"):
            kwargs[name] = np.concatenate([getattr(t, name) for t in tables])
        keys = set.intersection(*(set(t.extra) for t in tables))
        kwargs["extra"] = {k: np.concatenate([np.asarray(t.extra[k]) for t in tables]) for k in keys}
        for name in NODE_FLAGS:  # set on any table: the others' rows get False (NaN novelty)
            if any(getattr(t, name) is not None for t in tables):
                kwargs[name] = np.concatenate([_unset(name, len(t)) if getattr(t, name) is None else getattr(t, name)
                                               for t in tables])
        labels = {t.prob_labels for t in tables if t.label_probs is not None}
        if len(labels) == 1:  # one vocabulary: the others' rows get NaN probabilities
            width = len(next(iter(labels)))
            kwargs["label_probs"] = np.concatenate([np.full((len(t), width), np.nan) if t.label_probs is None
                                                    else t.label_probs for t in tables])
            kwargs["prob_labels"] = next(iter(labels))
        return AtomTable(pixel_size_A=first.pixel_size_A, image_shape_px=first.image_shape_px, **kwargs)

    def to_ase(self):
        """The table as ``ase.Atoms``.

        Returns
        -------
        ase.Atoms
            The real atoms and vacancy sites (vacancies as ``X``, z = 0; positions in Å) with per-atom arrays ``label``,
            ``prob``, ``score``, ``intensity``, ``vacancy``, ``atom_id``, and ``info['pixel_size_A']`` when known.
        """
        from ase import Atoms

        symbols = [e if e else "X" for e in self.element]
        positions = np.column_stack([self.positions_A, np.zeros(len(self))])
        atoms = Atoms(symbols=symbols, positions=positions, pbc=False)
        # extxyz splits columns on whitespace, so an empty label is written as "-" (read back as "")
        atoms.set_array("label", np.array([str(x) or NO_LABEL for x in self.label], dtype="U16"))
        atoms.set_array("prob", self.prob.astype(float))
        atoms.set_array("score", self.score.astype(float))
        atoms.set_array("intensity", self.intensity.astype(float))
        atoms.set_array("vacancy", self.vacancy.astype(bool))
        atoms.set_array("atom_id", self.ids.astype(int))
        if self.pixel_size_A is not None:
            atoms.info["pixel_size_A"] = self.pixel_size_A
        return atoms

    @classmethod
    def from_ase(cls, atoms, pixel_size_A: float | None = None) -> "AtomTable":
        """From ``ase.Atoms``: positions projected along z (Å); ``X`` atoms become vacancy sites.

        Parameters
        ----------
        atoms : ase.Atoms
            The atoms, with the per-atom arrays :meth:`to_ase` writes when they have them.
        pixel_size_A : float, optional
            Å per pixel; None: ``atoms.info['pixel_size_A']`` when it is there.

        Returns
        -------
        AtomTable
            The table.
        """
        symbols = atoms.get_chemical_symbols()
        element = ["" if s == "X" else s for s in symbols]
        arrays = atoms.arrays
        kwargs = {}
        if "label" in arrays:
            kwargs["label"] = ["" if str(x) == NO_LABEL else str(x) for x in arrays["label"]]
        for name in ("prob", "score", "intensity"):
            if name in arrays:
                kwargs[name] = arrays[name]
        if "vacancy" in arrays:
            kwargs["vacancy"] = arrays["vacancy"]
        if pixel_size_A is None:
            pixel_size_A = atoms.info.get("pixel_size_A")
        return cls(positions_A=atoms.positions[:, :2], element=element, pixel_size_A=pixel_size_A, **kwargs)


def project_to_columns(atoms, pixel_size_A: float | None = None, tolerance_A: float = 0.3,
                       z_exponent: float = 1.7) -> AtomTable:
    """Project 3D ``ase.Atoms`` along z into columns, as a STEM image sees them.

    Atoms within ``tolerance_A`` (Å) of each other in x, y form one column: its position is their mean, its element
    the heaviest one's, its ``intensity`` the HAADF-like sum of ``Z ** z_exponent`` over the column, and
    ``extra['n_atoms']`` the number of atoms in it (a column of two Se reads as brighter than one). ``X`` atoms are
    vacancy sites. Per-atom ``label`` arrays are kept (first atom of each column).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    xy = np.asarray(atoms.positions, dtype=float)[:, :2]
    numbers = np.asarray(atoms.numbers)
    n = len(xy)
    if n == 0:
        return AtomTable(np.empty((0, 2)), [], pixel_size_A=pixel_size_A)
    pairs = cKDTree(xy).query_pairs(tolerance_A, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    ncol, col = connected_components(graph, directed=False)
    counts = np.bincount(col, minlength=ncol)
    pos = np.column_stack([np.bincount(col, xy[:, 0], ncol), np.bincount(col, xy[:, 1], ncol)]) / counts[:, None]
    weight = numbers.astype(float) ** z_exponent
    intensity = np.bincount(col, weight, ncol)
    order = np.lexsort((-numbers, col))  # per column, heaviest atom first
    first = order[np.searchsorted(col[order], np.arange(ncol))]
    symbols = np.array(atoms.get_chemical_symbols(), dtype=object)
    element = np.where(numbers[first] > 0, symbols[first], "")
    n_atoms = np.bincount(col, (numbers > 0).astype(float), ncol)
    label = atoms.arrays["label"][first] if "label" in atoms.arrays else None
    if pixel_size_A is None:
        pixel_size_A = atoms.info.get("pixel_size_A")
    return AtomTable(positions_A=pos, element=element, pixel_size_A=pixel_size_A, label=label,
                     intensity=intensity, extra={"n_atoms": n_atoms})
