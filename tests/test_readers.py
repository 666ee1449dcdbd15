"""Readers: images (.npy/.tif/.png/.jpg, optional dm3/emd) and coordinate files (CSV, anything ase.io.read reads).

Every bad input gives one AtomgraphInputError line naming the file; good inputs round-trip.
"""

from __future__ import annotations

import io
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from atomgraph.atoms import AtomTable
from atomgraph.errors import AtomgraphInputError
from atomgraph.io.coords import read_coordinates
from atomgraph.io.images import ImageData, read_image
from atomgraph.io.tables import write_atoms_csv, write_truth_csv

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
if not REAL.is_dir():
    REAL = Path("/work/shared/data/real")
RNG = np.random.default_rng(0)


def _img(shape=(16, 16), dtype=np.float32) -> np.ndarray:
    return (RNG.random(shape) * 200).astype(dtype)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _tiff_bytes(array: np.ndarray, **kwargs) -> bytes:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def _png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG") if mode else \
        Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _npy_header_only(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A valid .npy header that promises a huge array, with no data behind it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    assert buffer.getvalue().startswith(b"\x93NUMPY")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------- image: bad input
BAD_IMAGES = [
    # id, file name, contents (bytes or callable(tmp_path) -> bytes), read_image kwargs, expected message fragment
    ("empty file", "a.npy", b"", {}, "is empty"),
    ("unknown extension", "a.bmp", b"BM" + bytes(100), {}, "unknown image extension '.bmp'"),
    ("no extension", "image", _npy_bytes(_img()), {}, "unknown image extension"),
    ("npz archive", "a.npz", b"PK\x03\x04" + bytes(50), {}, "zip archive"),
    ("text posing as npy", "a.npy", b"x,y\n1,2\n3,4\n", {}, "is a text file, not a .npy array"),
    ("text posing as png", "a.png", b"hello, I am not a picture\n" * 4, {}, "is a text file, not a PNG"),
    ("text posing as tif", "a.tif", b"# readme\nsome words\n", {}, "is a text file, not a TIFF"),
    ("png named npy", "a.npy", _png_bytes(_img(dtype=np.uint8)), {}, "contents look like a PNG image"),
    ("npy named tif", "a.tif", _npy_bytes(_img()), {}, "contents look like a .npy array"),
    ("random binary as png", "a.png", bytes(range(256)) * 4, {}, "is not a PNG image"),
    ("truncated npy", "a.npy", _npy_bytes(_img((64, 64)))[:1000], {}, "is truncated"),
    ("corrupt npy header", "a.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage}\n" + bytes(64), {},
     "not a valid .npy file"),
    ("truncated png", "a.png", _png_bytes(_img((64, 64), np.uint8))[:300], {}, "truncated or corrupt"),
    ("truncated tif", "a.tif", _tiff_bytes(_img((64, 64)))[:2000], {}, "a.tif"),
    ("object dtype npy", "a.npy", _npy_bytes(np.array([[1, "a"], [None, 2]], dtype=object)), {},
     "object (Python objects) pixels"),
    ("complex npy", "a.npy", _npy_bytes(_img().astype(np.complex64)), {}, "complex pixels"),
    ("bool npy", "a.npy", _npy_bytes(_img() > 100), {}, "boolean pixels"),
    ("string npy", "a.npy", _npy_bytes(np.array([["ab", "cd"], ["ef", "gh"]])), {}, "string pixels"),
    ("structured npy", "a.npy", _npy_bytes(np.zeros((4, 4), dtype=[("a", "f4"), ("b", "i4")])), {},
     "structured/void pixels"),
    ("1D array", "a.npy", _npy_bytes(np.arange(10.0)), {}, "is a 1D array of shape (10,); an image is 2D"),
    ("0D array", "a.npy", _npy_bytes(np.array(3.0)), {}, "is a 0D array"),
    ("4D array", "a.npy", _npy_bytes(_img((2, 3, 8, 8))), {"allow_stack": True}, "is a 4D array"),
    ("3D stack refused", "a.npy", _npy_bytes(_img((5, 16, 16))), {},
     "is a stack of 5 frames (shape (5, 16, 16)); this command needs one 2D image"),
    ("multi-page tif refused", "a.tif", _tiff_bytes(_img((3, 16, 16)), photometric="minisblack"), {},
     "is a stack of 3 frames"),
    ("planar RGB tif is not a stack", "a.tif", _tiff_bytes(np.zeros((3, 16, 16), np.uint8), photometric="rgb",
                                                            planarconfig="separate"), {}, "is constant"),
    ("zero-size array", "a.npy", _npy_bytes(np.zeros((0, 16), np.float32)), {}, "has no pixels"),
    ("one-pixel-wide image", "a.npy", _npy_bytes(_img((1, 50))), {}, "at least 2 pixels on each side"),
    ("absurd npy shape", "a.npy", _npy_header_only((100000, 100000)), {}, "is too large (100000x100000"),
    ("npy over max_pixels", "a.npy", _npy_bytes(_img((64, 64))), {"max_pixels": 1000}, "> 1000"),
    ("absurd tif over max_pixels", "a.tif", _tiff_bytes(_img((64, 64))), {"max_pixels": 1000}, "is too large"),
    ("png over max_pixels", "a.png", _png_bytes(_img((64, 64), np.uint8)), {"max_pixels": 1000}, "is too large"),
    ("NaN pixels", "a.npy", _npy_bytes(np.where(np.eye(8, dtype=bool), np.nan, _img((8, 8)))), {},
     "has 8 NaN pixels (of 64)"),
    ("inf pixels", "a.npy", _npy_bytes(np.where(np.eye(8, dtype=bool), np.inf, _img((8, 8)))), {},
     "has 8 infinite pixels"),
    ("float64 overflowing float32", "a.npy", _npy_bytes(np.where(np.eye(4, dtype=bool), 1e300, 1.0)), {},
     "4 infinite pixels"),
    ("constant image", "a.npy", _npy_bytes(np.full((16, 16), 7.0)), {}, "is constant (every pixel = 7)"),
    ("constant png", "a.png", _png_bytes(np.zeros((16, 16), np.uint8)), {}, "is constant"),
    ("constant frame in a stack", "a.npy", _npy_bytes(np.concatenate([_img((1, 8, 8)), np.ones((1, 8, 8))])),
     {"allow_stack": True}, "frame 1 is constant"),
]


