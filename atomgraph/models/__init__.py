"""Models: the model files, where they are, the bundled weights, what a model is and how one is trained.

This package itself holds only the file layer, which imports no stage and no torch, so that the stages' loaders can
use it: the file format (:mod:`atomgraph.models.files`: safetensors weights with a JSON header and a JSON card beside
them, written atomically, checked against the card's sha256) and which files a model name stands for
(:mod:`atomgraph.models.paths`: bundled names, model folders, weights files, their cards). The bundled weights and
cards are package data in ``atomgraph/models/weights/``.

The rest builds on the stages, so it is imported from its own module, never from here:

- :class:`~atomgraph.models.model.Model` (one object per model: material, locator, classifier with calibration,
  novelty statistics, each read by the stages' own loaders on first use) and
  :func:`~atomgraph.models.model.load_model` are in :mod:`atomgraph.models.model`, and at the top level as
  ``atomgraph.Model`` and ``atomgraph.load_model``;
- :func:`~atomgraph.models.training.train_model`, which trains a whole model folder with the stage trainers, is in
  :mod:`atomgraph.models.training`.
"""

from .files import (MAX_HEADER_BYTES, card_path, n_parameters, read_header, read_model, verify_weights, write_card,
                    write_model)
from .paths import WEIGHTS_DIR, bundled_models, model_material, read_card, weights_path

__all__ = ["WEIGHTS_DIR", "weights_path", "read_card", "bundled_models", "model_material",
           "MAX_HEADER_BYTES", "read_header", "read_model", "write_model", "write_card", "card_path",
           "verify_weights", "n_parameters"]
