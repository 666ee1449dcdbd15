"""One model file format for every trainer: safetensors weights with JSON metadata, and a JSON card beside them.

``NAME.safetensors`` holds float tensors and a string-to-string header whose values are JSON (what a loader needs
to rebuild the network); ``NAME.json`` is the model card (config, seeds, data, metrics, ``sha256`` and
``weights_bytes`` of the weights file). Both are written atomically (temporary file, then rename) and readable by
all; loading never unpickles.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AtomgraphInputError
from ..io.safe_write import atomic_path

if TYPE_CHECKING:  # torch is imported by the functions that handle tensors, not by readers of headers
    import numpy as np
    import torch
    from torch import nn

#: a safetensors header longer than this is not one of ours (the format itself caps it at 100 MB)
MAX_HEADER_BYTES = 16 * 1024 * 1024


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of a network (what a model card records).

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Returns
    -------
    int
        Elements of its parameters that require a gradient.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def card_path(weights: str | Path) -> Path:
    """The card (``.json``) beside a weights file.

    Parameters
    ----------
    weights : str or Path
        The ``.safetensors`` file.

    Returns
    -------
    Path
        ``weights`` with the suffix ``.json`` (whether or not it exists).
    """
    return Path(weights).with_suffix(".json")


def write_card(weights: str | Path, card: dict) -> None:
    """Write a model card as JSON beside its weights, atomically, replacing an older card of the same weights.

    Parameters
    ----------
    weights : str or Path
        The ``.safetensors`` file the card describes.
    card : dict
        JSON-serialisable card (config, seeds, data, metrics, ``sha256``, ``weights_bytes``).
    """
    path = card_path(weights)
    with atomic_path(path, True) as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    path.chmod(0o644)


def write_model(output: str | Path, tensors: dict[str, torch.Tensor], header: dict, card: dict,
                force: bool = False) -> dict:
    """Write weights and the card beside them, each atomically and readable by all.

    Parameters
    ----------
    output : str or Path
        The ``.safetensors`` file to write; its card goes to the ``.json`` of the same name.
    tensors : dict of str to torch.Tensor
        The network's tensors, stored as float32.
    header : dict
        What a loader needs to rebuild the network; each value is stored JSON-encoded in the safetensors header.
    card : dict
        The model card (config, seeds, data, metrics).
    force : bool, default False
        Replace an existing ``output`` (else refused).

    Returns
    -------
    dict
        The card as written: ``card`` with ``sha256`` and ``weights_bytes`` of the written weights.
    """
    from safetensors.torch import save_file

    output = Path(output)
    state = {k: v.detach().float().contiguous() for k, v in tensors.items()}
    with atomic_path(output, force) as tmp:
        save_file(state, str(tmp), metadata={k: json.dumps(v) for k, v in header.items()})
    output.chmod(0o644)
    card = {**card, "sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
            "weights_bytes": output.stat().st_size}
    write_card(output, card)
    return card


def read_header(path: str | Path) -> dict:
    """The JSON-decoded header of a weights file written by :func:`write_model`, read without torch.

    A safetensors file starts with the header's length (8 bytes, little-endian) and the header as JSON, whose
    ``__metadata__`` holds our string values.

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file.

    Returns
    -------
    dict
        The header (``{'architecture': ..., 'meta': ...}`` for a classifier).

    Raises
    ------
    OSError or ValueError
        A file that cannot be read, or is not one of ours.
    """
    with open(path, "rb") as handle:
        start = handle.read(8)
        if len(start) != 8:
            raise ValueError("too short for a safetensors file")
        (size,) = struct.unpack("<Q", start)
        if size > MAX_HEADER_BYTES:
            raise ValueError(f"safetensors header of {size} bytes announced: not a weights file")
        raw = handle.read(size)
    try:
        metadata = json.loads(raw.decode("utf-8")).get("__metadata__") or {}
        return {k: json.loads(v) for k, v in metadata.items()}
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, TypeError) as err:
        raise ValueError(f"weights header is not JSON ({err})") from None


def read_model(path: str | Path, framework: str = "pt") -> tuple[dict[str, torch.Tensor | np.ndarray], dict]:
    """Tensors and the JSON-decoded header of a weights file written by :func:`write_model`; never unpickles.

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file.
    framework : str, default "pt"
        ``"pt"`` (torch tensors, for training) or ``"numpy"`` (NumPy arrays, for inference: torch is not imported).

    Returns
    -------
    tuple of (dict, dict)
        The tensors by name, and the header.

    Raises
    ------
    OSError or ValueError
        A file that cannot be read, or is not one of ours.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework=framework) as handle:
            state = {k: handle.get_tensor(k) for k in handle.keys()}
            header = handle.metadata() or {}
    except SafetensorError as err:
        raise ValueError(str(err)) from None
    try:
        return state, {k: json.loads(v) for k, v in header.items()}
    except json.JSONDecodeError as err:
        raise ValueError(f"weights header is not JSON ({err})") from None


def verify_weights(path: str | Path) -> None:
    """Refuse a weights file whose sha256 is not the one its card records: a changed or damaged file is never loaded.

    Weights without a card, or with a card that records no sha256, pass (their loaders decide what a card must
    hold).

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file; its card is the ``.json`` beside it.

    Raises
    ------
    AtomgraphInputError
        The file's sha256 differs from the card's.
    """
    card = card_path(path)
    if not card.is_file():
        return
    try:
        expected = json.loads(card.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return  # the loader reports an unreadable card
    if not expected:
        return
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != str(expected).lower():
        raise AtomgraphInputError(f"weights do not match the sha256 their model card records ({card.name}: "
                                  f"{str(expected)[:12]}..., file: {digest.hexdigest()[:12]}...): the file was changed "
                                  "or damaged; reinstall atomgraph or retrain the model", source=str(path))