@pytest.mark.parametrize("name, filename, contents, kwargs, message", BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_bad_image_gives_one_line_error_naming_the_file(tmp_path, name, filename, contents, kwargs, message):
    path = tmp_path / filename
    path.write_bytes(contents)
    with pytest.raises(AtomgraphInputError) as info:
        read_image(path, **kwargs)
    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_missing_image_file(tmp_path):
    with pytest.raises(AtomgraphInputError, match="file not found"):
        read_image(tmp_path / "nope.npy")


def test_folder_is_not_an_image(tmp_path):
    folder = tmp_path / "images.npy"
    folder.mkdir()
    with pytest.raises(AtomgraphInputError, match="is a folder"):
        read_image(folder)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_image_file(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, _img())
    path.chmod(0)
    try:
        with pytest.raises(AtomgraphInputError, match="cannot be read"):
            read_image(path)
    finally:
        path.chmod(0o600)


def test_absurd_npy_is_refused_before_allocating(tmp_path):
    """A header promising 10^12 float64 pixels (8 TB) fails at once, from the header alone."""
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_header_only((1_000_000, 1_000_000), "<f8"))
    with pytest.raises(AtomgraphInputError, match="too large"):
        read_image(path, allow_stack=True)
    with pytest.raises(AtomgraphInputError, match="is truncated"):  # the truncation check also runs before np.load
        read_image(path, allow_stack=True, max_pixels=2**62)


def test_dm3_without_optional_extra_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rsciio", None)
    monkeypatch.setitem(sys.modules, "rsciio.digitalmicrograph", None)
    path = tmp_path / "scan.dm3"
    path.write_bytes(b"\x00\x00\x00\x03" + bytes(100))
    with pytest.raises(AtomgraphInputError, match=r"reading \.dm3 needs the optional extra: "
                                                  r"pip install \"atomgraph\[formats\]\""):
        read_image(path)


# ----------------------------------------------------------------------------------------------- image: good input
def test_npy_any_numeric_dtype_reads_as_float32(tmp_path):
    for dtype in (np.uint8, np.uint16, np.int32, np.int64, np.float16, np.float64):
        path = tmp_path / f"a_{np.dtype(dtype).name}.npy"
        array = _img((12, 10)).astype(dtype)
        np.save(path, array)
        image = read_image(path)
        assert isinstance(image, ImageData)
        assert image.data.dtype == np.float32 and image.data.shape == (12, 10)
        assert image.frames == 1 and image.pixel_size_A is None and image.path == str(path)
        np.testing.assert_allclose(image.data, array.astype(np.float32), rtol=1e-3)


