"""The plain-torch inference path: the same logits as the torch_geometric model it was trained as, and a CLI that
classifies without importing torch_geometric or leaving files in the temp directory."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from atomgraph import simulate
from atomgraph.classify import _as_graph, load_classifier
from atomgraph.classify.encode import encode
from atomgraph.classify.inference import PlainNodeClassifier, read_plain_classifier
from atomgraph.classify.model import read_classifier
from atomgraph.weights import WEIGHTS_DIR

BUNDLED = sorted(p.stem.split("-", 1)[1] for p in WEIGHTS_DIR.glob("classifier-*.safetensors"))


@pytest.mark.parametrize("model", BUNDLED)
def test_plain_forward_gives_the_logits_of_the_pyg_model(model):
    pytest.importorskip("torch_geometric")
    path = WEIGHTS_DIR / f"classifier-{model}.safetensors"
    reference, meta = read_classifier(path)
    plain, plain_meta = read_plain_classifier(path)
    assert plain_meta == meta and plain.config == reference.config
    sim = simulate(meta["material"], size=128, pixel_size_A=0.1, seed=3)
    graph = _as_graph(sim.truth.subset(sim.truth.element != ""), meta["material"], meta["material"])
    x, edge_index, edge_attr = (torch.from_numpy(a) for a in encode(graph, meta))
    assert x.shape[1] == reference.config["n_inputs"] and edge_index.shape[1] > x.shape[0]
    with torch.inference_mode():
        want_h, got_h = reference.embed_nodes(x, edge_index, edge_attr), plain.embed_nodes(x, edge_index, edge_attr)
        want, got = reference(x, edge_index, edge_attr), plain(x, edge_index, edge_attr)
    assert torch.allclose(got_h, want_h, rtol=0, atol=1e-5)
    assert torch.allclose(got, want, rtol=0, atol=1e-5), float((got - want).abs().max())


def test_plain_forward_matches_on_any_input_width():
    """Retrained models may read another number of node features: the plain net follows the file's header."""
    pytest.importorskip("torch_geometric")
    from atomgraph.classify.model import NodeClassifier

    torch.manual_seed(0)
    reference = NodeClassifier(n_inputs=7, n_classes=3, edge_dim=5, hidden=16, layers=2).eval()
    for p in reference.parameters():  # GINEConv initializes eps to 0: make it matter
        torch.nn.init.normal_(p, std=0.3)
    plain = PlainNodeClassifier(**reference.config).eval()
    plain.load_state_dict(reference.state_dict())
    x, edge_attr = torch.randn(50, 7), torch.rand(400, 5)
    edge_index = torch.randint(0, 50, (2, 400))
    with torch.inference_mode():
        assert torch.allclose(plain(x, edge_index, edge_attr), reference(x, edge_index, edge_attr), atol=1e-5)


def test_a_loaded_classifier_is_the_plain_network():
    assert isinstance(load_classifier("graphene-si").net, PlainNodeClassifier)


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
