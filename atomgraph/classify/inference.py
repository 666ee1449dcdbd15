"""The node classifier's forward pass in NumPy, for inference: no torch import.

:class:`~atomgraph.classify.model.NodeClassifier` trains with ``torch_geometric.nn.GINEConv``; importing torch
alone costs more than a small ``classify`` call's whole work. :class:`NumpyNodeClassifier` computes the same logits
and embeddings from the same safetensors state dict (same parameter names, read with ``safetensors``' NumPy
loader): sum aggregation at the target node ``edge_index[1]`` of messages from the source ``edge_index[0]`` (GINEConv's
default ``source_to_target`` flow), done as a sparse (targets x edges) matrix product per run of :data:`EDGE_BLOCK`
edges (:class:`EdgeBlocks`). ``tests/test_inference.py`` checks the two against each other on every bundled model:
in float64 to 1e-9, in float32 (as classify runs) within 1e-5 of the outputs' magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from ..models.files import read_model

EDGE_BLOCK = 131072  # edges whose messages are formed at once: a 10⁶-node graph's 3·10⁶ edges would hold three
                     # (E, hidden) float arrays (about 0.8 GB each) per layer

#: architecture keys of a classifier weights header and their largest accepted values
ARCHITECTURE_LIMITS = {"n_inputs": 10_000, "n_classes": 1_000, "edge_dim": 1_000, "hidden": 4_096, "layers": 64}

#: parameter names of weights saved before the layer was torch_geometric's GINEConv -> current names
_LEGACY_KEYS = {"edge.weight": "conv.lin.weight", "edge.bias": "conv.lin.bias", "eps": "conv.eps",
                "mlp.0.weight": "conv.nn.0.weight", "mlp.0.bias": "conv.nn.0.bias",
                "mlp.2.weight": "conv.nn.2.weight", "mlp.2.bias": "conv.nn.2.bias"}


def upgrade_keys(state: dict) -> dict:
    """Rename per-layer parameters of older weight files (``convs.K.edge.weight`` -> ``convs.K.conv.lin.weight``)."""
    out = {}
    for key, value in state.items():
        parts = key.split(".", 2)
        if len(parts) == 3 and parts[0] == "convs" and parts[2] in _LEGACY_KEYS:
            key = f"convs.{parts[1]}.{_LEGACY_KEYS[parts[2]]}"
        out[key] = value
    return out


def checked_architecture(header: dict) -> dict:
    """The ``architecture`` of a classifier weights header as NodeClassifier's arguments (``n_inputs``,
    ``n_classes``, ``edge_dim``, ``hidden``, ``layers``; the last two default to 32 and 4 as there), each checked
    against :data:`ARCHITECTURE_LIMITS`; ``ValueError`` for a header that is not a classifier's or holds sizes out
    of range."""
    if "architecture" not in header or "meta" not in header:
        raise ValueError("not a classifier weights file (no architecture metadata)")
    arch = header["architecture"]
    if not isinstance(arch, dict):
        raise ValueError(f"architecture {arch!r} is not a mapping")
    arch = {"hidden": 32, "layers": 4, **arch}
    for key, most in ARCHITECTURE_LIMITS.items():
        value = arch.get(key)
        if not isinstance(value, int) or not 1 <= value <= most:
            raise ValueError(f"architecture {key} {value!r} out of range (1..{most})")
    return {key: arch[key] for key in ARCHITECTURE_LIMITS}


@dataclass(frozen=True)
class Linear:
    """``x @ weight.T + bias`` (torch's ``nn.Linear``): ``weight`` (out, in), ``bias`` (out,)."""

    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = x @ self.weight.T
        out += self.bias
        return out


def _relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` in place (``x`` is a fresh intermediate), as ``x * (x > 0)``: twice as fast as ``np.maximum``
    here (negative entries become -0.0, which sums and products treat as 0)."""
    return np.multiply(x, x > 0, out=x)


@dataclass(frozen=True)
class EdgeBlocks:
    """A graph's edges cut into runs of at most :data:`EDGE_BLOCK` consecutive edges, each with the nodes its edges
    point to (``targets``, sorted, unique) and the sparse (targets x edges of the run) matrix of ones that sums the
    run's messages per target. Built once per graph and shared by every layer; ``source`` and ``edge_attr`` are the
    caller's arrays (views, not copies: a 10⁶-node graph's edge features are hundreds of MB).
    """

    source: np.ndarray
    edge_attr: np.ndarray
    blocks: list[tuple[int, int, np.ndarray, csr_matrix]]

    @classmethod
    def of(cls, edge_index: np.ndarray, edge_attr: np.ndarray, block: int = EDGE_BLOCK,
           dtype: type = np.float32) -> EdgeBlocks:
        """The runs of a graph's edges; ``edge_index`` (2, E) int (source, target), ``edge_attr`` (E, edge_dim),
        read as ``dtype``."""
        edge_index = np.asarray(edge_index)
        num_nodes = int(edge_index.max()) + 1 if edge_index.size else 0
        blocks = []
        for lo in range(0, edge_index.shape[1], block):
            hi = min(lo + block, edge_index.shape[1])
            target = edge_index[1, lo:hi]
            count = np.bincount(target, minlength=num_nodes)
            targets = np.flatnonzero(count)
            pointer = np.concatenate([[0], np.cumsum(count[targets])])  # row k: edges of targets[k], in edge order
            summing = csr_matrix((np.ones(hi - lo, dtype), np.argsort(target, kind="stable"), pointer),
                                 shape=(len(targets), hi - lo))
            blocks.append((lo, hi, targets, summing))
        return cls(edge_index[0], np.asarray(edge_attr, dtype), blocks)

    def neighbor_mean(self, values: np.ndarray) -> np.ndarray:
        """(N, F) mean over each node's incoming edges ``j -> i`` of ``values[j]`` ((N, F); 0 for a node without
        edges)."""
        total = np.zeros_like(values)
        degree = np.zeros(len(values), values.dtype)
        for lo, hi, targets, summing in self.blocks:
            total[targets] += summing @ np.take(values, self.source[lo:hi], axis=0)
            degree[targets] += np.diff(summing.indptr)
        return total / np.maximum(degree, 1.0)[:, None]


@dataclass(frozen=True)
class GINELayer:
    """``h + MLP((1 + eps) h_i + sum_{j -> i} relu(h_j + lin(e_ji)))``: GINEConv (``nn`` = Linear, ReLU, Linear;
    ``lin``; ``eps``) with the residual of :class:`~atomgraph.classify.model.EdgeConv`."""

    lin: Linear
    mlp_in: Linear
    mlp_out: Linear
    eps: float

    def __call__(self, h: np.ndarray, edges: EdgeBlocks) -> np.ndarray:
        summed = None
        shifted = h + self.lin.bias  # lin's bias added per node, not per edge
        for lo, hi, targets, summing in edges.blocks:  # (block, hidden) messages at a time, not (E, hidden)
            message = edges.edge_attr[lo:hi] @ self.lin.weight.T
            message += np.take(shifted, edges.source[lo:hi], axis=0)
            part = summing @ _relu(message)
            if summed is None and len(targets) == len(h):  # one run reaching every node (small graphs)
                summed = part
                continue
            summed = np.zeros_like(h) if summed is None else summed
            summed[targets] += part
        summed = np.zeros_like(h) if summed is None else summed
        summed += (1.0 + self.eps) * h
        return h + self.mlp_out(_relu(self.mlp_in(summed)))


class NumpyNodeClassifier:
    """:class:`~atomgraph.classify.model.NodeClassifier`'s forward pass in NumPy: the same ``config``,
    ``input_mean`` / ``input_std``, :meth:`embed_nodes`, :meth:`head` and call.

    Args:
        config: the architecture (``n_inputs``, ``n_classes``, ``edge_dim``, ``hidden``, ``layers``).
        state: the state dict as NumPy arrays, under NodeClassifier's parameter names (``embed.0.weight``,
            ``convs.K.conv.lin.weight``, ..., ``head.1.bias``, ``input_mean``, ``input_std``).
        dtype: the precision of weights, inputs and every intermediate (float32 as the weights are stored;
            float64 for checks against the reference in double precision).
    """

    def __init__(self, config: dict, state: dict[str, np.ndarray], dtype: type = np.float32) -> None:
        self.config = dict(config)
        self.dtype = np.dtype(dtype)
        state = {k: np.ascontiguousarray(v, self.dtype) for k, v in state.items()}
        expected = _state_shapes(self.config)
        if set(state) != set(expected):
            missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
            raise ValueError(f"weights do not fit the architecture (missing {missing[:3]}, unexpected {extra[:3]})")
        for key, shape in expected.items():
            if state[key].shape != shape:
                raise ValueError(f"{key} has shape {state[key].shape}, the architecture needs {shape}")
        self.input_mean, self.input_std = state["input_mean"], state["input_std"]

        def linear(prefix: str) -> Linear:
            return Linear(state[f"{prefix}.weight"], state[f"{prefix}.bias"])

        self.embed = (linear("embed.0"), linear("embed.2"))
        self.layers = [GINELayer(linear(f"convs.{k}.conv.lin"), linear(f"convs.{k}.conv.nn.0"),
                                 linear(f"convs.{k}.conv.nn.2"), float(state[f"convs.{k}.conv.eps"][0]))
                       for k in range(self.config["layers"])]
        self.output = linear("head.1")

    def standardized(self, x: np.ndarray) -> np.ndarray:
        """(N, n_inputs) inputs as the network reads them: ``(x - input_mean) / input_std``."""
        return (np.asarray(x, self.dtype) - self.input_mean) / self.input_std

    def embed_nodes(self, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray,
                    edges: EdgeBlocks | None = None) -> np.ndarray:
        """(N, hidden) node embeddings after the last message-passing layer (what :meth:`head` reads); ``edges``:
        the graph's :class:`EdgeBlocks` when the caller already has them."""
        edges = edges or EdgeBlocks.of(edge_index, edge_attr, dtype=self.dtype)
        h = self.embed[1](_relu(self.embed[0](self.standardized(x))))
        for layer in self.layers:
            h = layer(h, edges)
        return h

    def head(self, h: np.ndarray) -> np.ndarray:
        """(N, n_classes) logits of (N, hidden) embeddings."""
        return self.output(np.maximum(h, 0.0))

    def __call__(self, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray) -> np.ndarray:
        """(N, n_classes) logits; ``x`` (N, n_inputs), ``edge_index`` (2, E) int, ``edge_attr`` (E, edge_dim)."""
        return self.head(self.embed_nodes(x, edge_index, edge_attr))


def _state_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of a NodeClassifier with this architecture."""
    n_in, hidden, edge_dim = config["n_inputs"], config["hidden"], config["edge_dim"]
    shapes = {"input_mean": (n_in,), "input_std": (n_in,), "embed.0.weight": (hidden, n_in),
              "embed.0.bias": (hidden,), "embed.2.weight": (hidden, hidden), "embed.2.bias": (hidden,),
              "head.1.weight": (config["n_classes"], hidden), "head.1.bias": (config["n_classes"],)}
    for k in range(config["layers"]):
        prefix = f"convs.{k}.conv"
        shapes.update({f"{prefix}.eps": (1,), f"{prefix}.lin.weight": (hidden, edge_dim),
                       f"{prefix}.lin.bias": (hidden,), f"{prefix}.nn.0.weight": (hidden, hidden),
                       f"{prefix}.nn.0.bias": (hidden,), f"{prefix}.nn.2.weight": (hidden, hidden),
                       f"{prefix}.nn.2.bias": (hidden,)})
    return shapes


def read_inference_classifier(path: str | Path) -> tuple[NumpyNodeClassifier, dict]:
    """Network (NumPy) and metadata of a weights file that :func:`~atomgraph.classify.model.read_classifier`
    reads: the same header and size checks, any input width, older key names, and weights written before input
    standardization existed (mean 0, std 1). ``OSError`` or ``ValueError`` for a file that is not one."""
    state, header = read_model(path, framework="numpy")
    arch = checked_architecture(header)
    state = upgrade_keys(state)
    state.setdefault("input_mean", np.zeros(arch["n_inputs"], np.float32))
    state.setdefault("input_std", np.ones(arch["n_inputs"], np.float32))
    return NumpyNodeClassifier(arch, state), header["meta"]
