"""Shared layout of the video TFDS builders (array_record, no TensorFlow needed).

Every builder has two configs over the same videos in the same order:
- `videos`: one example per video, all `Video` metadata and annotations, no pixels (a few KB each; read
  whole at load time).
- `frames`: one example per frame, `{"video_index", "t", "image"}` with the image as encoded bytes (PNG, or
  JPEG on request, for generated frames; the original JPEG/PNG file bytes for real datasets), in video
  order then frame order (shuffling disabled), so frame t of video i is record `offset[i] + t` (`offset` =
  cumulative n_frames). Builders with `MASKS` add `"mask"`: the frame's [H, W, 1] uint8 label map
  (`Video.masks`) as a PNG. A pair sampler reads two records and decodes two images, never a whole video.
A dataset built from manual_dir records `source_key(manual_dir)` in `info.metadata["sources"]`, and each config
the sha1 of every split's (name, n_frames) list in `info.metadata["listing"]`: `tfds_source.load` rebuilds a
`videos` config whose sources differ from manual_dir's files now (a ground-truth file edited, added or removed),
and a `frames` config whose listing differs from its `videos` config's (an edit that keeps the videos and their
lengths keeps the frames).
Generated datasets (synthetic videos, synthetic actions) share `GeneratedConfig`: generator settings, split sizes,
seed and frame encoding, with configs named by the digest of their content.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

import cv2
import numpy as np
import tensorflow_datasets as tfds

from jaxtrack.data.readers.images import IMAGE_SUFFIXES, read_image_bytes
from jaxtrack.data.video import Video

LAYOUTS = ("videos", "frames")
# How in-memory frames are encoded: PNG (lossless; RLE strategy decodes fastest) or JPEG q95 (~5x faster to decode).
ENCODINGS = {
    "png": (".png", [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]),
    "jpeg": (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]),
}
# Optional per-video arrays: field -> (trailing shape, dtype). Absent ones are listed in "missing".
ARRAY_FIELDS = {
    "boxes": ((None, 4), np.float32),
    "visible": ((None,), np.bool_),
    "cover": ((None,), np.int8),
    "user_scores": ((None, None), np.float32),
    "user_summaries": ((None, None), np.uint8),
    "change_points": ((None, 2), np.int32),
    "features": ((None, None), np.float32),
    "picks": ((None,), np.int32),
    "gt_score": ((None,), np.float32),
}


@dataclasses.dataclass(eq=False)
class VideoBuilderConfig(tfds.core.BuilderConfig):
    """`layout`: "videos" (per-video metadata) or "frames" (per-frame encoded images)."""

    layout: str = "videos"

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise ValueError(f"{type(self).__name__} {self.name!r}: layout must be one of {LAYOUTS}, "
                             f"got {self.layout!r}")


SPLIT_SIZES = {"train": "num_train", "val": "num_val", "test": "num_test"}  # split -> size field of GeneratedConfig


@dataclasses.dataclass(eq=False)
class GeneratedConfig(VideoBuilderConfig):
    """Base of the generated datasets' configs: the generator's settings (a dataclass) in the field `GENERATOR`
    names, split sizes, `seed` and the frame encoding `image_format` (a key of ENCODINGS). Subclasses set the
    defaults; their extra fields only change how the data is made (not in `content()`, so not in the name)."""

    GENERATOR: ClassVar[tuple[str, type]]  # (field name, generator config class)
    num_train: int = 0
    num_val: int = 0
    num_test: int = 0
    seed: int = 0
    image_format: str = "png"

    def __post_init__(self):
        super().__post_init__()
        if self.image_format not in ENCODINGS:
            raise ValueError(f"{self.name!r}: image_format must be one of {sorted(ENCODINGS)}, "
                             f"got {self.image_format!r}")

    def content(self) -> dict:
        """Everything that determines the generated data."""
        field, _ = self.GENERATOR
        return {field: dataclasses.asdict(getattr(self, field)), "seed": self.seed, "image_format": self.image_format,
                **{f: getattr(self, f) for f in SPLIT_SIZES.values()}}

    def split_sizes(self) -> dict[str, int]:
        """Split name -> number of videos, for the non-empty splits."""
        return {split: getattr(self, f) for split, f in SPLIT_SIZES.items() if getattr(self, f) > 0}

    @classmethod
    def from_options(cls, builder: str, layout: str, **options) -> str | GeneratedConfig:
        """`layout`'s config with `options`: any field of the generator's config or of this config (lists become
        tuples). `layout` itself (the prepared default) for the default content, else a config named
        `<layout>_<sha1 of its content>` with the content as its description (builder configs keyed on content)."""
        if layout not in LAYOUTS:
            raise ValueError(f"{builder}: layout must be one of {LAYOUTS}, got {layout!r}")
        field, generator = cls.GENERATOR
        generator_fields = {f.name for f in dataclasses.fields(generator)}
        base_fields = {f.name for f in dataclasses.fields(VideoBuilderConfig)} | {field}
        own_fields = {f.name for f in dataclasses.fields(cls)} - base_fields
        unknown = sorted(set(options) - generator_fields - own_fields)
        if unknown:
            raise TypeError(f"{builder}: unknown options {unknown}; valid: {sorted(generator_fields | own_fields)}")
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items() if k in generator_fields}
        config = cls(name=layout, layout=layout, **{field: generator(**settings)},
                     **{k: v for k, v in options.items() if k in own_fields})
        if config.content() == cls(name=layout, layout=layout).content():
            return layout
        content = json.dumps(config.content(), sort_keys=True)
        return dataclasses.replace(config, name=f"{layout}_{hashlib.sha1(content.encode()).hexdigest()[:12]}",
                                   description=content)


def video_features() -> tfds.features.FeaturesDict:
    arrays = {k: tfds.features.Tensor(shape=s, dtype=d, encoding="zlib" if s.count(None) > 1 else "none")
              for k, (s, d) in ARRAY_FIELDS.items()}
    return tfds.features.FeaturesDict({
        "name": tfds.features.Text(),
        "n_frames": tfds.features.Scalar(np.int32),
        "fps": tfds.features.Scalar(np.float32),
        "attribute_names": tfds.features.Sequence(tfds.features.Text()),
        "attribute_values": tfds.features.Tensor(shape=(None,), dtype=np.bool_),
        "missing": tfds.features.Sequence(tfds.features.Text()),
        **arrays,
    })


def frame_features(image_format: str, masks: bool = False) -> tfds.features.FeaturesDict:
    mask = {"mask": tfds.features.Image(shape=(None, None, 1), encoding_format="png")} if masks else {}
    return tfds.features.FeaturesDict({
        "video_index": tfds.features.Scalar(np.int32),
        "t": tfds.features.Scalar(np.int32),
        "image": tfds.features.Image(shape=(None, None, 3), encoding_format=image_format),
        **mask,
    })


def video_to_example(video: Video) -> dict:
    """The `videos` example of a Video (frames / frame_paths are not stored)."""
    example = {"name": video.name, "n_frames": len(video), "fps": video.fps,
               "attribute_names": list(video.attributes), "attribute_values": np.array(
                   list(video.attributes.values()), np.bool_),
               "missing": [k for k in ARRAY_FIELDS if getattr(video, k) is None]}
    for k, (shape, dtype) in ARRAY_FIELDS.items():
        value = getattr(video, k)
        empty = np.zeros([0 if s is None else s for s in shape], dtype)
        example[k] = empty if value is None else np.asarray(value, dtype)
    return example


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def example_to_video(example: dict) -> Video:
    """Inverse of `video_to_example` on a decoded record (frame-less Video)."""
    missing = {_text(m) for m in example["missing"]}
    arrays = {k: (None if k in missing else np.asarray(example[k], d)) for k, (_, d) in ARRAY_FIELDS.items()}
    names = [_text(n) for n in example["attribute_names"]]
    return Video(name=_text(example["name"]), n_frames=int(example["n_frames"]), fps=float(example["fps"]),
                 attributes=dict(zip(names, map(bool, example["attribute_values"]))), **arrays)


def frame_bytes(video: Video, t: int, image_format: str) -> bytes:
    """Encoded image of frame t: in-memory frames encoded as `image_format` (a key of ENCODINGS), else the
    checked bytes of `frame_paths[t]`."""
    if video.frames is not None:
        suffix, params = ENCODINGS[image_format]
        ok, data = cv2.imencode(suffix, cv2.cvtColor(video.frames[t], cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise ValueError(f"video {video.name!r}: {image_format} encoding of frame {t} failed")
        return data.tobytes()
    if video.frame_paths is None:
        raise ValueError(f"video {video.name!r} has neither frames nor frame_paths: no `frames` layout possible")
    return read_image_bytes(video.frame_paths[t])


def mask_bytes(video: Video, t: int) -> bytes:
    """Frame t's label map (`Video.masks`) as grayscale PNG bytes."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(video.masks[t], np.uint8), ENCODINGS["png"][1])
    if not ok:
        raise ValueError(f"video {video.name!r}: png encoding of mask {t} failed")
    return data.tobytes()


