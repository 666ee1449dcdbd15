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
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from .checks import check_input_file

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".npy", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".dm3", ".dm4", ".emd", ".ser")
OPTIONAL_EXTENSIONS = (".dm3", ".dm4", ".emd", ".ser")
# colour channels closer than this fraction of the image's range are "grey" (JPEG and palette rounding)
GREY_TOLERANCE = 0.02
MIN_SIDE_PX = 2
# length units found in calibrations -> Å per unit
_UNIT_TO_A = {
    "a": 1.0, "å": 1.0, "Å": 1.0, "angstrom": 1.0, "angstroms": 1.0, "ang": 1.0,
    "nm": 10.0, "nanometer": 10.0, "nanometers": 10.0, "nanometre": 10.0,
    "pm": 0.01, "picometer": 0.01,
    "um": 1e4, "µm": 1e4, "μm": 1e4, "micron": 1e4, "microns": 1e4, "micrometer": 1e4, "\\u00B5m": 1e4,
    "mm": 1e7, "cm": 1e8, "m": 1e10,
}
# a calibration outside this range (Å per pixel) is not an atomic-resolution calibration (e.g. 72 dpi)
_PLAUSIBLE_PIXEL_A = (1e-3, 1e3)


@dataclass
class ImageData:
    """An image read from a file.

    Attributes
    ----------
    data : ndarray of float32
        ``(H, W)`` image, or ``(frames, H, W)`` stack (only from ``read_image(..., allow_stack=True)``).
        Row i, column j is the pixel centred at ``x_px = j, y_px = i``.
    pixel_size_A : float or None
        Å per pixel from the file's calibration; ``None`` when the file has none (the user must give it).
    path : str
        The file read.
    frames : int
        Number of frames (1 for a 2D image).
    """

    data: np.ndarray
    pixel_size_A: float | None
    path: str
    frames: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of one frame, in pixels."""
        return tuple(self.data.shape[-2:])

    def frame(self, index: int) -> np.ndarray:
        """One 2D frame (the image itself when there is one frame)."""
        if self.data.ndim == 2:
            if index not in (0, -1):
                raise IndexError(f"frame {index} of a single image")
            return self.data
        return self.data[index]


def read_image(path: str | os.PathLike, *, allow_stack: bool = False, max_pixels: int = 2**28) -> ImageData:
    """Read an image or a stack of images, with its pixel size when the file is calibrated.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (NumPy, never unpickled), ``.tif``/``.tiff`` (multi-page = stack; ImageJ or resolution-tag
        calibration), ``.png``/``.jpg``/``.jpeg`` (8/16-bit; RGB is converted to grayscale luminance),
        ``.dm3``/``.dm4``/``.emd`` (Velox, NCEM)/``.ser`` (needs ``pip install atomgraph[formats]``; calibration from
        the file, nm and pm converted to Å). RGB(A) pictures are accepted only when grey.
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
    path = Path(path)
    source = str(path)
    _check_file(path, source)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        kind = _sniff(path)
        hint = f" (its contents look like {kind})" if kind else ""
        raise AtomgraphInputError(
            f"unknown image extension '{path.suffix or '(none)'}'{hint}; use one of {', '.join(IMAGE_EXTENSIONS)}",
            source=source)
    _check_contents_match(path, ext, source)
    if ext == ".npy":
        data, pixel_size_A, rgb = _read_npy(path, source, max_pixels), None, None
    elif ext in (".tif", ".tiff"):
        data, pixel_size_A, rgb = _read_tiff(path, source, max_pixels)
    elif ext in (".png", ".jpg", ".jpeg"):
        data, pixel_size_A, rgb = _read_pil(path, source, max_pixels)
    else:
        data, pixel_size_A, rgb = _read_rsciio(path, source, max_pixels)
    data = to_float_image(data, source, allow_stack=allow_stack, rgb=rgb)
    frames = 1 if data.ndim == 2 else data.shape[0]
    log.debug("read %s: shape %s, pixel size %s Å", source, data.shape, pixel_size_A)
    return ImageData(data=data, pixel_size_A=pixel_size_A, path=source, frames=frames)


