"""The classifier's forward pass as ``classify`` runs it (NumPy, :func:`atomgraph.classify.novelty.node_descriptors`:
logits and novelty descriptors) against the torch_geometric model it was trained as (same weights, same outputs),
on one thread, rounds interleaved so that load on the machine hits both alike.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_inference.py [--model graphene-si] [--nodes 4000 100000] [--rounds 9]

Graphs: the model's graph of a simulated frame (truth columns, ~4,000 nodes for graphene-si at 1040² and 0.1 Å/px),
copied side by side (disjoint copies) up to each requested node count: the forward's cost is that of a real graph of
that size. Prints per size: nodes, edges, median and best ms of each, and the ratio of the medians (NumPy / torch).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def tiled(x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, nodes: int):
    """(x, edge_index, edge_attr) of disjoint copies of one graph, cut to ``nodes`` nodes (edges of cut nodes go)."""
    copies = -(-nodes // len(x))
    big_x = np.concatenate([x] * copies)[:nodes]
    big_index = np.concatenate([edge_index + k * len(x) for k in range(copies)], axis=1)
    keep = (big_index < nodes).all(axis=0)
    return big_x, np.ascontiguousarray(big_index[:, keep]), np.concatenate([edge_attr] * copies)[keep]


def torch_descriptors(net, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray, context: list[int]):
    """What :func:`node_descriptors` computes, with the PyG model in torch (logits, descriptors) as NumPy."""
    import torch

    with torch.inference_mode():
        xt, ei = torch.from_numpy(x), torch.from_numpy(edge_index)
        h = net.embed_nodes(xt, ei, torch.from_numpy(edge_attr))
        raw = (xt - net.input_mean) / net.input_std
        own = raw[:, context]
        around = torch.zeros_like(own).index_add_(0, ei[1], own[ei[0]])
        degree = torch.zeros(len(raw)).index_add_(0, ei[1], torch.ones(ei.shape[1])).clamp(min=1.0)
        return net.head(h).numpy(), torch.cat([h, raw, around / degree[:, None]], dim=1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="graphene-si")
    parser.add_argument("--nodes", type=int, nargs="+", default=[4000, 100000])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    import torch

    from atomgraph import simulate
    from atomgraph.classify import _as_graph, load_classifier
    from atomgraph.classify.encode import encode
    from atomgraph.classify.model import read_classifier
    from atomgraph.classify.novelty import context_features, node_descriptors
    from atomgraph.threads import inference_threads

    clf = load_classifier(args.model)
    reference, _ = read_classifier(clf.path)
    context = context_features(clf.meta)
    sim = simulate(clf.material, size=1040, pixel_size_A=0.1, seed=0)
    graph = _as_graph(sim.truth.subset(sim.truth.element != ""), clf.material, clf.material)
    inputs = encode(graph, clf.meta)
    print(f"torch {torch.__version__}, numpy {np.__version__}, one thread, model {args.model}\n")
    print("| nodes | edges | NumPy median ms | best | torch (PyG) median ms | best | NumPy / torch |")
    print("|---|---|---|---|---|---|---|")
    with inference_threads(1):
        for nodes in args.nodes:
            x, edge_index, edge_attr = tiled(*inputs, nodes)
            runs = {"numpy": lambda: node_descriptors(clf.net, x, edge_index, edge_attr, context),
                    "torch": lambda: torch_descriptors(reference, x, edge_index, edge_attr, context)}
            times = {name: [] for name in runs}
            got, want = runs["numpy"](), runs["torch"]()  # warm-up, and the same outputs
            assert np.abs(got[0] - want[0]).max() <= 1e-5 * max(1.0, np.abs(want[0]).max())
            for _ in range(args.rounds):
                for name, run in runs.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(1e3 * (time.perf_counter() - start))
            med = {name: statistics.median(t) for name, t in times.items()}
            print(f"| {len(x):,} | {edge_index.shape[1]:,} | {med['numpy']:.1f} | {min(times['numpy']):.1f} | "
                  f"{med['torch']:.1f} | {min(times['torch']):.1f} | {med['numpy'] / med['torch']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