def source_key(manual_dir) -> dict[str, int | str] | None:
    """What a dataset built from `manual_dir` is keyed on: {"files", "digest": sha1 of (relative path, size,
    mtime_ns)} of every file under it except frame images (annotations, lists, h5 / json files; the frames, which
    GOT-10k counts in millions, are not stat'ed). None for a manual_dir that is not a local folder."""
    root = os.fspath(manual_dir)
    if not os.path.isdir(root):
        return None
    rows = []
    for folder, _, names in os.walk(root, followlinks=True):
        for name in names:
            if not name.lower().endswith(IMAGE_SUFFIXES):
                stat = os.stat(os.path.join(folder, name))
                rows.append(f"{os.path.relpath(os.path.join(folder, name), root)}\t{stat.st_size}\t{stat.st_mtime_ns}")
    return {"files": len(rows), "digest": hashlib.sha1("\n".join(sorted(rows)).encode()).hexdigest()}


class VideoBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the video builders: subclasses give `_split_videos` (split -> video iterator factory)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS: ClassVar[list] = [VideoBuilderConfig(name=layout, layout=layout) for layout in LAYOUTS]
    IMAGE_FORMAT = "jpeg"  # declared encoding of the `image` feature (decoders sniff the bytes: PNG files pass too)
    MASKS = False  # the `frames` layout stores each frame's `Video.masks` label map as "mask"

    def __init__(self, *, file_format: str = "array_record", **kwargs):
        super().__init__(file_format=file_format, **kwargs)

    @classmethod
    def layouts(cls) -> tuple[str, ...]:
        return tuple(c.layout for c in cls.BUILDER_CONFIGS)

    @classmethod
    def make_config(cls, layout: str, **options) -> str | VideoBuilderConfig:
        """The config (or its name) for `layout` with dataset `options`; datasets read from manual_dir take none."""
        if layout not in cls.layouts():
            raise ValueError(f"{cls.name}: layout must be one of {cls.layouts()}, got {layout!r}")
        if options:
            raise TypeError(f"{cls.name}: unknown options {sorted(options)} (this dataset takes none)")
        return layout

    def _image_format(self) -> str:
        config = self.builder_config
        return config.image_format if isinstance(config, GeneratedConfig) else self.IMAGE_FORMAT

    def _info(self) -> tfds.core.DatasetInfo:
        layout = self.builder_config.layout
        return tfds.core.DatasetInfo(
            builder=self,
            description=(self.__doc__ or "").strip().splitlines()[0],
            features=video_features() if layout == "videos" else frame_features(self._image_format(), self.MASKS),
            disable_shuffling=True,  # frame record index = offset[video] + t relies on the generation order
            metadata=tfds.core.MetadataDict(),
        )

    @abc.abstractmethod
    def _split_videos(self, dl_manager) -> dict[str, Callable[[], Iterable[Video]]]:
        """Split name -> zero-argument callable yielding that split's Videos, in a fixed order."""

    def _split_generators(self, dl_manager):
        if self.MANUAL_DOWNLOAD_INSTRUCTIONS:  # built from manual_dir: keyed on its files (`source_key`)
            self.info.metadata["sources"] = source_key(dl_manager.manual_dir)
        self.info.metadata["listing"] = {}
        return {split: self._generate_examples(split, videos)
                for split, videos in self._split_videos(dl_manager).items()}

    def _generate_examples(self, split: str, videos: Callable[[], Iterable[Video]]) -> Iterator[tuple[str, dict]]:
        """The split's examples; records sha1 of its (name, n_frames) list in `info.metadata["listing"][split]`
        (a `frames` config matches its `videos` config when their listings agree)."""
        listing = hashlib.sha1()
        for i, video in enumerate(videos()):
            listing.update(f"{video.name}\t{len(video)}\n".encode())
            if self.builder_config.layout == "videos":
                yield f"{i:08d}", video_to_example(video)
            else:
                for t in range(len(video)):
                    image = frame_bytes(video, t, self._image_format())
                    example = {"video_index": i, "t": t, "image": image}
                    if self.MASKS:
                        if video.masks is None:
                            raise ValueError(f"{self.name}: video {video.name!r} has no masks; this builder stores "
                                             f"one per frame")
                        example["mask"] = mask_bytes(video, t)
                    yield f"{i:08d}_{t:08d}", example
        self.info.metadata["listing"][split] = listing.hexdigest()

