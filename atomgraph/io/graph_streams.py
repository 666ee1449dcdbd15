"""GraphML and node-link JSON written block by block from a graph's arrays, never as one ``networkx.Graph``.

``networkx.write_graphml`` and ``json.dump(networkx.node_link_data(...))`` first build a Python dict per node and per
edge (about 2 kB per node with our ~60 attributes) and then the whole document: a 10⁶-node graph took more than
8 GB. These writers produce the same documents — what ``networkx.read_graphml`` and ``networkx.node_link_graph``
read back into the same graph, with the same attribute names, types and values — from :meth:`AtomGraph.node_attributes`
columns, :data:`BLOCK` nodes or edges at a time, one ``%`` template per row (C-level formatting), so memory stays
at the arrays plus one block of text.

Value text follows networkx: GraphML writes ``str()`` of the Python value (floats as ``repr``, ``nan``/``inf``
included, booleans ``True``/``False``) with ``attr.type`` ``double``, ``long``, ``boolean`` or ``string``; JSON
writes finite floats as ``repr``, non-finite as ``null`` (strict JSON, as :func:`atomgraph.io.graphs.write_json` did
before), booleans ``true``/``false`` and strings JSON-quoted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO
from xml.sax.saxutils import escape, quoteattr

import numpy as np

if TYPE_CHECKING:
    from ..graph import AtomGraph

BLOCK = 16384  # nodes or edges formatted per block

_GRAPHML_HEAD = ("<?xml version='1.0' encoding='utf-8'?>\n"
                 '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                 'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                 'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')


def _graphml_type(values: np.ndarray) -> str:
    kind = values.dtype.kind
    return {"b": "boolean", "i": "long", "u": "long", "f": "double"}.get(kind, "string")


def _scalar_type(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "long"
    if isinstance(value, (float, np.floating)):
        return "double"
    return "string"


def _graphml_cells(values: np.ndarray) -> list:
    """One block of a column as what ``'%s' %`` turns into networkx's text (strings XML-escaped)."""
    if values.dtype.kind in "biuf":
        return values.tolist()
    return [escape(str(v)) for v in values.tolist()]


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, BLOCK):
        yield slice(start, min(n, start + BLOCK))


def write_graphml_stream(graph: AtomGraph, handle: TextIO) -> None:
    """Write ``graph`` as GraphML (the document ``networkx.write_graphml`` writes for ``graph.to_networkx()``)."""
    graph_attrs = graph.graph_attributes()
    columns = {name: np.asarray(values) for name, values in graph.node_attributes().items()}
    keys: list[tuple[str, str, str, str]] = []  # (id, for, name, type) in networkx's order: graph, node, edge
    for name, value in graph_attrs.items():
        keys.append((f"d{len(keys)}", "graph", name, _scalar_type(value)))
    node_keys = {}
    for name, values in columns.items():
        node_keys[name] = f"d{len(keys)}"
        keys.append((node_keys[name], "node", name, _graphml_type(values)))
    src, dst, length = graph.edges_once()
    edge_key = f"d{len(keys)}"
    if len(src):
        keys.append((edge_key, "edge", "length_A", "double"))
    handle.write(_GRAPHML_HEAD)
    for key_id, kind, name, type_ in reversed(keys):  # networkx inserts each new key before the others
        handle.write(f'  <key id="{key_id}" for="{kind}" attr.name={quoteattr(name)} attr.type="{type_}" />\n')
    handle.write('  <graph edgedefault="undirected">\n')
    node_template = ('    <node id="%s">\n' + "".join(f'      <data key="{node_keys[name]}">%s</data>\n'
                                                         for name in columns) + "    </node>\n")
    index = np.arange(graph.num_nodes)
    for block in _blocks(graph.num_nodes):
        cells = [index[block].tolist()] + [_graphml_cells(values[block]) for values in columns.values()]
        handle.write("".join(node_template % row for row in zip(*cells)))
    edge_template = f'    <edge source="%s" target="%s">\n      <data key="{edge_key}">%s</data>\n    </edge>\n'
    for block in _blocks(len(src)):
        handle.write("".join(edge_template % row for row in zip(src[block].tolist(), dst[block].tolist(),
                                                                length[block].astype(float).tolist())))
    for (key_id, _, _, _), value in zip(keys, graph_attrs.values()):
        text = escape(str(value.item() if hasattr(value, "item") else value))
        handle.write(f'    <data key="{key_id}">{text}</data>\n')
    handle.write("  </graph>\n</graphml>\n")


def _json_cells(values: np.ndarray) -> list[str]:
    """One block of a column as JSON value texts (non-finite floats as ``null``)."""
    kind = values.dtype.kind
    if kind == "b":
        return ["true" if v else "false" for v in values.tolist()]
    if kind in "iu":
        return [str(v) for v in values.tolist()]
    if kind == "f":
        finite = np.isfinite(values).tolist()
        return [repr(v) if ok else "null" for v, ok in zip(values.astype(float).tolist(), finite)]
    return [json.dumps(str(v)) for v in values.tolist()]


def _json_scalar(value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json_stream(graph: AtomGraph, handle: TextIO) -> None:
    """Write ``graph`` as node-link JSON (``networkx.node_link_data(graph.to_networkx(), edges="edges")``, NaN and
    inf as ``null``)."""
    graph_attrs = {k: _json_scalar(v) for k, v in graph.graph_attributes().items()}
    columns = {name: np.asarray(values) for name, values in graph.node_attributes().items()}
    names = [name for name in columns if name != "id"]  # node-link's "id" is the node key (its index)
    handle.write('{"directed": false, "multigraph": false, "graph": ')
    handle.write(json.dumps(graph_attrs, allow_nan=False))
    handle.write(', "nodes": [')
    node_template = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in names) + ', "id": %s}'
    index = np.arange(graph.num_nodes)
    first = True
    for block in _blocks(graph.num_nodes):
        cells = [_json_cells(columns[name][block]) for name in names] + [index[block].tolist()]
        handle.write(("" if first else ", ") + ", ".join(node_template % row for row in zip(*cells)))
        first = False
    handle.write('], "edges": [')
    src, dst, length = graph.edges_once()
    first = True
    for block in _blocks(len(src)):
        text = ", ".join('{"length_A": %s, "source": %s, "target": %s}' % row
                         for row in zip(_json_cells(length[block]), src[block].tolist(), dst[block].tolist()))
        handle.write(("" if first else ", ") + text)
        first = False
    handle.write("]}")
