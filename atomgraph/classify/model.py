"""The node classifier: a small GINE-style message-passing network on edge-length features.

Messages are ``relu(h_j + W e_ij)`` with ``e_ij`` a radial basis of the bond length only, summed over neighbors
(sum aggregation keeps coordination counts visible), so the network is invariant to rotation, mirror and
translation by construction. Each layer is ``torch_geometric.nn.GINEConv`` plus a residual connection.

Weights are stored as safetensors with the architecture in the file's metadata (:func:`save_model`,
:func:`read_classifier`); loading never unpickles. This module is what trains (and the reference); classifying reads
the same files into :class:`atomgraph.classify.inference.NumpyNodeClassifier`, the same forward pass in NumPy, so
that inference imports neither torch nor torch_geometric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..models.files import read_model, write_model
from .inference import checked_architecture, upgrade_keys


class EdgeConv(nn.Module):
    """One GINE update with a residual: ``h_i + MLP((1 + eps) h_i + sum_j relu(h_j + W e_ij))``.

    The message passing is :class:`torch_geometric.nn.GINEConv` (sum aggregation, trainable ``eps``, a linear map
    of the edge features); this module adds the residual connection.

    Args:
        hidden: node feature width.
        edge_dim: edge input width (radial basis size).
    """

    def __init__(self, hidden: int, edge_dim: int) -> None:
        super().__init__()
        from torch_geometric.nn import GINEConv

        mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.conv = GINEConv(mlp, train_eps=True, edge_dim=edge_dim)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return h + self.conv(h, edge_index, edge_attr)


class NodeClassifier(nn.Module):
    """Per-node logits over the label vocabulary plus one background class (last).

    Args:
        n_inputs: node input width (see :func:`atomgraph.classify.encode.node_inputs`).
        n_classes: number of outputs (labels + background).
        edge_dim: radial basis size.
        hidden: node feature width.
        layers: number of message-passing layers.
    """

    def __init__(self, n_inputs: int, n_classes: int, edge_dim: int, hidden: int = 32, layers: int = 4) -> None:
        super().__init__()
        self.config = {"n_inputs": n_inputs, "n_classes": n_classes, "edge_dim": edge_dim, "hidden": hidden,
                       "layers": layers}
        self.register_buffer("input_mean", torch.zeros(n_inputs))
        self.register_buffer("input_std", torch.ones(n_inputs))
        self.embed = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.convs = nn.ModuleList(EdgeConv(hidden, edge_dim) for _ in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, n_classes))

    def set_input_scale(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Standardize inputs as ``(x - mean) / std`` (stored with the weights)."""
        self.input_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.input_std.copy_(torch.as_tensor(np.maximum(std, 1e-3), dtype=torch.float32))

    def embed_nodes(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """(N, hidden) node embeddings after the last message-passing layer (what the head reads); rotation-,
        mirror- and translation-invariant like the logits. The novelty score (:mod:`atomgraph.classify.novelty`)
        measures distances in this space."""
        h = self.embed((x - self.input_mean) / self.input_std)
        for conv in self.convs:
            h = conv(h, edge_index, edge_attr)
        return h

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed_nodes(x, edge_index, edge_attr))


def save_model(model: NodeClassifier, path: str | Path, meta: dict, card: dict | None = None,
               force: bool = False) -> dict:
    """Write weights with ``{'architecture': ..., 'meta': ...}`` in the header, and ``card`` beside them
    (:func:`atomgraph.models.files.write_model`); returns the card with its sha256."""
    return write_model(path, model.state_dict(), {"architecture": model.config, "meta": meta}, card or {}, force)


def read_classifier(path: str | Path) -> tuple[NodeClassifier, dict]:
    """Model (eval mode) and its metadata from a weights file written by :func:`save_model`, after the header's
    sizes are checked (:func:`~atomgraph.classify.inference.checked_architecture`; older key names are upgraded)."""
    state, header = read_model(path)
    model = NodeClassifier(**checked_architecture(header))
    state = upgrade_keys(state)
    for name in ("input_mean", "input_std"):  # weights written before input standardization existed
        state.setdefault(name, getattr(model, name))
    model.load_state_dict(state)
    model.eval()
    return model, header["meta"]
