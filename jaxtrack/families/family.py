"""What a tracker family declares: its model builder, its training task and its published tracker settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import ml_collections

from jaxtrack.models.siamese import SiameseTracker
from jaxtrack.track import siamese as siamese_track
from jaxtrack.train import losses, tasks


@dataclasses.dataclass(frozen=True)
class Family:
    """A registered tracker family.

    Attributes:
      name: `config.model.name`.
      build: `build(**config.model.kwargs) -> SiameseTracker`.
      task: the training task class (`train.tasks`: targets + loss on the head's outputs).
      weights: the published loss weights (config.task.cls_weight / loc_weight override them).
      tracker: the published tracker settings (`track.siamese` SiamFCConfig / RPNConfig / BANConfig); their type
        picks the decoding.
      evaluated: listed by the synthetic evaluation (`experiments/eval_synthetic.py`).
      tracker_class: what runs it: `tracker_class(name, model, tracker settings, variables)` (`track.siamese.Tracker`,
        or `track.siammask.MaskTracker` with masks and rotated boxes).
    """

    name: str
    build: Callable[..., SiameseTracker]
    task: type[tasks.SiameseTask]
    weights: losses.LossWeights
    tracker: Any
    evaluated: bool = True
    tracker_class: type = siamese_track.Tracker

    def make_task(self, config: ml_collections.ConfigDict) -> tasks.SiameseTask:
        """The task of `config.model.kwargs` with the settings of `config.task` (`tasks.default_config()`)."""
        cfg = {**tasks.default_config().to_dict(), **config.task.to_dict()}
        unknown = sorted(set(cfg) - set(tasks.default_config()))
        if unknown:
            raise KeyError(f"config.task: unknown fields {unknown}; valid: {sorted(tasks.default_config())}")
        weights = dataclasses.replace(self.weights, **{k: cfg[f"{k}_weight"] for k in ("cls", "loc", "mask")
                                                       if cfg[f"{k}_weight"] is not None})
        options = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in cfg["targets"].items()}
        model = self.build(**config.model.kwargs.to_dict())
        return self.task(model, cfg["normalize"], options, weights, cfg["neg_weight"], cfg["reg_weight"])

    def tracker_config(self, normalize: str | None = None, overrides: dict | None = None):
        """The published tracker settings with the model's input normalisation and `overrides` (lists -> tuples)."""
        fields = {f.name for f in dataclasses.fields(self.tracker)}
        given = {**({"normalize": normalize} if normalize else {}), **dict(overrides or {})}
        unknown = sorted(set(given) - fields)
        if unknown:
            raise KeyError(f"tracker settings {unknown} are not fields of {type(self.tracker).__name__}; valid: "
                           f"{sorted(fields)}")
        return dataclasses.replace(self.tracker, **{k: tuple(v) if isinstance(v, list) else v
                                                    for k, v in given.items()})
