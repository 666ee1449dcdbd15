"""Property tests: whatever bytes, arrays or CSV text the readers get, the result is a valid ImageData/AtomTable or
an AtomgraphInputError (one line), never another exception, and it comes back quickly."""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from atomgraph.atoms import AtomTable
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.coords import read_coordinates
from atomgraph.io.images import ImageData, read_image

IMAGE_EXTENSIONS = [".npy", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".dm3", ".dm4", ".emd", ".bmp", ""]
COORD_EXTENSIONS = [".csv", ".xyz", ".extxyz", ".cif", ".vasp", ".pdb", ".txt", ".npy", ""]
MAX_SECONDS = 2.0
FUZZ = settings(max_examples=60, deadline=3000, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


@pytest.fixture(autouse=True)
def _quiet_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check_image_outcome(path: Path, **kwargs) -> None:
    start = time.perf_counter()
    try:
        image = read_image(path, **kwargs)
    except AtomgraphInputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert isinstance(image, ImageData)
        assert image.data.dtype == np.float32 and image.data.ndim in (2, 3)
        assert np.isfinite(image.data).all()
        assert image.frames == (1 if image.data.ndim == 2 else image.data.shape[0])
        assert image.pixel_size_A is None or image.pixel_size_A > 0
    assert time.perf_counter() - start < MAX_SECONDS


def _check_coords_outcome(path: Path, **kwargs) -> None:
    start = time.perf_counter()
    try:
        table = read_coordinates(path, **kwargs)
    except AtomgraphInputError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
    else:
        assert isinstance(table, AtomTable)
        assert 1 <= len(table) <= 1_000_000
        assert np.isfinite(table.positions_A).all()
    assert time.perf_counter() - start < MAX_SECONDS


@FUZZ
@given(data=st.binary(max_size=2048), ext=st.sampled_from(IMAGE_EXTENSIONS), stack=st.booleans(),
       prefix=st.sampled_from([b"", b"\x93NUMPY\x01\x00", b"II*\x00", b"MM\x00*", b"\x89PNG\r\n\x1a\n",
                               b"\xff\xd8\xff", b"\x89HDF\r\n\x1a\n"]))
def test_random_bytes_to_read_image(data, ext, stack, prefix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        path.write_bytes(prefix + data)
        _check_image_outcome(path, allow_stack=stack)


_DTYPES = st.sampled_from(["u1", "u2", "i1", "i4", "i8", "u8", "f2", "f4", "f8", "?", "c8", "U3", "S2", "M8[s]"])


@FUZZ
@given(array=_DTYPES.flatmap(lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0,
                                                                                   max_side=12))),
       nan_fraction=st.sampled_from([0.0, 0.0, 0.1, 1.0]), stack=st.booleans(), ext=st.sampled_from([".npy", ".tif"]))
def test_random_arrays_to_read_image(array, nan_fraction, stack, ext):
    if nan_fraction and array.dtype.kind == "f" and array.size:
        array = array.copy()
        array.flat[: max(1, int(nan_fraction * array.size))] = np.nan
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        try:
            if ext == ".npy":
                np.save(path, array, allow_pickle=False)
            else:
                import tifffile

                tifffile.imwrite(path, array)
        except Exception:  # the writer itself refuses some arrays: nothing to read
            return
        _check_image_outcome(path, allow_stack=stack)


@FUZZ
@given(data=st.binary(max_size=2048), ext=st.sampled_from(COORD_EXTENSIONS),
       pixel_size=st.sampled_from([None, 0.1, -1.0, 0.0]))
def test_random_bytes_to_read_coordinates(data, ext, pixel_size):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{ext}"
        path.write_bytes(data)
        _check_coords_outcome(path, pixel_size_A=pixel_size)


_COLUMNS = st.sampled_from(["x_px", "y_px", "x_A", "y_A", "element", "intensity", "label", "prob", "id", "score",
                            "vacancy", "xpx", "junk"])
_CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.integers(-5, 5).map(str),
                   st.sampled_from(["", "C", "Si", "Mo", "Se", "X", "Qq", "nan", "1e400", "abc", " 3 ", '"', "#"]),
                   st.text(max_size=4))


@FUZZ
@given(header=st.lists(_COLUMNS, min_size=0, max_size=6),
       rows=st.lists(st.lists(_CELLS, min_size=0, max_size=7), max_size=8),
       pixel_size=st.sampled_from([None, 0.1]))
def test_random_csv_tables_to_read_coordinates(header, rows, pixel_size):
    text = ",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check_coords_outcome(path, pixel_size_A=pixel_size)


@FUZZ
@given(n=st.one_of(st.integers(-2, 5), st.integers(10**6, 10**12)), lines=st.lists(st.text(alphabet="CSiMo0123456789.- eE\t", max_size=30), max_size=6),
       comment=st.text(max_size=20))
def test_random_xyz_text_to_read_coordinates(n, lines, comment):
    text = f"{n}\n{comment.replace(chr(10), ' ').replace(chr(13), ' ')}\n" + "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.xyz"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check_coords_outcome(path)
