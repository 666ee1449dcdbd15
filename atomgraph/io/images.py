"""Reading HAADF-STEM images: .npy, .tif/.tiff, .png/.jpg, and .dm3/.dm4/.emd/.ser through the optional extra.

:func:`read_image` returns an :class:`ImageData`: a float32 array (one 2D image, or a 3D ``(frames, H, W)`` stack when
the caller accepts stacks) and the pixel size in Å when the file is calibrated. Every user mistake (a missing,
empty, truncated or mislabelled file, a non-numeric or NaN image, an absurd size) raises
:class:`~atomgraph.errors.AtomgraphInputError` with one line naming the file. Sizes are checked from the header
before any pixel is allocated, and nothing is unpickled (``np.load(..., allow_pickle=False)``).

Stacks are never merged by accident: a TIFF page of several *separate* planes (what ``tifffile.imwrite(stack)`` writes
for a ``(3, H, W)`` array) is read as frames; colour samples (RGB/RGBA pictures, ``(H, W, 3)`` arrays) become one
grey image only when the channels are grey (equal within 2 % of the range), else the file is refused.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from .checks import check_input_file
from .image_checks import (  # noqa: F401 (re-exported: ImageData is read_image's result)
    MIN_SIDE_PX,
    ImageData,
    check_dtype,
    check_size,
    is_rgb_shape,
    to_float_image,
)
from .microscope_files import read_rsciio
from .pictures import read_pil
from .signals import Signal2DLike, check_not_signal1d, image_from_signal, is_signal2d
from .tiff import read_tiff


log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".npy", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".dm3", ".dm4", ".emd", ".ser")
OPTIONAL_EXTENSIONS = (".dm3", ".dm4", ".emd", ".ser")


def read_image(path: str | os.PathLike | Signal2DLike, *, allow_stack: bool = False, max_pixels: int = 2**28
               ) -> ImageData:
    """Read an image or a stack of images, with its pixel size when the file is calibrated.

    Parameters
    ----------
    path : str, path-like, or a hyperspy ``Signal2D``
        ``.npy`` (NumPy, never unpickled), ``.tif``/``.tiff`` (multi-page = stack; ImageJ or resolution-tag
        calibration), ``.png``/``.jpg``/``.jpeg`` (8/16-bit; RGB is converted to grayscale luminance),
        ``.dm3``/``.dm4``/``.emd`` (Velox, NCEM)/``.ser`` (needs ``pip install atomgraph[formats]``; calibration from
        the file, nm and pm converted to Å). RGB(A) pictures are accepted only when grey. A hyperspy ``Signal2D``
        (recognised by its ``axes_manager``; hyperspy is not imported) gives its data and the calibration of its
        signal axes (:mod:`atomgraph.io.signals`).
    allow_stack : bool, default False
        Accept a 3D stack ``(frames, H, W)``; otherwise a stack is an error.
    max_pixels : int, default 2**28
        Largest number of pixels (all frames together) accepted; bigger files are refused before allocating.

    Returns
    -------
    ImageData
        ``data`` as float32 (finite, not constant), ``pixel_size_A`` in Å per pixel or ``None``.

    Raises
    ------
    AtomgraphInputError
        For anything wrong with the file, in one line naming it.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "img.npy")
    >>> np.save(path, np.arange(12.0).reshape(3, 4))
    >>> image = read_image(path)
    >>> image.data.shape, image.data.dtype, image.pixel_size_A, image.frames
    ((3, 4), dtype('float32'), None, 1)
    """
    if is_signal2d(path):
        return image_from_signal(path, allow_stack=allow_stack)
    check_not_signal1d(path)
    path = Path(path)
    source = str(path)
    ext = _checked_extension(path, source)
    if ext == ".npy":
        data, pixel_size_A, rgb = _read_npy(path, source, max_pixels), None, None
    elif ext in (".tif", ".tiff"):
        data, pixel_size_A, rgb = read_tiff(path, source, max_pixels)
    elif ext in (".png", ".jpg", ".jpeg"):
        data, pixel_size_A, rgb = read_pil(path, source, max_pixels)
    else:
        data, pixel_size_A, rgb = read_rsciio(path, source, max_pixels)
    data = to_float_image(data, source, allow_stack=allow_stack, rgb=rgb)
    frames = 1 if data.ndim == 2 else data.shape[0]
    log.debug("read %s: shape %s, pixel size %s Å", source, data.shape, pixel_size_A)
    return ImageData(data=data, pixel_size_A=pixel_size_A, path=source, frames=frames)


# --------------------------------------------------------------------------------------------------------- checks
def _checked_extension(path: Path, source: str) -> str:
    """The file's lower-case extension, once the file is a readable regular file of a known image extension whose
    first bytes fit it (a refusal names what the contents look like)."""
    _check_file(path, source)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        kind = _sniff(path)
        hint = f" (its contents look like {kind})" if kind else ""
        raise AtomgraphInputError(
            f"unknown image extension '{path.suffix or '(none)'}'{hint}; use one of {', '.join(IMAGE_EXTENSIONS)}",
            source=source)
    _check_contents_match(path, ext, source)
    return ext


def _check_file(path: Path, source: str) -> None:
    check_input_file(path, source)


_MAGIC = [
    (b"\x93NUMPY", "a .npy array"),
    (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"II+\x00", "a TIFF image"),
    (b"MM\x00+", "a TIFF image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (.emd)"),
    (b"\x00\x00\x00\x03", "a DigitalMicrograph .dm3 file"),
    (b"\x00\x00\x00\x04", "a DigitalMicrograph .dm4 file"),
    (b"II\x97\x01", "a TIA .ser file"),
    (b"PK\x03\x04", "a zip archive (.npz?)"),
    (b"BM", "a BMP image"),
    (b"GIF8", "a GIF image"),
]
_EXPECTED = {".npy": "a .npy array", ".tif": "a TIFF image", ".tiff": "a TIFF image", ".png": "a PNG image",
             ".jpg": "a JPEG image", ".jpeg": "a JPEG image", ".emd": "an HDF5 file (.emd)",
             ".dm3": "a DigitalMicrograph .dm3 file", ".dm4": "a DigitalMicrograph .dm4 file",
             ".ser": "a TIA .ser file"}


def _head(path: Path, n: int = 512) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(n)


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * len(text)


def _sniff(path: Path) -> str | None:
    """What the first bytes say the file is (None when unknown)."""
    head = _head(path)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if _looks_like_text(head):
        return "text"
    return None


def _check_contents_match(path: Path, ext: str, source: str) -> None:
    """Refuse text posing as an image and files whose contents are another format than the extension says."""
    kind = _sniff(path)
    expected = _EXPECTED[ext]
    if kind == expected:
        return
    if kind == "text":
        raise AtomgraphInputError(f"is a text file, not {expected}", source=source)
    if kind is not None and not kind.startswith("a DigitalMicrograph"):
        raise AtomgraphInputError(f"has the extension {path.suffix} but its contents look like {kind}; "
                                  "rename or convert it", source=source)
    if ext in (".dm3", ".dm4"):
        return  # the DM magic is weak; let the reader judge
    raise AtomgraphInputError(f"is not {expected} (unrecognised contents; corrupt or wrong extension?)",
                              source=source)


# ------------------------------------------------------------------------------------------------------------ npy
def _read_npy(path: Path, source: str, max_pixels: int) -> np.ndarray:
    fmt = np.lib.format
    try:
        with open(path, "rb") as handle:
            version = fmt.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(handle)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = handle.tell()
    except Exception as exc:  # numpy raises ValueError/SyntaxError/... on bad headers
        raise AtomgraphInputError(f"is not a valid .npy file ({short_error(exc)})", source=source) from None
    check_dtype(dtype, source)
    check_size(shape, max_pixels, source)
    expected = math.prod(shape) * dtype.itemsize
    available = path.stat().st_size - offset
    if available < expected:
        raise AtomgraphInputError(f"is truncated ({available} of {expected} data bytes for shape {tuple(shape)})",
                                  source=source)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise AtomgraphInputError(f"is not a valid .npy file ({short_error(exc)})", source=source) from None
    return data