def test_fortran_order_npy(tmp_path):
    path = tmp_path / "f.npy"
    array = np.asfortranarray(_img((9, 7)))
    np.save(path, array)
    np.testing.assert_array_equal(read_image(path).data, array)


def test_stack_is_accepted_when_allowed(tmp_path):
    path = tmp_path / "stack.npy"
    np.save(path, _img((4, 16, 20)))
    image = read_image(path, allow_stack=True)
    assert image.frames == 4 and image.data.shape == (4, 16, 20) and image.shape == (16, 20)
    assert image.frame(2).shape == (16, 20)


def test_single_frame_stack_is_one_image(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, _img((1, 16, 20)))
    image = read_image(path, allow_stack=True)
    assert image.frames == 1 and image.data.shape == (16, 20)


def test_grey_rgb_npy_is_one_grey_image(tmp_path):
    path = tmp_path / "rgb.npy"
    grey = _img((16, 20))
    np.save(path, np.repeat(grey[..., None], 3, axis=2))
    image = read_image(path)
    assert image.data.shape == (16, 20)
    np.testing.assert_allclose(image.data, grey, rtol=1e-6)


def test_colour_npy_is_refused_not_merged(tmp_path):
    """(H, W, 3) with different channels may be 3 frames with the frame axis last: never averaged silently."""
    path = tmp_path / "rgb.npy"
    np.save(path, _img((16, 20, 3)))
    with pytest.raises(AtomgraphInputError, match=r"3 colour channels \(16x20x3\) that differ"):
        read_image(path, allow_stack=True)


def test_grey_rgba_png_is_converted_to_grey(tmp_path):
    path = tmp_path / "rgba.png"
    grey = _img((16, 20), np.uint8)
    rgba = np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=-1)
    path.write_bytes(_png_bytes(rgba))
    image = read_image(path)
    assert image.data.shape == (16, 20)
    np.testing.assert_array_equal(image.data, grey.astype(np.float32))


def test_colour_png_is_refused(tmp_path):
    path = tmp_path / "colour.png"
    rgba = _img((16, 20, 4), np.uint8)
    rgba[..., 3] = 255
    path.write_bytes(_png_bytes(rgba))
    with pytest.raises(AtomgraphInputError, match="colour channels .* that differ"):
        read_image(path)


def test_png_with_varying_transparency_is_refused(tmp_path):
    path = tmp_path / "alpha.png"
    grey = _img((16, 20), np.uint8)
    rgba = np.stack([grey, grey, grey, _img((16, 20), np.uint8)], axis=-1)
    path.write_bytes(_png_bytes(rgba))
    with pytest.raises(AtomgraphInputError, match="transparency"):
        read_image(path)


def test_colour_palette_png_is_refused(tmp_path):
    from PIL import Image

    path = tmp_path / "viridis.png"
    im = Image.fromarray(_img((16, 16), np.uint8)).convert("P")
    im.putpalette([v for i in range(256) for v in (i, 255 - i, (3 * i) % 256)])
    im.save(path)
    with pytest.raises(AtomgraphInputError, match="colour channels"):
        read_image(path)


def test_tifffile_stack_in_one_page_is_frames_not_one_image(tmp_path):
    """tifffile.imwrite((3, H, W)) stores one RGB page with separate planes: those are 3 frames."""
    import tifffile

    path = tmp_path / "stack.tif"
    stack = _img((3, 20, 24))
    with pytest.warns(DeprecationWarning):  # tifffile's own note that it stores this as planar RGB
        tifffile.imwrite(path, stack)
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 1 and tif.pages.first.photometric == tifffile.PHOTOMETRIC.RGB
    image = read_image(path, allow_stack=True)
    assert image.frames == 3 and image.data.shape == (3, 20, 24)
    np.testing.assert_array_equal(image.data, stack)
    with pytest.raises(AtomgraphInputError, match="stack of 3 frames"):
        read_image(path)