# --------------------------------------------------------------------------------------------------------- checks
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


def _check_size(shape: tuple[int, ...], max_pixels: int, source: str) -> None:
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise AtomgraphInputError(f"has an invalid shape {shape}", source=source)
    if len(shape) in (0, 1):
        raise AtomgraphInputError(f"is a {len(shape)}D array of shape {shape}; an image is 2D", source=source)
    n = math.prod(shape)
    if n == 0:
        raise AtomgraphInputError(f"has no pixels (shape {shape})", source=source)
    if n > max_pixels:
        raise AtomgraphInputError(f"is too large ({'x'.join(map(str, shape))} = {n} pixels > {max_pixels}); "
                                  "crop or bin it first", source=source)


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
    _check_dtype(dtype, source)
    _check_size(shape, max_pixels, source)
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


def _check_dtype(dtype: np.dtype, source: str) -> None:
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf" or dtype.fields is not None or dtype.subdtype is not None:
        names = {"b": "boolean", "c": "complex", "O": "object (Python objects)", "U": "string", "S": "bytes",
                 "V": "structured/void", "M": "datetime", "m": "timedelta"}
        raise AtomgraphInputError(f"has {names.get(dtype.kind, str(dtype))} pixels (dtype {dtype}); "
                                  "an image needs integer or float pixels", source=source)


# ----------------------------------------------------------------------------------------------------------- tiff
def _read_tiff(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, float | None, bool]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise AtomgraphInputError("is a TIFF file without images", source=source)
            page = tif.pages.first
            series = tif.series[0]
            shape = tuple(series.shape)
            _check_size(shape, max_pixels, source)
            extra = [a for a in str(getattr(series, "axes", "")) if a not in "YXS"]
            if len(extra) > 1:  # e.g. an ImageJ hyperstack TZYX / TCYX: which axis is time is not for us to guess
                raise AtomgraphInputError(
                    f"is a hyperstack (axes {series.axes}, shape {'x'.join(map(str, shape))}); atomgraph reads one "
                    "image or one series of frames (frames, rows, cols): save a single channel/slice series",
                    source=source)
            _check_dtype(series.dtype, source)
            rgb = page.photometric in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR) \
                and page.samplesperpixel in (3, 4)
            # planes stored one after the other ("separate"), as tifffile.imwrite writes a (3, H, W) stack, are frames
            planar = rgb and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
            pixel_size_A = tiff_pixel_size_A(tif, page, source)
            try:
                data = series.asarray()
            except (ValueError, NotImplementedError, KeyError, RuntimeError) as exc:
                if "imagecodecs" in str(exc) or "compression" in str(exc).lower():
                    log.debug("tifffile cannot decode %s (%s); trying Pillow", source, exc)
                    data, _, rgb_pil = _read_pil(path, source, max_pixels)
                    return data, pixel_size_A, rgb_pil
                raise
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
                data = _apply_palette(data, page.colormap, source)
            if planar and data.ndim >= 3 and data.shape[-3] in (3, 4):
                return _planes_as_frames(data, source), pixel_size_A, False
            return data, pixel_size_A, rgb
    except AtomgraphInputError:
        raise
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:  # tifffile raises many types on corrupt files
        try:
            data, _, rgb = _read_pil(path, source, max_pixels)
            log.debug("tifffile failed on %s (%s); Pillow read it", source, exc)
            return data, None, rgb
        except AtomgraphInputError:
            pass
        raise AtomgraphInputError(f"is not a readable TIFF file ({short_error(exc)})", source=source) from None


def _planes_as_frames(data: np.ndarray, source: str) -> np.ndarray:
    """A page of separate planes ``(..., 3|4, H, W)`` -> frames ``(n, H, W)``; identical planes -> one image."""
    planes = data.reshape(-1, *data.shape[-2:])
    if all(np.array_equal(planes[0], plane) for plane in planes[1:]):
        return planes[0]
    log.info("%s: %d separate planes in one TIFF page read as %d frames", source, len(planes), len(planes))
    return planes


