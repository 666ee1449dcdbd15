"""The node classifier's forward pass in plain torch, for inference: no torch_geometric import.

:class:`~atomgraph.classify.model.NodeClassifier` trains with ``torch_geometric.nn.GINEConv``; importing
torch_geometric costs more than importing torch itself and writes a generated ``*_propagate_*.py`` template into the
temp directory on every run. :class:`PlainNodeClassifier` computes the same logits from the same state dict with
``index_add_`` (sum aggregation at the target node ``edge_index[1]`` of messages from the source ``edge_index[0]``,
as GINEConv's default ``source_to_target`` flow). ``tests/test_classify.py`` checks that the two agree to 1e-5 on
every bundled model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .model import NodeClassifier, read_classifier

EDGE_BLOCK = 131072  # edges whose messages are formed at once: a 10⁶-node graph's 3·10⁶ edges would hold three
                     # (E, hidden) float tensors (about 0.8 GB each) per layer


class _GINE(nn.Module):
    """``MLP((1 + eps) h_i + sum_{j -> i} relu(h_j + lin(e_ji)))`` with GINEConv's parameter names (``nn``, ``lin``,
    ``eps``), so a state dict of ``torch_geometric.nn.GINEConv(train_eps=True, edge_dim=...)`` loads as it is."""

    def __init__(self, hidden: int, edge_dim: int) -> None:
        super().__init__()
        self.nn = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.lin = nn.Linear(edge_dim, hidden)
        self.eps = nn.Parameter(torch.zeros(1))

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        summed = torch.zeros_like(h)
        for start in range(0, edge_index.shape[1], EDGE_BLOCK):  # (block, hidden) messages at a time, not (E, hidden)
            block = slice(start, start + EDGE_BLOCK)
            message = torch.relu(h.index_select(0, edge_index[0, block]) + self.lin(edge_attr[block]))
            summed.index_add_(0, edge_index[1, block], message)
        return self.nn(summed + (1.0 + self.eps) * h)


class _Residual(nn.Module):
    """``h + conv(h)``; the child is named ``conv`` as in :class:`~atomgraph.classify.model.EdgeConv`."""

    def __init__(self, hidden: int, edge_dim: int) -> None:
        super().__init__()
        self.conv = _GINE(hidden, edge_dim)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return h + self.conv(h, edge_index, edge_attr)


class PlainNodeClassifier(NodeClassifier):
    """:class:`~atomgraph.classify.model.NodeClassifier` for inference, in plain torch: the same parameters under
    the same names, the same ``config``, ``embed_nodes``, ``head`` and ``forward``; only the message-passing layer
    is :class:`_Residual` (no torch_geometric)."""

    conv_type = _Residual


def read_plain_classifier(path: str | Path) -> tuple[PlainNodeClassifier, dict]:
    """Model (eval mode, plain torch) and its metadata from a weights file that
    :func:`~atomgraph.classify.model.read_classifier` reads (the same header and size checks, any input width,
    older key names)."""
    return read_classifier(path, PlainNodeClassifier)
