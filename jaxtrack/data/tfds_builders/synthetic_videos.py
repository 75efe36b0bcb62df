"""TFDS builder of the synthetic tracking + summarization videos (`jaxtrack.data.synthetic`)."""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import tensorflow_datasets as tfds

from jaxtrack.data import synthetic
from jaxtrack.data.tfds_builders.common import LAYOUTS, GeneratedConfig, VideoBuilder


@dataclasses.dataclass(eq=False)
class SyntheticVideosConfig(GeneratedConfig):
    """Sizes and seed of the generated splits, frame encoding ("jpeg" q95, default: decodes ~3x faster than PNG,
    which the 400 pairs/s input target needs on 2 cores; "png": lossless);
    `num_workers` only parallelises generation (not in the name)."""

    GENERATOR: ClassVar[tuple[str, type]] = ("synthetic", synthetic.SyntheticConfig)
    synthetic: synthetic.SyntheticConfig = dataclasses.field(default_factory=synthetic.SyntheticConfig)
    num_train: int = 300
    num_val: int = 50
    num_test: int = 50
    image_format: str = "jpeg"
    num_workers: int = 0


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
        return SyntheticVideosConfig.from_options(cls.name, layout, **options)

    def _split_videos(self, dl_manager):
        cfg = self.builder_config
        return {split: functools.partial(synthetic.iter_videos, n, seed=cfg.seed, config=cfg.synthetic, split=split,
                                         num_workers=cfg.num_workers)
                for split, n in cfg.split_sizes().items()}