def test_imagej_hyperstack_is_refused_in_one_line_naming_its_axes(tmp_path):
    import tifffile

    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, _img((2, 3, 16, 16)), imagej=True, metadata={"axes": "TZYX"})
    with pytest.raises(AtomgraphInputError, match=r"hyperstack \(axes TZYX, shape 2x3x16x16\)"):
        read_image(path, allow_stack=True)
    path = tmp_path / "series.tif"
    tifffile.imwrite(path, _img((4, 16, 16)), imagej=True, metadata={"axes": "TYX"})
    assert read_image(path, allow_stack=True).frames == 4


def test_tiff_rgb_picture_grey_or_refused(tmp_path):
    import tifffile

    grey = _img((20, 24), np.uint8)
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, np.repeat(grey[..., None], 3, axis=2), photometric="rgb")
    np.testing.assert_array_equal(read_image(path).data, grey.astype(np.float32))
    path = tmp_path / "colour.tif"
    tifffile.imwrite(path, _img((20, 24, 3), np.uint8), photometric="rgb")
    with pytest.raises(AtomgraphInputError, match="colour channels"):
        read_image(path, allow_stack=True)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_8_and_16_bit(tmp_path, dtype):
    path = tmp_path / "a.png"
    array = (RNG.random((20, 24)) * np.iinfo(dtype).max).astype(dtype)
    path.write_bytes(_png_bytes(array))
    image = read_image(path)
    np.testing.assert_array_equal(image.data, array.astype(np.float32))


def test_jpeg_reads_as_grayscale(tmp_path):
    """A grey picture saved as an RGB JPEG (channels equal up to compression rounding) is read as grey."""
    from PIL import Image

    path = tmp_path / "a.jpg"
    grey = np.kron(_img((8, 8), np.uint8), np.ones((4, 4), np.uint8))
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(path, quality=95)
    image = read_image(path)
    assert image.data.shape == (32, 32) and image.data.dtype == np.float32
    assert np.abs(image.data - grey).mean() < 3


def test_multipage_tiff_is_a_stack(tmp_path):
    import tifffile

    path = tmp_path / "movie.tif"
    stack = _img((3, 16, 16)).astype(np.uint16)
    tifffile.imwrite(path, stack, photometric="minisblack")
    image = read_image(path, allow_stack=True)
    assert image.frames == 3
    np.testing.assert_array_equal(image.data, stack.astype(np.float32))


def test_imagej_tiff_calibration_in_nm_becomes_angstrom(tmp_path):
    import tifffile

    path = tmp_path / "cal.tif"
    tifffile.imwrite(path, _img((16, 16)), imagej=True, resolution=(1 / 0.0125, 1 / 0.0125),
                     metadata={"unit": "nm"})
    assert read_image(path).pixel_size_A == pytest.approx(0.125)


def test_tiff_print_dpi_is_not_a_calibration(tmp_path):
    import tifffile

    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, _img((16, 16)), resolution=(72, 72), resolutionunit="INCH")
    assert read_image(path).pixel_size_A is None


def test_lzw_palette_tiff_falls_back_to_pillow(tmp_path):
    """tifffile needs imagecodecs for LZW; Pillow does not."""
    from PIL import Image

    path = tmp_path / "lzw.tif"
    gray = _img((24, 24), np.uint8)
    im = Image.fromarray(gray).convert("P")
    im.putpalette([v for i in range(256) for v in (i, i, i)])
    im.save(path, compression="tiff_lzw")
    image = read_image(path)
    assert image.data.shape == (24, 24)
    np.testing.assert_allclose(image.data, np.asarray(im.convert("L"), dtype=np.float32), atol=1)


def test_dm3_calibration_through_rsciio_nm_to_angstrom(tmp_path, monkeypatch):
    """With the optional extra, the pixel size comes from the axes' scale, nm converted to Å."""
    data = _img((8, 10))
    fake = types.ModuleType("rsciio.digitalmicrograph")
    fake.file_reader = lambda filename, lazy=False: [
        {"data": data, "axes": [{"scale": 0.0127, "units": "nm", "size": 8}, {"scale": 0.0127, "units": "nm",
                                                                                "size": 10}]}]
    monkeypatch.setitem(sys.modules, "rsciio", types.ModuleType("rsciio"))
    monkeypatch.setitem(sys.modules, "rsciio.digitalmicrograph", fake)
    path = tmp_path / "scan.dm4"
    path.write_bytes(b"\x00\x00\x00\x04" + bytes(100))
    image = read_image(path)
    assert image.pixel_size_A == pytest.approx(0.127)
    np.testing.assert_array_equal(image.data, data)


