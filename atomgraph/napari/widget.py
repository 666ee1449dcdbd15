"""The napari widget: run :func:`atomgraph.analyze` on an image layer and add the results as layers.

Pick the image layer (a movie: the frame the viewer shows), the model and the pixel size (Å/px: a number, or
``auto`` to measure it from the lattice; the layer's ``metadata["pixel_size_A"]`` is offered when it has one). The
pixel size is checked against the lattice the image shows first (:func:`atomgraph.check_lattice_scale`): its
warnings, and the analysis's own (``Analysis.warnings``: many nodes masked, and why), are shown in the widget and as
napari notifications, and a pixel size that cannot fit stops the run with
one line. The results come back as the reader's layers (:mod:`atomgraph.napari.layers`), named after the image and
placed on it (same scale and translation). Progress: a bar over the four steps (check, analyze, layers, done).
The analysis runs in the GUI thread (about a second for a 1024² frame on two cores).

napari and magicgui are imported here only, when napari creates the widget.
"""

from __future__ import annotations

import numpy as np

from ..errors import AtomgraphInputError
from ..pipeline import analyze, check_scale
from ..scale import bundled_model_names, check_lattice_scale
from .layers import analysis_layers

STEPS = ("check the pixel size against the lattice", "analyze", "add layers", "done")


def graph_edges(graph) -> np.ndarray:
    """(E, 2) node rows of each undirected edge once (``i < j``) from an AtomGraph's ``edge_index``."""
    src, dst, _ = graph.edges_once()
    return np.column_stack([src, dst]).astype(np.int64)


def parse_pixel_size(text: str) -> float | str:
    """``"auto"`` or a positive number of Å/px from the widget's text box; anything else is an input error."""
    text = str(text).strip().lower()
    if text in ("", "auto"):
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value > 0):
        raise AtomgraphInputError(f"pixel size {text!r} is neither a positive number of Å/px nor 'auto'")
    return value


def make_analyze_widget(napari_viewer):
    """The magicgui Container napari docks (npe2 ``widgets`` contribution; ``napari_viewer`` is injected).

    Attributes set on it: ``image``, ``model``, ``pixel_size`` (inputs), ``run_button``, ``progress``, ``status``,
    ``warnings`` (the lattice check's), ``result`` (the last :class:`atomgraph.pipeline.Analysis`) and ``run()``."""
    from magicgui.widgets import ComboBox, Container, LineEdit, ProgressBar, PushButton, TextEdit
    from napari.layers import Image

    viewer = napari_viewer

    def images(_widget=None):
        return [layer for layer in viewer.layers if isinstance(layer, Image)]

    widget = Container(labels=True)
    widget.viewer = viewer
    widget.image = ComboBox(label="image", choices=images)
    widget.model = ComboBox(label="model", choices=bundled_model_names(), value="graphene-si")
    widget.pixel_size = LineEdit(label="pixel size (Å/px)", value="auto")
    widget.run_button = PushButton(text="Analyze")
    widget.progress = ProgressBar(label="progress", min=0, max=len(STEPS) - 1, value=0)
    widget.status = TextEdit(label="status", value="")
    widget.warnings = TextEdit(label="checks", value="")
    widget.result = None
    widget.extend([widget.image, widget.model, widget.pixel_size, widget.run_button, widget.progress,
                   widget.status, widget.warnings])
    for text in (widget.status, widget.warnings):  # read-only text boxes: long lines wrap, nothing is cut
        text.native.setReadOnly(True)
        text.native.setMaximumHeight(72)

    def layer_changed(layer):
        size = (getattr(layer, "metadata", None) or {}).get("pixel_size_A")
        if size:
            widget.pixel_size.value = f"{float(size):.6g}"

    def refresh(_event=None):
        widget.image.reset_choices()

    viewer.layers.events.inserted.connect(refresh)
    viewer.layers.events.removed.connect(refresh)
    widget.image.changed.connect(layer_changed)
    if widget.image.value is not None:
        layer_changed(widget.image.value)
    widget.run = lambda: run_analysis(widget)
    widget.run_button.changed.connect(lambda _v=None: widget.run())
    return widget


def _frame(viewer, layer) -> np.ndarray:
    """The 2D frame of ``layer`` the viewer shows (the layer itself when it is 2D)."""
    data = np.asarray(layer.data)
    if data.ndim == 2:
        return data
    if data.ndim == 3 and not getattr(layer, "rgb", False):
        step = viewer.dims.current_step[-3] if len(viewer.dims.current_step) >= 3 else 0
        return data[int(min(max(step, 0), len(data) - 1))]
    raise ValueError(f"layer {layer.name!r} has shape {data.shape}; atomgraph analyzes 2D grey images")


def _step(widget, k: int) -> None:
    widget.progress.value = k
    widget.status.value = STEPS[k]
    try:
        from qtpy.QtWidgets import QApplication

        QApplication.processEvents()
    except Exception:  # noqa: BLE001 (no Qt event loop: nothing to repaint)
        pass


def run_analysis(widget) -> list:
    """Check, analyze, add layers; returns the layers added (empty when the input was refused)."""
    from napari.utils.notifications import show_error, show_warning

    viewer, layer = widget.viewer, widget.image.value
    widget.warnings.value = ""
    if layer is None:
        widget.status.value = "no image layer: open an image first"
        return []
    model = widget.model.value
    try:
        image = np.asarray(_frame(viewer, layer), dtype=np.float32)
        pixel_size = parse_pixel_size(widget.pixel_size.value)
        _step(widget, 0)
        if pixel_size != "auto":
            check_scale(image.shape, pixel_size, model)
        check = check_lattice_scale(image, model, pixel_size)
    except (AtomgraphInputError, ValueError) as exc:
        widget.status.value = f"refused: {exc}"
        show_error(f"atomgraph: {exc}")
        return []
    notes = list(check.warnings)
    if pixel_size == "auto":
        notes.append(f"pixel size measured from the {check.material} lattice: {check.pixel_size_A:.4g} Å/px")
    widget.warnings.value = "\n".join(notes) or "pixel size agrees with the lattice"
    for note in check.warnings:
        show_warning(f"atomgraph: {note}")
    _step(widget, 1)
    result = analyze(image, model=model, pixel_size_A=check.pixel_size_A)
    widget.result = result
    frame_notes = list(getattr(result, "warnings", []) or [])  # e.g. many nodes masked, and why
    if frame_notes:
        widget.warnings.value = "\n".join(notes + frame_notes)
        for note in frame_notes:
            show_warning(f"atomgraph: {note}")
    _step(widget, 2)
    layers = analysis_layers(None, result.atoms_frame(), result.defects_frame(), graph_edges(result.graph),
                             pixel_size_A=result.pixel_size_A, model=model)
    added = []
    for data, kwargs, kind in layers:
        kwargs = dict(kwargs, name=f"{layer.name} {kwargs['name']}", scale=tuple(layer.scale[-2:]),
                      translate=tuple(layer.translate[-2:]))
        added.append(getattr(viewer, f"add_{kind}")(data, **kwargs))
    _step(widget, 3)
    counts = result.defect_counts()
    n = len(result.defects)
    widget.status.value = (f"{len(result.atoms)} nodes, {n} defect{'' if n == 1 else 's'}"
                           + (": " + ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "")
                           + f" ({result.timings_s.get('total', 0):.2f} s)")
    return added
