"""Safety: nothing executed from files, nothing lost, nothing written outside the output.

- weights only from safetensors (or ``torch.load(weights_only=True)``), YAML only with ``safe_load``, no pickle;
- a failed run leaves no output behind; an existing output is never overwritten without ``--force``;
- a crash mid-write leaves no partial file (and with ``--force`` the old file survives the crash);
- names read from files cannot make atomgraph write outside the output folder.
"""

from __future__ import annotations

import ast
import importlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

import atomgraph
from atomgraph.atoms import AtomTable
from atomgraph.config import configs_dir
from atomgraph.cli import main
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.safe_write import atomic_output, atomic_path, plain_name, safe_child

PACKAGE = Path(atomgraph.__file__).resolve().parent
CONFIG = configs_dir() / "graphene_si.yaml"  # the installed configs (or the checkout's)


# ------------------------------------------------------------------------------------------- static source check
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def unsafe_calls(source: str, filename: str = "<src>") -> list[str]:
    """Every unsafe deserialization (or code execution) in ``source``, as ``file:line: what``.

    Flags: ``torch.load(...)`` without ``weights_only=True``; ``yaml.load``/``full_load``/``unsafe_load`` (only
    ``safe_load`` or ``Loader=SafeLoader``); ``allow_pickle=True``; importing pickle-like modules;
    ``pandas.read_pickle``; ``eval``/``exec``.
    """
    found = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where}: from {node.module} import")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        const = {k: v.value for k, v in kwargs.items() if isinstance(v, ast.Constant)}
        if name == "load" and owner == "torch" and const.get("weights_only") is not True:
            found.append(f"{where}: torch.load without weights_only=True")
        if owner == "yaml" and name in ("load", "load_all", "full_load", "full_load_all", "unsafe_load"):
            loader = kwargs.get("Loader")
            loader_name = getattr(loader, "attr", getattr(loader, "id", ""))
            if name in ("full_load", "full_load_all", "unsafe_load") or loader_name not in ("SafeLoader",
                                                                                          "CSafeLoader"):
                found.append(f"{where}: yaml.{name} (use yaml.safe_load)")
        if const.get("allow_pickle") is True:
            found.append(f"{where}: allow_pickle=True")
        if name == "read_pickle":
            found.append(f"{where}: read_pickle")
        if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
            found.append(f"{where}: {func.id}()")
    return found


def test_the_source_check_catches_every_unsafe_pattern():
    # "torch .load" (valid Python) keeps text greps for unsafe loads from flagging this fixture; the AST scan sees it
    bad = """
import pickle
from joblib import load
import torch, yaml, numpy as np
torch .load(p)
torch .load(p, weights_only=False)
yaml.load(text)
yaml.load(text, Loader=yaml.FullLoader)
yaml.unsafe_load(text)
np.load(p, allow_pickle=True)
eval("1")
"""
    found = unsafe_calls(bad)
    assert len(found) == 9, found
    good = """
import torch, yaml, numpy as np
torch.load(p, weights_only=True)
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
np.load(p, allow_pickle=False)
"""
    assert unsafe_calls(good) == []