def test_emd_without_length_units_has_no_pixel_size(tmp_path, monkeypatch):
    data = _img((3, 8, 10))
    fake = types.ModuleType("rsciio.emd")
    fake.file_reader = lambda filename, lazy=False: [
        {"data": data, "axes": [{"scale": 1.0, "units": "s"}, {"scale": 1, "units": "px"},
                                {"scale": 1, "units": "px"}]}]
    monkeypatch.setitem(sys.modules, "rsciio", types.ModuleType("rsciio"))
    monkeypatch.setitem(sys.modules, "rsciio.emd", fake)
    path = tmp_path / "movie.emd"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    image = read_image(path, allow_stack=True)
    assert image.frames == 3 and image.pixel_size_A is None


REAL_IMAGES = sorted(p.name for p in REAL.glob("*") if p.suffix in (".npy", ".tif", ".tiff", ".png")) \
    if REAL.is_dir() else []


@pytest.mark.skipif(not REAL_IMAGES, reason="shared/data/real not present")
@pytest.mark.parametrize("name", REAL_IMAGES)
def test_every_real_image_reads(name):
    image = read_image(REAL / name)
    assert image.data.ndim == 2 and image.data.dtype == np.float32
    assert np.isfinite(image.data).all() and image.data.std() > 0


@pytest.mark.skipif(not (REAL / "wsse_janus_partial_12.tif").exists(), reason="shared/data/real not present")
def test_real_imagej_calibration():
    assert read_image(REAL / "wsse_janus_partial_12.tif").pixel_size_A == pytest.approx(0.078125)
    assert read_image(REAL / "wsse_janus_partial_16.tif").pixel_size_A == pytest.approx(0.15625)
    assert read_image(REAL / "wse2_v_doped_skku_adf7792.tif").pixel_size_A is None  # 1 dpi is not a calibration


# ------------------------------------------------------------------------------------------- coordinates: bad input
BAD_CSV = [
    # id, text, read_coordinates kwargs, expected message fragment
    ("header only", "x_A,y_A,element\n", {}, "has a header but no atoms"),
    ("blank lines only", "\n \n\n", {}, "has no header and no atoms"),
    ("no coordinate columns", "a,b,element\n1,2,C\n", {}, "found a, b, element; expected x_px,y_px"),
    ("misspelled xpx", "xpx,ypx\n1,2\n", {"pixel_size_A": 0.1}, "did you mean 'xpx' -> 'x_px'?"),
    ("misspelled x_ang", "x_a ng,y_Ang\n1,2\n", {}, "'y_Ang' -> 'y_A'?"),
    ("pixels without pixel size", "x_px,y_px\n1,2\n", {}, "x_px/y_px need --pixel-size"),
    ("non-numeric value", "x_A,y_A\n1,2\n3,abc\n", {}, "line 3, column y_A: 'abc' is not a number"),
    ("NaN coordinate", "x_A,y_A\n1,nan\n", {}, "line 2, column y_A: 'nan' is not a finite number"),
    ("empty coordinate", "x_A,y_A\n1,\n", {}, "line 2, column y_A: '' is not a number"),
    ("non-numeric intensity", "x_A,y_A,intensity\n1,2,bright\n", {}, "column intensity: 'bright'"),
    ("short row", "x_A,y_A,element\n1,2,C\n3\n", {}, "line 3 has 1 fields, the header has 3"),
    ("unknown element", "x_A,y_A,element\n1,2,C\n3,4,Qx\n", {}, "line 3: unknown element 'Qx'"),
    ("lower-case element", "x_A,y_A,element\n1,2,si\n", {}, "unknown element 'si' (did you mean 'Si'?)"),
    ("duplicate points", "x_A,y_A\n1,2\n1.01,2\n5,5\n5,5.02\n9,9\n", {},
     "has 2 duplicate point pair(s) closer than 0.05 Å"),
    ("repeated column", "x_A,y_A,x_A\n1,2,3\n", {}, "repeated columns: x_A"),
    ("duplicate ids", "id,x_A,y_A\n0,1,2\n0,3,4\n", {}, "id 0 appears 2 times"),
    ("non-integer id", "id,x_A,y_A\n0.5,1,2\n", {}, "column id: '0.5' is not an integer"),
    ("zero pixel size", "x_px,y_px\n1,2\n", {"pixel_size_A": 0}, "pixel size must be a positive number"),
    ("negative pixel size", "x_px,y_px\n1,2\n", {"pixel_size_A": -0.1}, "pixel size must be a positive number"),
    ("NaN pixel size", "x_px,y_px\n1,2\n", {"pixel_size_A": float("nan")}, "pixel size must be a positive"),
    ("pixel size disagrees with file", "x_px,y_px,x_A,y_A\n10,20,1,2\n", {"pixel_size_A": 0.2},
     "pixel size 0.2 Å given, but the file's x_A/x_px columns imply 0.1 Å"),
    ("absurd coordinates", "x_A,y_A\n1e300,2\n", {}, "too large to be positions"),
]


