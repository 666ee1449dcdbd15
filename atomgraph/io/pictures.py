"""PNG and JPEG pictures (Pillow): 8/16-bit grey, palette and RGB(A) pictures (grey only)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import AtomgraphInputError, short_error
from .image_checks import check_size, rgb_to_grey


def read_pil(path: Path, source: str, max_pixels: int) -> tuple[np.ndarray, None, bool]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                n_frames = int(getattr(im, "n_frames", 1) or 1)
                check_size((n_frames, height, width) if n_frames > 1 else (height, width), max_pixels, source)
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
    frames = [rgb_to_grey(f, source) if f.ndim == 3 else f for f in frames]
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
