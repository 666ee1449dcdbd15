"""Topology decides: labels of one element are told apart by the lattice sites the column takes, not by bond length.

In graphene ``Si3`` and ``Si4`` are both a Si column. What separates them is topology: a threefold Si takes one
lattice site and its three neighbor sites hold carbon; a fourfold Si sits at the center of a divacancy, takes both
sites of the missing pair, and the four sites around the pair hold carbon. The graph stage measures exactly that
for every node (``sites_taken``, ``taken_neighbors_occupied``, :data:`atomgraph.graph.lattice.FEATURE_NAMES`), and
each label declares how many sites it takes (its recipe's ``sites``, :attr:`atomgraph.materials.Material.label_sites`).

The GNN decides *which element-group* a node belongs to (C or Si, from brightness, species evidence and context);
:func:`apply_topology` then gives the group's whole probability to the label whose site count the node's topology
shows. A node whose topology fits no label of its group (its site held by a second detection), whose taken sites
are surrounded by more or fewer atoms than the label implies (a missed or extra column, a vacancy next to it), or
that sits between a site and a bond center (``bond_far_end_bonds`` in :data:`BETWEEN_BONDS`: located real Si1C3 and
Si1C4 both sit there) keeps the GNN's choice and is reported *ambiguous*, which :func:`atomgraph.classify.classify` turns into ``uncertain``.

A label that takes a pair of sites needs the four atoms around the pair (``pair_ring_empty`` 0): a node with fewer
(a Si bonded to three carbons beside an empty site, at a site, between or at a bond center) is read as taking one
site, and reported ambiguous. Whether a ring site is really empty or holds a column the locator missed, the graph
stage has already asked the image (:func:`atomgraph.graph.occupancy.dopant_ring_gaps`).
Groups whose labels all take the same number of sites (every TMD and hBN label) are left as they are.
"""

from __future__ import annotations

import numpy as np

TOPOLOGY_FEATURES = ("sites_taken", "taken_neighbors_occupied", "bond_far_end_bonds")
PAIR_RING_FEATURE = "pair_ring_empty"   # read when the graph has it (graphs built by older versions lack it)
BETWEEN_BONDS = (0.62, 0.82)  # a node this far (bonds) from the far end of its nearest bond sits between a site
#                               and a bond center: its site count is not settled (a Si3 0.25 Å off its site: > 0.82)


def expected_neighbors(sites: int) -> int:
    """Sites bonded to ``sites`` adjacent sites of a honeycomb-type lattice (one site: 3, a bonded pair: 4)."""
    return int(sites) + 2


def topology_groups(labels: list[str], label_sites: dict[str, int], label_elements: dict[str, str]
                    ) -> list[list[int]]:
    """Indices (into ``labels``) of the label groups the rule acts on: labels implying the same non-empty element
    whose site counts differ (graphene: ``[[Si3, Si4]]``); every label of a group has a known site count."""
    by_element: dict[str, list[int]] = {}
    for k, label in enumerate(labels):
        element = label_elements.get(label, "")
        if element and label in label_sites:
            by_element.setdefault(element, []).append(k)
    return [group for group in by_element.values()
            if len(group) > 1 and len({label_sites[labels[k]] for k in group}) > 1]


def apply_topology(probs: np.ndarray, labels: list[str], label_sites: dict[str, int],
                   label_elements: dict[str, str], taken: np.ndarray, neighbors: np.ndarray,
                   vacancy: np.ndarray, far_end: np.ndarray | None = None, columns_given: bool = False,
                   pair_empty: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Move each group's probability to the label the node's topology shows.

    Parameters
    ----------
    probs : (N, L + 1) probabilities over ``labels`` plus background (last).
    labels : the model's labels; ``label_sites`` label -> sites it takes; ``label_elements`` label -> element.
    taken : (N,) ``sites_taken`` of every node; ``neighbors`` (N,) ``taken_neighbors_occupied``.
    vacancy : (N,) True for vacancy nodes (left as they are).
    far_end : (N,) ``bond_far_end_bonds``; nodes within :data:`BETWEEN_BONDS` sit between a site and a bond center
        (their topology is not settled: the GNN's choice stands, flagged). None: every node's topology is read.
    columns_given : the columns are facts (a coordinate file with elements): a node whose topology settles its label
        takes the background probability too (a given atom is no false detection).
    pair_empty : (N,) ``pair_ring_empty``: a node with an empty site (inside the frame) among the four around its
        nearest bond's two sites is read as taking one site (ambiguous). None: not used.

    Returns
    -------
    probs : (N, L + 1) the adjusted probabilities (each row still sums to 1).
    ambiguous : (N,) bool, nodes whose best label lies in a group and whose topology does not settle it.
    """
    probs = np.array(probs, dtype=np.float64, copy=True)
    ambiguous = np.zeros(len(probs), bool)
    if len(probs) == 0:
        return probs.astype(np.float32), ambiguous
    taken = np.rint(np.asarray(taken, float)).astype(int)
    neighbors = np.rint(np.asarray(neighbors, float)).astype(int)
    real = ~np.asarray(vacancy, bool)
    between = np.zeros(len(probs), bool) if far_end is None else (
        (np.asarray(far_end, float) > BETWEEN_BONDS[0]) & (np.asarray(far_end, float) < BETWEEN_BONDS[1]))
    read = np.where(real & ~between, taken, -1)              # -1: not read, the GNN's choice stands
    demoted = np.zeros(len(probs), bool)
    if pair_empty is not None:  # fewer than four atoms around the pair: not at the center of a divacancy
        few = real & (np.rint(np.asarray(pair_empty, float)) > 0)
        demoted = few & ((read >= 2) | between)
        read = np.where(demoted, 1, read)
    for group in topology_groups(labels, label_sites, label_elements):
        mass = probs[:, group].sum(axis=1)
        settled = np.zeros(len(probs), bool)
        for k in group:
            sites = label_sites[labels[k]]
            fits = read == sites
            ring = fits & ~demoted & (neighbors == expected_neighbors(sites))
            if columns_given:  # the group's element is given (only its labels or background are allowed)
                take = ring & (mass > 0)
                mass = np.where(take, mass + probs[:, -1], mass)
                probs[take, -1] = 0.0
            probs[fits[:, None] & np.isin(np.arange(probs.shape[1]), group)[None, :]] = 0.0
            probs[fits, k] = mass[fits]
            settled |= ring
        ambiguous |= real & np.isin(np.argmax(probs, axis=1), group) & ~settled
    return probs.astype(np.float32), ambiguous
