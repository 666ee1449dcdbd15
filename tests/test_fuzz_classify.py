"""Property tests: random positions, elements, arrays and pixel sizes thrown at ``build_graph``, ``classify`` and
``locate``: a valid result or an :class:`AtomgraphInputError` with a one-line message, never another exception, and
quickly (each call well under :data:`MAX_SECONDS`)."""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from atomgraph.atoms import AtomTable
from atomgraph.classify import classify
from atomgraph.errors import AtomgraphInputError
from atomgraph.graph import build_graph
from atomgraph.locate import locate

MAX_SECONDS = 3.0
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
MODELS = ["graphene-si", "mose2-w"]
VOCABULARY = {"graphene-si": {"C", "Si3", "Si4", ""}, "mose2-w": {"Mo", "W", "Se2", "Se1", "Sevac", ""}}
ELEMENTS = ["C", "Si", "Mo", "W", "Se", "S", "U", "", "Xx", "c", " C "]


@pytest.fixture(autouse=True)
def _quiet_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def outcome(call):
    """(result, None) or (None, message); fails on any other exception or a slow call."""
    start = time.perf_counter()
    try:
        result, message = call(), None
    except AtomgraphInputError as exc:
        result, message = None, str(exc)
        assert message and "\n" not in message
    elapsed = time.perf_counter() - start
    with contextlib.suppress(InvalidArgument):  # outside a @given test there are no events
        event("valid result" if message is None else "clean error: " + message.split(":")[0][:40])
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f} s"
    return result, message


# ----------------------------------------------------------------------------------------------- atom tables
SPECIAL = [np.nan, np.inf, -np.inf, 1e300, -1e-300, 5e-324, 2e12]


@st.composite
def atom_tables(draw):
    kind = draw(st.sampled_from(["random", "lattice", "lattice"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "lattice":  # a jittered honeycomb (realistic), with a random scale: Å, nm-as-Å, pm-as-Å
        from ase.build import graphene

        side = draw(st.integers(1, 6))
        base = graphene(a=2.46, vacuum=None).repeat((side, side, 1)).positions[:, :2]
        scale = draw(st.sampled_from([1.0, 1.0, 1.34, 0.1, 100.0]))
        positions = base * scale + rng.normal(0, draw(st.floats(0, 0.3)), base.shape)
        keep = rng.random(len(positions)) > draw(st.sampled_from([0.0, 0.05, 0.5]))  # vacancies
        positions = positions[keep]
    else:  # anywhere in a box of random size: dense clusters, isolated atoms, coincident points
        n = draw(st.integers(0, 40))
        box = draw(st.sampled_from([0.0, 1.0, 10.0, 50.0, 1e6]))
        positions = rng.uniform(-box, box, (n, 2))
    n = len(positions)
    if n and draw(st.integers(0, 4)) == 0:  # now and then one non-finite or absurd coordinate
        positions.flat[rng.integers(positions.size)] = draw(st.sampled_from(SPECIAL))
    elements = draw(st.lists(st.sampled_from(ELEMENTS), min_size=n, max_size=n))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["vacancy"] = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    if draw(st.booleans()):
        kwargs["intensity"] = np.array(draw(st.lists(st.sampled_from([np.nan, 0.0, -1.0, 1.0, 1e30, np.inf]),
                                                     min_size=n, max_size=n)), float)
    if draw(st.booleans()):
        kwargs["score"] = np.array(draw(st.lists(st.sampled_from([np.nan, 0.0, 0.5, 1.0, 7.0]), min_size=n,
                                                 max_size=n)), float)
    if draw(st.booleans()):  # locator species probabilities, possibly garbage
        kwargs["extra"] = {f"p_{s}": np.array(draw(st.lists(st.floats(-1, 2) | st.just(np.nan), min_size=n,
                                                            max_size=n)), float)
                           for s in ("C", "Si", "Mo", "W", "Se")}
    return AtomTable(positions, elements, pixel_size_A=draw(st.sampled_from([None, 0.1])), **kwargs)


def check_graph(graph, table: AtomTable) -> None:
    n = len(graph.atoms)
    assert n >= len(table)
    assert np.isfinite(graph.atoms.positions_A).all()
    edge_index = np.asarray(graph.edge_index)
    assert edge_index.shape[0] == 2
    if edge_index.size:
        assert edge_index.min() >= 0 and edge_index.max() < n


@FUZZ
@given(table=atom_tables(), material=st.sampled_from(MODELS))
def test_build_graph_gives_a_valid_graph_or_a_clean_error(table, material):
    graph, message = outcome(lambda: build_graph(table, material=material))
    if graph is not None:
        check_graph(graph, table)


@FUZZ
@given(table=atom_tables(), model=st.sampled_from(MODELS), threshold=st.sampled_from([0.0, 0.5, 1.0]))
def test_classify_gives_valid_labels_or_a_clean_error(table, model, threshold):
    graph, message = outcome(lambda: classify(table, model=model, threshold=threshold))
    if graph is None:
        return
    check_graph(graph, table)
    atoms = graph.atoms
    assert set(atoms.label) <= VOCABULARY[model]
    assert np.all((atoms.prob >= 0) & (atoms.prob <= 1 + 1e-6))
    assert len(atoms.uncertain) == len(atoms)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(obj=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.floats(), max_size=4),
                     hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4))),
       threshold=st.one_of(st.floats(allow_nan=True), st.text(max_size=2), st.none()))
