"""The graph stage: atoms -> lattice model -> neighbor graph with vacancy nodes and invariant features.

- :mod:`~atomgraph.graph.build`: :func:`build_graph`, the stage's entry point.
- :mod:`~atomgraph.graph.checks`: positions refused at the door (NaN, not in Å).
- :mod:`~atomgraph.graph.lattice`: the lattice model (expected sites, local strain, vacancies, lattice features).
- :mod:`~atomgraph.graph.features`: node and edge features as small pure functions.
- :mod:`~atomgraph.graph.cutoffs`: neighbor cutoffs per element pair.
- :mod:`~atomgraph.graph.container`: :class:`AtomGraph` and its networkx / torch_geometric conversions.
"""

from .build import build_graph, element_roles, fit_material_lattice
from .checks import check_coordinates, check_positions
from .container import GRAPH_VERSION, AtomGraph, pyg_dict
from .cutoffs import cutoff_matrix, estimate_cutoff
from .lattice import LatticeModel, Region, fit_lattice

__all__ = ["build_graph", "AtomGraph", "pyg_dict", "GRAPH_VERSION", "LatticeModel", "Region", "fit_lattice",
           "fit_material_lattice", "element_roles", "estimate_cutoff", "cutoff_matrix", "check_coordinates",
           "check_positions"]
