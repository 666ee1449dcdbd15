"""Benchmark: atoms -> graph (edges, vacancy nodes, node and edge features) at 1k / 10k / 100k / 1M atoms.

A graphene honeycomb (a = 2.46 Å) with 0.05 Å Gaussian position noise and 0.5% of the sites removed at random (so
vacancy inference has work to do) is built once per size; ``build_graph`` is timed ``--repeats`` times and the
median reported (wall clock, seconds), with the node/edge/vacancy counts, and the lattice stage alone (fit +
lattice features of every node: :func:`atomgraph.graph.fit_material_lattice` and ``describe``).

    python benchmarks/bench_graph.py [--sizes 1000 10000 100000 1000000] [--repeats 5] [--material graphene-si]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np

from atomgraph.atoms import AtomTable
from atomgraph.graph import build_graph, fit_material_lattice
from atomgraph.materials import get_material

log = logging.getLogger("bench_graph")


def lattice(n_atoms: int, material: str, seed: int = 0) -> AtomTable:
    """About ``n_atoms`` honeycomb columns (graphene, or Mo/Se for TMDs) with noise and 0.5% random vacancies."""
    a, elements = (3.29, ("Mo", "Se")) if material != "graphene-si" else (2.46, ("C", "C"))
    side = int(np.ceil(np.sqrt(n_atoms / 2.0)))
    i, j = np.meshgrid(np.arange(side), np.arange(side))
    cell = np.column_stack([i.ravel() * a + j.ravel() * a / 2, j.ravel() * a * np.sqrt(3) / 2])
    xy = np.concatenate([cell, cell + [a / 2, a / (2 * np.sqrt(3))]])
    element = np.array([elements[0]] * len(cell) + [elements[1]] * len(cell), dtype=object)
    rng = np.random.default_rng(seed)
    xy = xy + rng.normal(0.0, 0.05, xy.shape)
    keep = rng.random(len(xy)) > 0.005
    return AtomTable(xy[keep], element[keep], pixel_size_A=0.1, intensity=rng.normal(1.0, 0.05, len(xy))[keep])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000, 1000000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--material", default="graphene-si")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("| atoms | nodes | edges | vacancy nodes | build_graph median s | min s | lattice stage median s |")
    log.info("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    mat = get_material(args.material)
    for n in args.sizes:
        table = lattice(n, args.material)
        build_graph(table, args.material)  # warm-up (imports, config)
        times, lattice_times = [], []
        repeats = args.repeats if n < 1_000_000 else max(1, min(args.repeats, 3))
        for _ in range(repeats):
            t0 = time.perf_counter()
            g = build_graph(table, args.material)
            t1 = time.perf_counter()
            fit_material_lattice(table, mat).describe(table.positions_A, ~table.vacancy)
            times.append(t1 - t0)
            lattice_times.append(time.perf_counter() - t1)
        log.info("| %d | %d | %d | %d | %.3f | %.3f | %.3f |", len(table), g.num_nodes, g.num_edges,
                 g.flags["n_vacancies_added"], float(np.median(times)), float(np.min(times)),
                 float(np.median(lattice_times)))


if __name__ == "__main__":
    main()