def _apply_palette(index: np.ndarray, colormap: np.ndarray, source: str) -> np.ndarray:
    """Palette indices -> the grey value of each palette entry (a colour palette is refused, see _rgb_to_grey)."""
    colormap = np.asarray(colormap, dtype=float)
    if colormap.ndim != 2 or colormap.shape[0] != 3:
        return index
    gray = _rgb_to_grey(colormap.T[None], source)[0]
    index = np.asarray(index)
    if index.dtype.kind not in "iu":
        return index
    return gray[np.clip(index, 0, len(gray) - 1)]


def tiff_pixel_size_A(tif, page, source: str) -> float | None:
    """Å per pixel from ImageJ metadata (``unit``) or resolution tags, when unambiguous; else None."""
    from tifffile import RESUNIT

    try:
        xres = page.tags.get("XResolution")
        yres = page.tags.get("YResolution")
        if xres is None:
            return None
        xr = xres.value[0] / xres.value[1] if xres.value[1] else 0.0
        yr = (yres.value[0] / yres.value[1] if yres.value[1] else 0.0) if yres is not None else xr
        if not (xr > 0 and yr > 0) or abs(xr - yr) > 1e-6 * max(xr, yr):
            return None  # non-square or missing: ambiguous
        unit_A = None
        ij = tif.imagej_metadata or {}
        unit = str(ij.get("unit", "")).strip()
        if unit:
            unit_A = _UNIT_TO_A.get(unit) or _UNIT_TO_A.get(unit.lower())
        elif not tif.is_imagej:
            resunit = page.tags.get("ResolutionUnit")
            if resunit is not None and resunit.value == RESUNIT.CENTIMETER:
                unit_A = 1e8
            elif resunit is not None and getattr(RESUNIT, "MILLIMETER", None) is not None \
                    and resunit.value == RESUNIT.MILLIMETER:
                unit_A = 1e7
            elif resunit is not None and getattr(RESUNIT, "MICROMETER", None) is not None \
                    and resunit.value == RESUNIT.MICROMETER:
                unit_A = 1e4
        if unit_A is None:
            return None  # inch (print dpi), none, or an unknown unit
        pixel_A = unit_A / xr
    except Exception as exc:  # odd tags: no calibration rather than failing the read
        log.debug("no usable calibration in %s (%s)", source, exc)
        return None
    if not (_PLAUSIBLE_PIXEL_A[0] <= pixel_A <= _PLAUSIBLE_PIXEL_A[1]):
        log.info("%s: ignoring calibration of %.3g Å per pixel (not atomic resolution)", source, pixel_A)
        return None
    return float(pixel_A)


# ------------------------------------------------------------------------------------------------------------ PIL
def _read_pil(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, None, bool]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                n_frames = int(getattr(im, "n_frames", 1) or 1)
                _check_size((n_frames, height, width) if n_frames > 1 else (height, width), max_pixels, source)
                frames = [_pil_to_array(frame) for frame in ImageSequence.Iterator(im)]
    except AtomgraphInputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AtomgraphInputError("is too large (Pillow refuses it as a decompression bomb)", source=source) \
            from None
    except UnidentifiedImageError:
        raise AtomgraphInputError("is not a readable image (unrecognised or corrupt contents)", source=source) \
            from None
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:  # truncated/corrupt data: OSError, SyntaxError, ValueError, struct.error ...
        raise AtomgraphInputError(f"is truncated or corrupt ({short_error(exc)})", source=source) from None
    frames = [_rgb_to_grey(f, source) if f.ndim == 3 else f for f in frames]
    if len({f.shape for f in frames}) > 1:
        raise AtomgraphInputError("has frames of different sizes", source=source)
    data = frames[0] if len(frames) == 1 else np.stack(frames)
    return data, None, False


