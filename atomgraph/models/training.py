"""One command for a whole model: ``atomgraph train model --config configs/X.yaml -o MODEL_DIR``.

A model folder holds ``locator-<material>.safetensors`` and ``classifier-<material>.safetensors`` with a card each
(calibration is part of the classifier's training), ``config.yaml`` (the material, so the folder stands alone) and
``model.json`` (config, seeds, durations, the two cards'
sha256). It is usable as ``--model MODEL_DIR`` wherever a bundled name is. The run is resumable: a stage whose
weights and card are already in the folder is kept (the classifier is retrained when its locator was), so rerunning
the same command after an interruption finishes the job; ``force`` starts over.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import yaml

from ..classify.train import train_classifier
from ..errors import AtomgraphInputError
from ..io.safe_write import atomic_output
from ..locate.train import DEFAULT_STEPS, train_locator
from ..materials import get_material

log = logging.getLogger(__name__)


def _done(weights: Path) -> bool:
    """A stage is done when its weights and its card are both written (each is written atomically)."""
    return weights.is_file() and weights.with_suffix(".json").is_file()


def train_model(config: str | Path, output: str | Path, *, seed: int = 0, locator_minutes: float | None = None,
                locator_steps: int | None = None, classifier_minutes: float | None = None, progress: bool = True,
                force: bool = False) -> dict:
    """Train the locator, then the classifier on that locator's output, into the model folder ``output``.

    Parameters
    ----------
    config : material config (YAML path or built-in name).
    output : model folder (created; an existing one is resumed unless ``force``).
    seed : seed of both trainings.
    locator_minutes, locator_steps : the locator's budget (default: its steps, about 14 min on 2 cores).
    classifier_minutes : the classifier's budget (default: the config's ``classifier.minutes``, 10).

    Returns
    -------
    dict
        The folder's ``model.json``: material, config, seed, per stage the sha256 of its weights, whether it was
        trained in this run, and seconds.
    """
    mat = get_material(config)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise AtomgraphInputError("model folder exists and is not a folder", source=str(output))
    output.mkdir(parents=True, exist_ok=True)
    with atomic_output(output / "config.yaml", True) as handle:  # the folder is self-contained: its own material
        handle.write(yaml.safe_dump(mat.config, sort_keys=False))
    locator = output / f"locator-{mat.name}.safetensors"
    classifier = output / f"classifier-{mat.name}.safetensors"
    summary = {"material": mat.name, "config": str(config), "seed": seed, "stages": {}}
    t0 = time.perf_counter()
    fresh = force or not _done(locator)
    if fresh:
        train_locator(config, locator, seed=seed, minutes=locator_minutes, progress=progress, force=True,
                      steps=locator_steps or DEFAULT_STEPS)
    summary["stages"]["locator"] = {"trained": fresh, "seconds": round(time.perf_counter() - t0, 1)}
    t1 = time.perf_counter()
    retrain = fresh or force or not _done(classifier)
    if retrain:
        train_classifier(config, classifier, seed=seed, minutes=classifier_minutes, progress=progress, force=True,
                         locator=locator)
    summary["stages"]["classifier"] = {"trained": retrain, "seconds": round(time.perf_counter() - t1, 1)}
    for stage, weights in (("locator", locator), ("classifier", classifier)):
        card = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
        summary["stages"][stage]["sha256"] = card.get("sha256")
    with atomic_output(output / "model.json", True) as handle:
        handle.write(json.dumps(summary, indent=1))
    log.info("model folder %s: locator %s, classifier %s", output, "trained" if fresh else "kept",
             "trained" if retrain else "kept")
    return summary