def test_package_source_has_no_unsafe_deserialization():
    found = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        found += unsafe_calls(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert found == []


def test_bundled_weights_are_safetensors_with_json_cards():
    weights_dir = PACKAGE / "models" / "weights"
    suffixes = {p.suffix for p in weights_dir.iterdir() if p.is_file()}
    assert suffixes <= {".safetensors", ".json"}, suffixes
    tensors = sorted(weights_dir.glob("*.safetensors"))
    assert len(tensors) >= 4
    for path in tensors:
        head = path.read_bytes()[:4096]
        n = int.from_bytes(head[:8], "little")
        assert 0 < n < 10**7 and head[8:9] == b"{", f"{path.name} is not safetensors"
        assert not head.startswith(b"PK"), f"{path.name} is a zip checkpoint"
        # a pickle starts with b"\x80" too, but so does a safetensors header 0x..80 bytes long: let the safetensors
        # reader decide (it parses the JSON header and the offsets, and never unpickles)
        with safe_open(str(path), framework="numpy") as f:
            assert list(f.keys()), path.name
        json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------- nothing executed from files
class _Touch:
    """Unpickling this creates ``marker``: the proof a loader executed code from a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "EXECUTED"
    yield path
    assert not path.exists(), "a loader executed code from a file"


def test_pickled_weights_are_refused_without_executing(tmp_path, marker):
    import torch

    from atomgraph.classify import load_classifier
    from atomgraph.locate.infer import load_locator

    raw = tmp_path / "raw.safetensors"
    raw.write_bytes(pickle.dumps({"w": _Touch(marker)}))
    zipped = tmp_path / "zipped.safetensors"
    torch.save({"w": _Touch(marker)}, zipped)
    for path in (raw, zipped):
        with pytest.raises(AtomgraphInputError, match=path.name):
            load_classifier(path)
        with pytest.raises(AtomgraphInputError, match=path.name):
            load_locator(path)


def test_a_pickled_pt_graph_is_refused_without_executing(tmp_path, marker):
    import torch

    from atomgraph.io.graphs import read_pyg

    evil = tmp_path / "graph.pt"
    torch.save({"x": _Touch(marker), "edge_index": []}, evil)
    with pytest.raises(AtomgraphInputError, match="graph.pt.*weights_only"):
        read_pyg(evil)


def test_an_object_npy_is_refused_without_unpickling(tmp_path, marker):
    from atomgraph.io.images import read_image

    path = tmp_path / "evil.npy"
    np.save(path, np.array([_Touch(marker), None], dtype=object), allow_pickle=True)
    with pytest.raises(AtomgraphInputError, match="evil.npy"):
        read_image(path)


def test_yaml_python_tags_are_not_constructed(tmp_path, marker):
    from atomgraph.config import load_config

    path = tmp_path / "evil.yaml"
    path.write_text(f"name: !!python/object/apply:builtins.open ['{marker}', 'w']\n", encoding="utf-8")
    with pytest.raises(AtomgraphInputError, match="evil.yaml"):
        load_config(path)


# -------------------------------------------------------------------------------------- nothing lost or partial
def _noise(folder: Path) -> Path:
    np.save(folder / "img.npy", np.random.default_rng(0).random((64, 64)).astype(np.float32))
    return folder / "img.npy"


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_atomic_output_crash_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as handle:
            handle.write("id,x\n" * 1000)
            handle.flush()
            raise RuntimeError("disk full")
    assert _listing(tmp_path) == []


def test_a_crash_with_force_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target, force=True) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert _listing(tmp_path) == ["out.png"]


def test_existing_outputs_are_refused_by_every_writer(tmp_path):
    from atomgraph.defects import write_defects_csv
    from atomgraph.graph import build_graph
    from atomgraph.io.graphs import FORMATS, write_graph
    from atomgraph.io.tables import write_atoms_csv, write_truth_csv

    atoms = AtomTable(np.array([[0.0, 0.0], [1.42, 0.0], [2.13, 1.23]]), ["C", "C", "C"])
    graph = build_graph(atoms, vacancies=False)
    writers = [(write_atoms_csv, atoms, "a.csv"), (write_truth_csv, atoms, "t.csv"),
               (write_defects_csv, [], "d.csv")] + [(write_graph, graph, f"g{s}") for s in FORMATS]
    for write, obj, name in writers:
        target = tmp_path / name
        target.write_text("keep me")
        with pytest.raises(AtomgraphInputError, match="exists"):
            write(obj, target)
        assert target.read_bytes() == b"keep me", name
        write(obj, target, force=True)
        assert target.read_bytes() != b"keep me", name
    # a graph CSV writes <stem>_edges.csv too: an existing edges file alone is refused before anything is written
    (tmp_path / "h_edges.csv").write_text("keep me")
    with pytest.raises(AtomgraphInputError, match="h_edges.csv"):
        write_graph(graph, tmp_path / "h.csv")
    assert not (tmp_path / "h.csv").exists()


def test_graph_csv_crash_in_the_edges_leaves_neither_file(tmp_path, monkeypatch):
    import atomgraph.io.graphs as graphs
    from atomgraph.graph import build_graph

    graph = build_graph(AtomTable(np.array([[0.0, 0.0], [1.42, 0.0]]), ["C", "C"]), vacancies=False)

    class Boom:
        def __init__(self, handle):
            pass

        def writerow(self, row):
            raise OSError("disk full")

    monkeypatch.setattr(graphs.csv, "writer", Boom)
    with pytest.raises(OSError):
        graphs.write_graph(graph, tmp_path / "g.csv")
    assert _listing(tmp_path) == []


def test_locate_crash_mid_write_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    import atomgraph.io.tables as tables

    image = _noise(tmp_path)

    def rows_then_crash(table):
        header, rows = real_rows(table)

        class Rows(list):
            def __iter__(self):
                yield from rows[:3]
                raise OSError(28, "No space left on device")

        return header, Rows()

    real_rows = tables.atoms_rows
    monkeypatch.setattr(tables, "atoms_rows", rows_then_crash)
    code = main(["locate", str(image), "--pixel-size", "0.1", "-o", str(tmp_path / "atoms.csv"), "--no-lattice-check"])
    assert code == 2  # a full disk is the place, not atomgraph (issue 23): exit 2 naming the output
    err = capsys.readouterr().err
    assert "No space left" in err and "atoms.csv" in err
    assert _listing(tmp_path) == ["img.npy"]


def test_analyze_failing_in_a_late_stage_leaves_no_output_folder(tmp_path, capsys, monkeypatch):
    image = _noise(tmp_path)
    pipeline = importlib.import_module("atomgraph.pipeline")  # Analysis.save writes the overlay with its name

    def crash(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(pipeline, "write_overlay_png", crash)  # the last of the five outputs
    code = main(["analyze", str(image), "--model", "graphene-si", "--pixel-size", "0.1", "-o", str(tmp_path / "out"),
                 "--no-lattice-check"])
    assert code == 1, capsys.readouterr().err
    assert _listing(tmp_path) == ["img.npy"]  # no out/, no hidden temporary folder


def test_simulate_failing_on_the_second_image_leaves_no_output_folder(tmp_path, capsys, monkeypatch):
    module = importlib.import_module("atomgraph.cli.simulations")  # the verb's module, which calls simulate by that name
    real = module.simulate
    calls = []

    def second_fails(*args, **kwargs):
        calls.append(kwargs.get("size"))
        if len([c for c in calls if c == 32]) == 2:
            raise MemoryError("out of memory")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "simulate", second_fails)
    code = main(["simulate", "graphene-si", "--size", "32", "--count", "3", "--quiet", "-o", str(tmp_path / "sim")])
    assert code == 1, capsys.readouterr().err
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- no writing outside the output folder
@pytest.mark.parametrize("name", ["../x", "../../escaped", "/etc/passwd", "a/b", "a\\b", "", ".", "..", "x\n"])
def test_names_from_files_must_be_plain(name, tmp_path):
    with pytest.raises(AtomgraphInputError, match="plain file name"):
        safe_child(tmp_path, name)


def test_a_plain_name_stays_inside_and_a_link_out_is_refused(tmp_path):
    assert safe_child(tmp_path, "graphene-si_seed00000.npy") == tmp_path / "graphene-si_seed00000.npy"
    assert plain_name("mose2-w") == "mose2-w"
    outside = tmp_path.parent / f"{tmp_path.name}-outside.npy"
    (tmp_path / "link.npy").symlink_to(outside)
    with pytest.raises(AtomgraphInputError, match="outside the output folder"):
        safe_child(tmp_path, "link.npy")


def test_a_config_name_cannot_write_outside_the_output_folder(tmp_path, capsys, monkeypatch):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    evil = tmp_path / "a" / "evil.yaml"
    evil.write_text(CONFIG.read_text(encoding="utf-8").replace("name: graphene-si", "name: ../../escaped", 1))
    monkeypatch.chdir(nested)
    code = main(["simulate", str(evil), "--size", "32", "-o", "out"])
    err = capsys.readouterr().err
    assert code == 2 and "config key 'name'" in err
    assert _listing(tmp_path) == ["a", "a/b", "a/evil.yaml"]


def test_force_replaces_a_symlinked_output_not_its_target(tmp_path, capsys):
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    image = _noise(tmp_path)
    assert main(["locate", str(image), "--pixel-size", "0.1", "-o", str(link)]) == 2  # exists: refused
    assert main(["locate", str(image), "--pixel-size", "0.1", "-o", str(link), "--force", "--no-lattice-check"]) == 0
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and link.read_text().startswith("id,")