def test_classify_refuses_what_is_not_atoms(obj, threshold):
    _, message = outcome(lambda: classify(obj, threshold=threshold if threshold is not None else 0.5))
    assert message


def test_edge_cases_decided():
    """No atoms: an empty graph; one atom: one node with a vocabulary label; nm given as Å: a clear error."""
    empty = classify(AtomTable(np.zeros((0, 2)), []))
    assert len(empty.atoms) == 0
    one = classify(AtomTable(np.array([[3.0, 4.0]]), ["C"]))
    assert len(one.atoms) == 1 and one.atoms.label[0] in VOCABULARY["graphene-si"]
    from ase.build import graphene

    nm = graphene(a=0.246, vacuum=None).repeat((6, 6, 1)).positions[:, :2]
    with pytest.raises(AtomgraphInputError, match="nearest-neighbor distance.*not nm"):
        build_graph(AtomTable(nm, ["C"] * len(nm)))
    with pytest.raises(AtomgraphInputError, match="1e\\+300 Å"):
        classify(AtomTable(np.array([[0.0, 0.0], [1e300, 0.0]]), ["C", "C"]))


# --------------------------------------------------------------------------------------------------- locate
small_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=48)
dtypes = st.sampled_from([np.float32, np.float64, np.float16, np.uint8, np.int16, np.uint16, np.int64, np.bool_,
                          np.complex64])


@st.composite
def images(draw):
    kind = draw(st.sampled_from(["image", "image", "image", "any shape"]))
    if kind == "image":
        shape = (draw(st.integers(16, 48)), draw(st.integers(16, 48)))
    else:
        shape = draw(small_shapes)
    dtype = draw(dtypes)
    fill = draw(st.sampled_from(["random", "random", "random", "constant", "nan", "inf", "huge"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arr = rng.random(shape) * 100
    if fill == "constant":
        arr = np.full(shape, 3.0)
    elif fill == "nan" and arr.size:
        arr.flat[rng.integers(arr.size)] = np.nan
    elif fill == "inf" and arr.size:
        arr.flat[rng.integers(arr.size)] = np.inf
    elif fill == "huge":
        arr = arr * 1e300
    with np.errstate(all="ignore"):
        return (arr > 50) if dtype is np.bool_ else arr.astype(dtype)


# absurd pixel sizes (1e9 Å/px) are refused by locate itself (test_locate_absurd_pixel_size_is_a_clean_error);
# the CLI and analyze() refuse them first with atomgraph.pipeline.check_scale.
pixel_sizes = st.one_of(st.floats(0.02, 0.4), st.floats(0.02, 0.4),
                        st.sampled_from([None, 0.0, -0.1, np.nan, np.inf, 1e-9, "0.1", "abc", True]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(image=images(), pixel_size=pixel_sizes, model=st.sampled_from(MODELS))
def test_locate_gives_atoms_or_a_clean_error(image, pixel_size, model):
    atoms, message = outcome(lambda: locate(image, model=model, pixel_size_A=pixel_size))
    if atoms is not None:
        assert np.isfinite(atoms.positions_A).all()
        h, w = np.shape(image)
        px = atoms.positions_px
        assert np.all((px >= -0.5 - 1e-6) & (px <= np.array([w, h]) - 0.5 + 1e-6))


def test_analyze_refuses_an_absurd_pixel_size_before_allocating():
    from atomgraph.pipeline import analyze

    image = np.random.default_rng(0).random((64, 64))
    for pixel_size in (1e9, 1e4):
        _, message = outcome(lambda: analyze(image, pixel_size_A=pixel_size))
        assert message and "check the pixel size" in message


def test_locate_absurd_pixel_size_is_a_clean_error():
    image = np.random.default_rng(0).random((64, 64))
    for pixel_size in (1e9, 1e4):  # refused by resample() before allocating the native grid (> 2**28 px)
        with pytest.raises(AtomgraphInputError, match="check the pixel size"):
            locate(image, pixel_size_A=pixel_size)