@pytest.mark.parametrize("name, text, kwargs, message", BAD_CSV, ids=[b[0] for b in BAD_CSV])
def test_bad_csv_gives_one_line_error(tmp_path, name, text, kwargs, message):
    path = tmp_path / "atoms.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AtomgraphInputError) as info:
        read_coordinates(path, **kwargs)
    text_out = str(info.value)
    assert message in text_out
    assert str(path) in text_out and "\n" not in text_out


BAD_COORD_FILES = [
    ("empty csv", "a.csv", b"", "is empty"),
    ("binary csv", "a.csv", b"\x00\x01\x02garbage", "is a binary file, not a CSV"),
    ("garbage xyz", "a.xyz", b"hello world\n", "could not be read as extxyz by ase.io.read"),
    ("bad xyz line", "a.xyz", b"2\n\nC 0 0 0\nC 1 x 1\n", "could not be read as extxyz"),
    ("garbage cif", "a.cif", b"data_x\n_cell_length_a oops\n", "a.cif: "),
    ("unknown extension", "a.foo", b"some\ntext\n", "a.foo"),
    ("png as coordinates", "a.png", _png_bytes(_img(dtype=np.uint8)), "a.png"),
    ("empty xyz", "a.xyz", b"0\n\n", "a.xyz"),
    ("xyz promising 10^10 atoms", "a.xyz", b"10000000000\n\nC 0 0 0\n", "too many atoms (10000000000 > 1000000)"),
    ("truncated xyz", "a.xyz", b"5\n\nC 0 0 0\nC 1 1 1\n", "declares 5 atoms but the file has only 2 atom lines"),
]


