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
from jaxtrack.data.tfds_builders.common import ENCODINGS, LAYOUTS, VideoBuilder, VideoBuilderConfig, named_config
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


_SPLIT_FIELDS = {"train": "num_train", "val": "num_val", "test": "num_test"}


@dataclasses.dataclass(eq=False)
class SyntheticActionsConfig(VideoBuilderConfig):
    """Split sizes, seed and frame encoding ("png" lossless by default: the frames are tiny) of the clips."""

    action: synthetic_actions.ActionConfig = dataclasses.field(default_factory=synthetic_actions.ActionConfig)
    num_train: int = 800
    num_val: int = 100
    num_test: int = 300
    seed: int = 0
    image_format: str = "png"

    def __post_init__(self):
        super().__post_init__()
        if self.image_format not in ENCODINGS:
            raise ValueError(f"{self.name!r}: image_format must be one of {sorted(ENCODINGS)}, "
                             f"got {self.image_format!r}")

    def content(self) -> dict:
        return {"action": dataclasses.asdict(self.action), "seed": self.seed, "image_format": self.image_format,
                **{f: getattr(self, f) for f in _SPLIT_FIELDS.values()}}


def _videos(n: int, seed: int, config: synthetic_actions.ActionConfig, split: str) -> Iterable[Video]:
    return (video for video, _ in synthetic_actions.iter_clips(n, seed=seed, config=config, split=split))


class SyntheticActions(LabelledVideoBuilder):
    """Synthetic action clips: four time-reverse class pairs and two appearance classes (`synthetic_actions`)."""

    BUILDER_CONFIGS: ClassVar[list] = [SyntheticActionsConfig(name=layout, layout=layout) for layout in LAYOUTS]

    @classmethod
    def make_config(cls, layout: str, **options) -> str | SyntheticActionsConfig:
        """`options`: any `ActionConfig` field, num_train/num_val/num_test, seed, image_format; non-default content
        gets the config name `<layout>_<digest>`."""
        if layout not in LAYOUTS:
            raise ValueError(f"{cls.name}: layout must be one of {LAYOUTS}, got {layout!r}")
        action_fields = {f.name for f in dataclasses.fields(synthetic_actions.ActionConfig)}
        own_fields = {*_SPLIT_FIELDS.values(), "seed", "image_format"}
        unknown = sorted(set(options) - action_fields - own_fields)
        if unknown:
            raise TypeError(f"{cls.name}: unknown options {unknown}; valid: {sorted(action_fields | own_fields)}")
        action = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k in action_fields}
        config = SyntheticActionsConfig(name=layout, layout=layout, action=synthetic_actions.ActionConfig(**action),
                                        **{k: v for k, v in options.items() if k in own_fields})
        return named_config(config, SyntheticActionsConfig(name=layout, layout=layout), layout)

    def _image_format(self) -> str:
        return self.builder_config.image_format

    def _split_clips(self, dl_manager):
        cfg = self.builder_config
        splits = {}
        for split, field in _SPLIT_FIELDS.items():
            n = getattr(cfg, field)
            if n > 0:
                labels = [synthetic_actions.label(i) for i in range(n)]
                splits[split] = (labels, functools.partial(_videos, n, cfg.seed, cfg.action, split))
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
