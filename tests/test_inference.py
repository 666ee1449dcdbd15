"""The NumPy inference path: the same logits and embeddings as the torch_geometric model it was trained as, the same
sums however the edges are blocked, and a CLI that classifies without torch or leaving files in the temp directory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from atomgraph import simulate
from atomgraph.classify import _as_graph, load_classifier
from atomgraph.classify.encode import encode
from atomgraph.classify.inference import EdgeBlocks, NumpyNodeClassifier, read_inference_classifier
from atomgraph.classify.novelty import context_features, node_descriptors
from atomgraph.models.paths import WEIGHTS_DIR

BUNDLED = sorted(p.stem.split("-", 1)[1] for p in WEIGHTS_DIR.glob("classifier-*.safetensors"))


def _reference(model):
    """(PyG reference network in eval mode, its metadata, the encoded inputs of a simulated frame as NumPy)."""
    pytest.importorskip("torch_geometric")
    from atomgraph.classify.model import read_classifier

    reference, meta = read_classifier(WEIGHTS_DIR / f"classifier-{model}.safetensors")
    sim = simulate(meta["material"], size=128, pixel_size_A=0.1, seed=3)
    graph = _as_graph(sim.truth.subset(sim.truth.element != ""), meta["material"], meta["material"])
    return reference, meta, encode(graph, meta)


def _torch_outputs(net, inputs, double: bool = False):
    """(embeddings, logits, neighbors' mean of the context inputs) of the PyG network, as NumPy."""
    import torch

    net = net.double() if double else net
    x, edge_index, edge_attr = (torch.from_numpy(a) for a in inputs)
    if double:
        x, edge_attr = x.double(), edge_attr.double()
    with torch.inference_mode():
        h = net.embed_nodes(x, edge_index, edge_attr)
        raw = (x - net.input_mean) / net.input_std
        degree = torch.zeros(len(x), dtype=x.dtype).index_add_(0, edge_index[1], torch.ones(edge_index.shape[1],
                                                                                             dtype=x.dtype))
        around = torch.zeros_like(raw).index_add_(0, edge_index[1], raw[edge_index[0]]) / degree.clamp(min=1)[:, None]
        return h.numpy(), net.head(h).numpy(), around.numpy()


@pytest.mark.parametrize("model", BUNDLED)
def test_numpy_forward_gives_the_logits_and_embeddings_of_the_pyg_model(model):
    reference, meta, inputs = _reference(model)
    net, net_meta = read_inference_classifier(WEIGHTS_DIR / f"classifier-{model}.safetensors")
    assert net_meta == meta and net.config == reference.config
    x, edge_index, _ = inputs
    assert x.shape[1] == net.config["n_inputs"] and edge_index.shape[1] > x.shape[0]
    # what classify runs (float32 as stored): within 1e-5 of the output's magnitude (which reaches 10^2: torch's own
    # float32 result differs from its float64 one by up to 3e-5 on these models, so an absolute 1e-5 would test rounding)
    want_h, want, want_around = _torch_outputs(reference, inputs)
    logits, descriptors = node_descriptors(net, *inputs, context_features(meta))
    hidden = net.config["hidden"]
    for got, ref in ((logits, want), (descriptors[:, :hidden], want_h)):
        assert got.dtype == np.float32
        assert np.abs(got - ref).max() <= 1e-5 * max(1.0, np.abs(ref).max()), float(np.abs(got - ref).max())
    assert np.abs(descriptors[:, hidden + x.shape[1]:] - want_around[:, context_features(meta)]).max() < 1e-5
    # the algorithm, in double precision (float32 rounding out of the way): equal to 1e-5 and far below
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    exact = NumpyNodeClassifier(net.config, state, dtype=np.float64)
    want_h, want, _ = _torch_outputs(reference, inputs, double=True)
    got_h = exact.embed_nodes(*inputs)
    assert np.abs(got_h - want_h).max() < 1e-9 and np.abs(exact.head(got_h) - want).max() < 1e-9

def test_numpy_forward_matches_on_any_input_width():
    """Retrained models may read another number of node features: the NumPy net follows the file's header."""
    pytest.importorskip("torch_geometric")
    import torch

    from atomgraph.classify.model import NodeClassifier

    torch.manual_seed(0)
    reference = NodeClassifier(n_inputs=7, n_classes=3, edge_dim=5, hidden=16, layers=2).eval()
    for p in reference.parameters():  # GINEConv initializes eps to 0: make it matter
        torch.nn.init.normal_(p, std=0.3)
    net = NumpyNodeClassifier(reference.config, {k: v.numpy() for k, v in reference.state_dict().items()})
    x, edge_attr = torch.randn(50, 7), torch.rand(400, 5)
    edge_index = torch.randint(0, 50, (2, 400))
    with torch.inference_mode():
        want = reference(x, edge_index, edge_attr).numpy()
    assert np.abs(net(x.numpy(), edge_index.numpy(), edge_attr.numpy()) - want).max() < 1e-5


def test_blocks_of_edges_sum_as_one_block():
    """EDGE_BLOCK bounds memory: cutting the edges into runs changes no sum (nodes without edges included)."""
    rng = np.random.default_rng(1)
    values = rng.standard_normal((300, 4))
    edge_index = rng.integers(0, 250, (2, 2000))  # nodes 250..299 have no edges
    one = EdgeBlocks.of(edge_index, np.ones((2000, 1)), dtype=np.float64)
    runs = EdgeBlocks.of(edge_index, np.ones((2000, 1)), block=37, dtype=np.float64)
    assert len(one.blocks) == 1 and len(runs.blocks) == 55
    want = np.zeros_like(values)
    np.add.at(want, edge_index[1], values[edge_index[0]])
    want /= np.maximum(np.bincount(edge_index[1], minlength=300), 1)[:, None]
    assert np.allclose(one.neighbor_mean(values), want, rtol=0, atol=1e-12)
    assert np.allclose(runs.neighbor_mean(values), want, rtol=0, atol=1e-12)
    assert (want[250:] == 0).all()


def test_weights_that_do_not_fit_their_architecture_are_refused():
    net = load_classifier("graphene-si").net
    state = {"input_mean": net.input_mean, "input_std": net.input_std}
    with pytest.raises(ValueError, match="do not fit"):
        NumpyNodeClassifier(net.config, state)


def test_a_loaded_classifier_is_the_numpy_network():
    net = load_classifier("graphene-si").net
    assert isinstance(net, NumpyNodeClassifier) and net.dtype == np.float32


def test_cli_classify_imports_no_torch_geometric_and_leaves_the_temp_dir_empty(tmp_path):
    sim = simulate("graphene-si", size=96, pixel_size_A=0.1, seed=0)
    real = sim.truth.subset(~sim.truth.vacancy)
    coords = tmp_path / "atoms.csv"
    np.savetxt(coords, real.positions_A, delimiter=",", header="x_A,y_A", comments="", fmt="%.4f")
    temp = tmp_path / "tmp"
    temp.mkdir()
    code = ("import sys; from atomgraph.cli import main; code = main(sys.argv[1:]); "
            "assert 'torch_geometric' not in sys.modules, 'torch_geometric imported'; sys.exit(code)")
    env = {**os.environ, "TMPDIR": str(temp), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", code, "classify", str(coords), "--model", "graphene-si",
                          "-o", str(tmp_path / "graph.csv")], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "graph.csv").is_file()
    assert list(temp.iterdir()) == []
