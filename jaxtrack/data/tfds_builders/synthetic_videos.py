"""TFDS builder of the synthetic tracking + summarization videos (`jaxtrack.data.synthetic`)."""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import tensorflow_datasets as tfds

from jaxtrack.data import synthetic
from jaxtrack.data.tfds_builders.common import ENCODINGS, LAYOUTS, VideoBuilder, VideoBuilderConfig, named_config

_SPLIT_FIELDS = {"train": "num_train", "val": "num_val", "test": "num_test"}


@dataclasses.dataclass(eq=False)
class SyntheticVideosConfig(VideoBuilderConfig):
    """Sizes and seed of the generated splits, frame encoding ("jpeg" q95, default: decodes ~3x faster than PNG,
    which the 400 pairs/s input target needs on 2 cores; "png": lossless);
    `num_workers` only parallelises generation (not in the name)."""

    synthetic: synthetic.SyntheticConfig = dataclasses.field(default_factory=synthetic.SyntheticConfig)
    num_train: int = 300
    num_val: int = 50
    num_test: int = 50
    seed: int = 0
    image_format: str = "jpeg"
    num_workers: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.image_format not in ENCODINGS:
            raise ValueError(f"{self.name!r}: image_format must be one of {sorted(ENCODINGS)}, "
                             f"got {self.image_format!r}")

    def content(self) -> dict:
        """Everything that determines the generated data."""
        return {"synthetic": dataclasses.asdict(self.synthetic), "seed": self.seed, "image_format": self.image_format,
                **{f: getattr(self, f) for f in _SPLIT_FIELDS.values()}}


class SyntheticVideos(VideoBuilder):
    """Synthetic videos: textured target, look-alike distractors, occluders, shots, simulated annotators."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release.",
                                               "1.1.0": "Frames carry the target's mask (label 1, visible part)."}
    BUILDER_CONFIGS: ClassVar[list] = [SyntheticVideosConfig(name=layout, layout=layout) for layout in LAYOUTS]
    MASKS = True

    @classmethod
    def make_config(cls, layout: str, **options) -> str | SyntheticVideosConfig:
        """`options`: any `SyntheticConfig` field, num_train/num_val/num_test, seed, image_format, num_workers.
        Non-default content gets the config name `<layout>_<digest of the content>`."""
        if layout not in LAYOUTS:
            raise ValueError(f"{cls.name}: layout must be one of {LAYOUTS}, got {layout!r}")
        synth_fields = {f.name for f in dataclasses.fields(synthetic.SyntheticConfig)}
        own_fields = {*_SPLIT_FIELDS.values(), "seed", "image_format", "num_workers"}
        unknown = sorted(set(options) - synth_fields - own_fields)
        if unknown:
            raise TypeError(f"{cls.name}: unknown options {unknown}; valid: {sorted(synth_fields | own_fields)}")
        config = SyntheticVideosConfig(
            name=layout, layout=layout,
            synthetic=synthetic.SyntheticConfig(**{k: v for k, v in options.items() if k in synth_fields}),
            **{k: v for k, v in options.items() if k in own_fields})
        return named_config(config, SyntheticVideosConfig(name=layout, layout=layout), layout)

    def _image_format(self) -> str:
        return self.builder_config.image_format

    def _split_videos(self, dl_manager):
        cfg = self.builder_config
        return {split: functools.partial(synthetic.iter_videos, getattr(cfg, field), seed=cfg.seed,
                                         config=cfg.synthetic, split=split, num_workers=cfg.num_workers)
                for split, field in _SPLIT_FIELDS.items() if getattr(cfg, field) > 0}
