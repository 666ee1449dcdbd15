"""The README's napari screenshot: the atomgraph widget run on a real frame, in a real napari window.

Usage (needs ``pip install "atomgraph[napari]"`` and a display; headless: ``xvfb-run -a``):
    xvfb-run -a python benchmarks/napari_screenshot.py [--data /work/shared/data/real] [-o docs/img/napari_plugin.png]

Opens ``graphene_si_2nm.npy`` (experimental MADF, Nion UltraSTEM 60 kV, 0.078 Å/px; see SOURCES.md there), runs the
"Analyze (atomgraph)" widget with pixel size 0.078 Å/px and the graphene-si model, zooms on the Si and saves the
window (palette PNG, kept under 300 kB). Exits 0 with a message when the data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

FRAME = "graphene_si_2nm.npy"
PIXEL_SIZE_A = 0.078


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/real"))
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "img" /
                        "napari_plugin.png")
    args = parser.parse_args()
    if not (args.data / FRAME).is_file():
        print(f"{args.data / FRAME} not found; nothing to do")
        return 0
    import napari
    from PIL import Image

    from atomgraph.napari.widget import make_analyze_widget

    viewer = napari.Viewer(show=True, title="atomgraph in napari")
    viewer.window._qt_window.resize(1280, 800)
    layer = viewer.add_image(np.load(args.data / FRAME), name="graphene_si_2nm", colormap="gray")
    widget = make_analyze_widget(viewer)
    viewer.window.add_dock_widget(widget, name="Analyze (atomgraph)", area="right")
    widget.image.value = layer
    widget.pixel_size.value = str(PIXEL_SIZE_A)
    widget.run()
    defects = viewer.layers["graphene_si_2nm defects"]
    viewer.layers.selection.active = defects
    shot = viewer.screenshot(canvas_only=False, flash=False)
    picture = Image.fromarray(np.asarray(shot)[..., :3]).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.output, optimize=True)
    size_kB = args.output.stat().st_size / 1000
    print(f"{widget.status.value}\nlattice check: {widget.warnings.value}\n"
          f"wrote {args.output} ({picture.size[0]}x{picture.size[1]} px, {size_kB:.0f} kB)")
    viewer.close()
    return 0 if size_kB < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