def _pil_to_array(im) -> np.ndarray:
    """One PIL frame as a 2D grey array, or ``(H, W, 3|4)`` colour samples for :func:`_rgb_to_grey` to judge."""
    mode = im.mode
    if mode in ("1",):
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if mode in ("L", "I", "F") or mode.startswith("I;"):
        return np.asarray(im)
    if mode in ("P", "PA", "RGBA", "LA"):
        im = im.convert("RGBA")
    elif mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


# -------------------------------------------------------------------------------------------- dm3 / dm4 / emd
def _read_rsciio(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, float | None, bool]:
    ext = path.suffix.lower()
    try:
        if ext == ".emd":
            from rsciio.emd import file_reader
        elif ext == ".ser":
            from rsciio.tia import file_reader
        else:
            from rsciio.digitalmicrograph import file_reader
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("", "rsciio"):
            hint = 'the optional extra: pip install "atomgraph[formats]"'
        else:  # rosettasciio is there but one of its own optional packages (h5py for .emd) is not
            hint = f'{missing} (pip install "atomgraph[formats]" installs it)'
        raise AtomgraphInputError(f"reading {ext} needs {hint}", source=source) from None
    try:
        try:
            signals = file_reader(str(path), lazy=True)
        except TypeError:
            signals = file_reader(str(path))
    except MemoryError:
        raise AtomgraphInputError("is too large to read into memory", source=source) from None
    except Exception as exc:
        raise AtomgraphInputError(f"is not a readable {ext} file ({short_error(exc)})", source=source) from None
    signal = _pick_image_signal(signals)
    if signal is None:
        raise AtomgraphInputError(f"has no image in it (no 2D or 3D signal among {len(signals or [])})",
                                  source=source)
    data = signal["data"]
    shape = tuple(int(s) for s in np.shape(data))
    _check_size(shape, max_pixels, source)
    try:
        data = np.asarray(data.compute() if hasattr(data, "compute") else data)
    except Exception as exc:
        raise AtomgraphInputError(f"is truncated or corrupt ({short_error(exc)})", source=source) from None
    if data.dtype.kind == "V" and data.dtype.names and set("RGB") <= {n.upper()[:1] for n in data.dtype.names}:
        names = data.dtype.names
        data = np.stack([data[n].astype(float) for n in names[:3]], axis=-1)
        return data, _rsciio_pixel_size_A(signal, source), True
    _check_dtype(data.dtype, source)
    return data, _rsciio_pixel_size_A(signal, source), False


def _pick_image_signal(signals) -> dict | None:
    """The first signal with a 2D (or 3D) image: prefer 2D, then stacks."""
    candidates = [s for s in (signals or []) if isinstance(s, dict) and "data" in s]
    for ndim in (2, 3):
        for signal in candidates:
            if np.ndim(signal["data"]) == ndim:
                return signal
    return candidates[0] if candidates else None


def _rsciio_pixel_size_A(signal: dict, source: str) -> float | None:
    """Å per pixel from the last two axes' ``scale`` and ``units`` (nm -> Å); None if missing or unequal."""
    axes = signal.get("axes") or []
    if isinstance(axes, dict):
        axes = list(axes.values())
    spatial = [a for a in axes if isinstance(a, dict)][-2:]
    if len(spatial) < 2:
        return None
    sizes = []
    for axis in spatial:
        unit = str(axis.get("units", "") or "").strip()
        factor = _UNIT_TO_A.get(unit) or _UNIT_TO_A.get(unit.lower())
        try:
            scale = float(axis.get("scale", 1.0))
        except (TypeError, ValueError):
            return None
        if factor is None or not math.isfinite(scale) or scale <= 0:
            log.info("%s: no length calibration (units %r, scale %r)", source, unit, axis.get("scale"))
            return None
        sizes.append(abs(scale) * factor)
    if abs(sizes[0] - sizes[1]) > 1e-3 * max(sizes):
        log.info("%s: non-square pixels (%g, %g Å); pixel size not taken from the file", source, *sizes)
        return None
    if not (_PLAUSIBLE_PIXEL_A[0] <= sizes[0] <= _PLAUSIBLE_PIXEL_A[1]):
        return None
    return float(sizes[0])


