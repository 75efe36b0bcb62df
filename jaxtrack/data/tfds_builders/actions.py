"""TFDS builders of labelled action clips: the synthetic set (`synthetic_actions`), something-something v2 and UCF101.

Same two-config layout as every video builder (`common`); the class names and each split's labels (in video
order) go to the `videos` config's metadata: `info.metadata["classes"]`, `info.metadata["labels"][split]`.
`jaxtrack.data.pipeline_clips.load` reads them back beside the frames.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from jaxtrack.data import synthetic_actions
from jaxtrack.data.readers import actions
from jaxtrack.data.tfds_builders.common import LAYOUTS, GeneratedConfig, VideoBuilder
from jaxtrack.data.video import Video

SplitClips = dict[str, tuple[Sequence[int], Callable[[], Iterable[Video]]]]


class LabelledVideoBuilder(VideoBuilder, skip_registration=True):
    """Base: subclasses give `_split_clips(dl_manager) -> (classes, {split: (labels, video iterator factory)})`."""

    @abc.abstractmethod
    def _split_clips(self, dl_manager) -> tuple[Sequence[str], SplitClips]:
        """Class names and, per split, the labels and a zero-argument callable yielding the Videos in order."""

    def _split_videos(self, dl_manager):
        classes, splits = self._split_clips(dl_manager)
        self.info.metadata["classes"] = list(classes)
        self.info.metadata["labels"] = {split: [int(c) for c in labels] for split, (labels, _) in splits.items()}
        return {split: videos for split, (_, videos) in splits.items()}


@dataclasses.dataclass(eq=False)
class SyntheticActionsConfig(GeneratedConfig):
    """Split sizes, seed and frame encoding ("png" lossless by default: the frames are tiny) of the clips."""

    GENERATOR: ClassVar[tuple[str, type]] = ("action", synthetic_actions.ActionConfig)
    action: synthetic_actions.ActionConfig = dataclasses.field(default_factory=synthetic_actions.ActionConfig)
    num_train: int = 800
    num_val: int = 100
    num_test: int = 300


def _videos(n: int, seed: int, config: synthetic_actions.ActionConfig, split: str) -> Iterable[Video]:
    return (video for video, _ in synthetic_actions.iter_clips(n, seed=seed, config=config, split=split))


class SyntheticActions(LabelledVideoBuilder):
    """Synthetic action clips: four time-reverse class pairs and two appearance classes (`synthetic_actions`)."""

    BUILDER_CONFIGS: ClassVar[list] = [SyntheticActionsConfig(name=layout, layout=layout) for layout in LAYOUTS]

    @classmethod
    def make_config(cls, layout: str, **options) -> str | SyntheticActionsConfig:
        """`options`: any `ActionConfig` field, num_train/num_val/num_test, seed, image_format; non-default content
        gets the config name `<layout>_<digest>`."""
        return SyntheticActionsConfig.from_options(cls.name, layout, **options)

    def _split_clips(self, dl_manager):
        cfg = self.builder_config
        splits = {split: ([synthetic_actions.label(i) for i in range(n)],
                          functools.partial(_videos, n, cfg.seed, cfg.action, split))
                  for split, n in cfg.split_sizes().items()}
        return synthetic_actions.CLASSES, splits


class Ssv2(LabelledVideoBuilder):
    """something-something v2 (174 classes) from labels.json, the split jsons and extracted frame folders."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = ("Put labels.json, something-something-v2-{train,validation}.json and frames/<id>/ "
                                    "(frames extracted from the webm files) in manual_dir.")

    def _split_clips(self, dl_manager):
        splits = {s: actions.read_ssv2(dl_manager.manual_dir, s) for s in ("train", "validation")}
        return splits["train"].classes, {s: (c.labels, functools.partial(lambda c: c.videos, c))
                                         for s, c in splits.items()}


class Ucf101(LabelledVideoBuilder):
    """UCF101 (101 classes), train / test of split 1 from ucfTrainTestlist/ and frame folders."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = ("Put ucfTrainTestlist/ and frames/<video>/ (or frames/<Class>/<video>/) in "
                                    "manual_dir.")

    def _split_clips(self, dl_manager):
        splits = {s: actions.read_ucf101(dl_manager.manual_dir, s, fold=1) for s in actions.UCF101_SPLITS}
        return splits["train"].classes, {s: (c.labels, functools.partial(lambda c: c.videos, c))
                                         for s, c in splits.items()}
