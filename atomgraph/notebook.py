"""How results look in Jupyter: ``_repr_html_`` of :class:`atomgraph.pipeline.Analysis` and
:class:`atomgraph.track.TrackResult` (its view, :func:`atomgraph.track.result.track_html`, is built from the pieces
here) — a compact summary table and a figure as an inline PNG (base64), written to memory only (no file, no display
server).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from .atoms import UNLABELED

#: Long side of the inline overlay, px (the saved overlay.png is up to 2048 px).
INLINE_MAX_PX = 512


def figure_png(fig, dpi: float, colors: int = 128) -> bytes:
    """``fig`` as PNG bytes (closed afterwards), reduced to a palette of ``colors`` (a noisy frame's full-colour PNG
    is 2-3x larger, which every saved notebook would carry)."""
    import matplotlib.pyplot as plt
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    plt.close(fig)
    picture = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    picture.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def img_tag(png: bytes, alt: str, width_px: int | None = None) -> str:
    """An ``<img>`` holding ``png`` inline."""
    width = f' width="{int(width_px)}"' if width_px else ""
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{html.escape(alt)}"'
            f'{width}/>')


def table_html(header: list[str], rows: list[list], caption: str) -> str:
    """A small HTML table (cells escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table><caption style="text-align:left">{html.escape(caption)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table>")


def analysis_html(result) -> str:
    """Summary (nodes and defects per label, model, pixel size, time) and the overlay of an ``Analysis``."""
    sites = result.label_counts()
    defects = result.defect_counts()
    rows = [[label or UNLABELED, n, defects.get(label, 0)] for label, n in sites.items()]
    rows += [[label, "", n] for label, n in defects.items() if label not in sites]
    n_vac = int(np.sum(result.atoms.vacancy))
    atoms = result.atoms
    flags = [f"{int(np.sum(value))} {name}" for name, value in
             (("uncertain", atoms.uncertain), ("novel", atoms.novel), ("masked", atoms.masked)) if value is not None]
    caption = (f"{len(result.atoms)} nodes ({n_vac} vacancy), {len(result.defects)} defects · model {result.model} · "
               f"{result.pixel_size_A:.4g} Å/px · {result.image.shape[1]}×{result.image.shape[0]} px"
               + (f" · {', '.join(flags)}" if flags else "")
               + (f" · {result.timings_s['total']:.2f} s" if "total" in result.timings_s else ""))
    table = table_html(["label", "sites", "defects"], rows, caption)
    for warning in getattr(result, "warnings", []) or []:
        table += f'<p style="color:#b35900">warning: {html.escape(str(warning))}</p>'
    h, w = result.image.shape[-2:]
    fig = result.plot(max_px=INLINE_MAX_PX)
    dpi = INLINE_MAX_PX * min(1.0, h / max(h, w)) / fig.get_size_inches()[1]
    png = figure_png(fig, dpi=dpi)
    return (f'<div style="display:flex;gap:1em;align-items:flex-start"><div>{table}</div>'
            f'<div>{img_tag(png, "atomgraph overlay", width_px=min(INLINE_MAX_PX, 480))}</div></div>')