@pytest.mark.parametrize("name, filename, contents, message", BAD_COORD_FILES, ids=[b[0] for b in BAD_COORD_FILES])
def test_bad_coordinate_file_gives_one_line_error(tmp_path, name, filename, contents, message):
    path = tmp_path / filename
    path.write_bytes(contents)
    with pytest.raises(AtomgraphInputError) as info:
        read_coordinates(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_and_folder_coordinates(tmp_path):
    with pytest.raises(AtomgraphInputError, match="file not found"):
        read_coordinates(tmp_path / "nope.csv")
    with pytest.raises(AtomgraphInputError, match="is a folder"):
        read_coordinates(tmp_path)


def test_too_many_atoms_is_refused(tmp_path, monkeypatch):
    """The limit is 10**6; lowered here so the test writes a small file and stays fast."""
    import atomgraph.io.checks as checks

    assert checks.MAX_ATOMS == 1_000_000
    monkeypatch.setattr(checks, "MAX_ATOMS", 100)
    path = tmp_path / "many.csv"
    path.write_text("x_A,y_A\n" + "".join(f"{i},0\n" for i in range(101)))
    with pytest.raises(AtomgraphInputError, match=r"too many atoms \(101 > 100\)"):
        read_coordinates(path)
    xyz = tmp_path / "many.xyz"
    xyz.write_text("101\n\n" + "".join(f"C {i} 0 0\n" for i in range(101)))
    with pytest.raises(AtomgraphInputError, match=r"too many atoms \(101 > 100\)"):
        read_coordinates(xyz)


# ------------------------------------------------------------------------------------------ coordinates: good input
def test_single_atom_is_accepted(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("x_A,y_A,element\n1.5,2.5,Si\n")
    table = read_coordinates(path)
    assert len(table) == 1 and table.element[0] == "Si" and table.pixel_size_A is None


def test_pixel_csv_with_pixel_size_and_extra_columns(tmp_path):
    path = tmp_path / "px.csv"
    path.write_text("X_PX , y_px,element,intensity,label,whatever\n10,20,C,3.5,C,zzz\n30,40,,,,\n")
    table = read_coordinates(path, pixel_size_A=0.1)
    np.testing.assert_allclose(table.positions_A, [[1, 2], [3, 4]])
    np.testing.assert_allclose(table.positions_px, [[10, 20], [30, 40]])
    assert list(table.element) == ["C", ""] and list(table.vacancy) == [False, True]
    assert table.intensity[0] == 3.5 and np.isnan(table.intensity[1])


def test_csv_without_element_column_is_atoms_not_vacancies(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("x_A,y_A\n0,0\n1.4,0\n")
    table = read_coordinates(path)
    assert not table.vacancy.any()


def test_txt_with_csv_header_reads_as_csv(tmp_path):
    path = tmp_path / "xy.txt"
    path.write_text("x_A\ty_A\n0\t0\n1.4\t0\n")
    assert len(read_coordinates(path)) == 2


def test_atoms_csv_round_trip(tmp_path):
    table = AtomTable.from_pixels(RNG.random((50, 2)) * 500, 0.085, element=["C"] * 48 + ["Si", ""],
                                  label=["C"] * 48 + ["Si3", ""], prob=RNG.random(50),
                                  intensity=RNG.random(50) * 10, extra={"p_C": RNG.random(50)})
    path = tmp_path / "atoms.csv"
    write_atoms_csv(table, path)
    back = read_coordinates(path)
    np.testing.assert_allclose(back.positions_A, table.positions_A, atol=1e-4)
    assert back.pixel_size_A == pytest.approx(0.085, rel=1e-5)
    assert list(back.element) == list(table.element) and list(back.label) == list(table.label)
    np.testing.assert_array_equal(back.vacancy, table.vacancy)
    np.testing.assert_array_equal(back.ids, table.ids)
    np.testing.assert_allclose(back.prob, table.prob, atol=1e-4)


def test_truth_csv_round_trip(tmp_path):
    table = AtomTable.from_pixels(RNG.random((30, 2)) * 256, 0.1, element=["Mo"] * 10 + ["Se"] * 19 + [""],
                                  label=["Mo"] * 10 + ["Se2"] * 18 + ["Se1", "Sevac"])
    path = tmp_path / "truth.csv"
    write_truth_csv(table, path)
    back = read_coordinates(path, pixel_size_A=0.1)
    np.testing.assert_allclose(back.positions_px, table.positions_px, atol=1e-4)
    assert list(back.element) == list(table.element) and list(back.label) == list(table.label)


def test_extxyz_round_trip_through_ase(tmp_path):
    import ase.io

    table = AtomTable.from_pixels([[10, 10], [25, 10], [40, 12]], 0.1, element=["C", "Si", ""],
                                  label=["C", "Si3", "vac"])
    path = tmp_path / "atoms.extxyz"
    ase.io.write(path, table.to_ase())
    back = read_coordinates(path)
    np.testing.assert_allclose(back.positions_A, table.positions_A)
    assert list(back.element) == ["C", "Si", ""] and list(back.label) == ["C", "Si3", "vac"]
    assert back.pixel_size_A == pytest.approx(0.1)


def test_poscar_is_projected_into_columns(tmp_path):
    """MoS2: two S atoms above each other make one S2 column, twice as bright as one S."""
    import ase.io
    from ase.build import mx2

    path = tmp_path / "POSCAR"
    ase.io.write(path, mx2("MoS2", size=(3, 3, 1), vacuum=5.0), format="vasp")
    table = read_coordinates(path, pixel_size_A=0.1)
    assert len(table) == 18 and sorted(set(table.element)) == ["Mo", "S"]
    assert set(table.extra["n_atoms"][table.element == "S"]) == {2.0}
    assert table.pixel_size_A == 0.1


def test_cif_reads(tmp_path):
    import ase.io
    from ase.build import graphene

    path = tmp_path / "g.cif"
    ase.io.write(path, graphene(size=(2, 2, 1), vacuum=5.0))
    assert len(read_coordinates(path)) == 8


def test_docstring_examples_run():
    import doctest

    import atomgraph.io.coords
    import atomgraph.io.images

    for module in (atomgraph.io.images, atomgraph.io.coords):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