# ------------------------------------------------------------------------------------------------ to float image
def is_rgb_shape(shape: tuple[int, ...]) -> bool:
    """(H, W, 3|4) with H, W > 4 is a colour image; (3, H, W) is a stack."""
    return len(shape) == 3 and shape[2] in (3, 4) and shape[0] > 4 and shape[1] > 4


def _rgb_to_grey(data: np.ndarray, source: str) -> np.ndarray:
    """Colour samples ``(..., H, W, 3|4)`` -> one grey image, only when they are grey.

    A HAADF image has one value per pixel. Channels that agree within :data:`GREY_TOLERANCE` of the image's range
    (a grey picture saved as RGB, a grey palette, JPEG rounding) are averaged; anything else (a colour map, an
    annotated picture, or a stack with the frame axis last) is refused, as is a varying alpha (transparency)
    channel.
    """
    data = np.asarray(data)
    channels = data.shape[-1]
    if channels == 4:
        alpha = data[..., 3]
        if alpha.size and alpha.min() != alpha.max():
            raise AtomgraphInputError("has a transparency (alpha) channel that varies; a HAADF image has one grey "
                                      "value per pixel: export the raw data or a grey picture", source=source)
    colour = data[..., :3].astype(np.float64)
    lo, hi = float(colour.min()), float(colour.max())
    spread = float(np.max(colour.max(axis=-1) - colour.min(axis=-1))) if colour.size else 0.0
    if spread > GREY_TOLERANCE * max(hi - lo, 1e-12):
        shape = "x".join(map(str, data.shape))
        raise AtomgraphInputError(
            f"has {channels} colour channels ({shape}) that differ (not a grey picture): a colour map, annotations, "
            f"or {channels} frames with the frame axis last? atomgraph needs the grey HAADF values: export the raw "
            "data, a grey picture, or a stack as (frames, rows, cols)", source=source)
    return colour.mean(axis=-1)


def to_float_image(data: np.ndarray, source: str, *, allow_stack: bool, rgb: bool | None) -> np.ndarray:
    data = np.asarray(data)
    _check_dtype(data.dtype, source)
    if rgb is None:
        rgb = is_rgb_shape(data.shape)
    if rgb and data.ndim >= 3 and data.shape[-1] in (3, 4):
        data = _rgb_to_grey(data, source)
    if data.ndim < 2:
        raise AtomgraphInputError(f"is a {data.ndim}D array of shape {data.shape}; an image is 2D", source=source)
    if data.ndim > 3:
        raise AtomgraphInputError(f"is a {data.ndim}D array of shape {data.shape}; an image is 2D "
                                  "(or a 3D stack of frames)", source=source)
    if data.ndim == 3:
        if not allow_stack:
            raise AtomgraphInputError(f"is a stack of {data.shape[0]} frames (shape {data.shape}); "
                                      "this command needs one 2D image", source=source)
        if data.shape[0] == 1:
            data = data[0]
    if min(data.shape[-2:]) < MIN_SIDE_PX:
        raise AtomgraphInputError(f"is {data.shape[-2]}x{data.shape[-1]} pixels; an image needs at least "
                                  f"{MIN_SIDE_PX} pixels on each side", source=source)
    with np.errstate(over="ignore", invalid="ignore"):
        out = data.astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        n_nan = int(np.isnan(out).sum())
        n_inf = int(bad.sum()) - n_nan
        parts = [f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else ""]
        raise AtomgraphInputError(f"has {' and '.join(p for p in parts if p)} pixels (of {out.size}); "
                                  "replace or crop them first", source=source)
    frames = out[None] if out.ndim == 2 else out
    for i, frame in enumerate(frames):
        lo, hi = float(frame.min()), float(frame.max())
        if lo == hi:
            where = "" if out.ndim == 2 else f"frame {i} "
            raise AtomgraphInputError(f"{where}is constant (every pixel = {lo:g}); there is nothing to find",
                                      source=source)
    return np.ascontiguousarray(out)
