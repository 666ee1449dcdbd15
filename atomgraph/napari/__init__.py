"""The napari plugin (``pip install "atomgraph[napari]"``; manifest ``napari.yaml``, found through the
``napari.manifest`` entry point): a reader for ``analyze``/``track`` output folders, a widget that runs
:func:`atomgraph.analyze` on an image layer, and a writer that saves an edited Points layer as an Atoms CSV for
``atomgraph classify``. Only the widget imports napari (when napari creates it); the layer builders
(:mod:`.layers`), the reader and the writer are plain NumPy and run without it.
"""
