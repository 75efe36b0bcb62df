"""A prepared TFDS video dataset as a `VideoDataset`: metadata from its `videos` config, frames decoded lazily
one at a time from its `frames` config (`tfds` array_record random access; layout in `tfds_builders.common`).

    ds = load("synthetic_videos", "train", data_dir=d, num_train=8, n_frames=16)
    ds.videos[i].boxes       # frame-less metadata
    ds.frame(i, t)           # [H, W, 3] uint8 RGB, one record read + one image decode
    ds.mask(i, t)            # [H, W] uint8 label map, or None (datasets without masks)
    ds.frame_records[ds.frame_index(i, t)]  # the raw record, for a grain source ({"video_index", "t", "image"})
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
import time
from collections.abc import Callable, Sequence

import cv2
import jax
import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import sharding
from jaxtrack.data.readers.images import decode_image
from jaxtrack.data.tfds_builders import BUILDERS
from jaxtrack.data.tfds_builders.common import example_to_video, source_key
from jaxtrack.data.tfds_builders.eccv16 import FULL_SPLIT
from jaxtrack.data.video import Video

_FOLD = re.compile(r"^split(\d+)_(train|test)$")


@dataclasses.dataclass(frozen=True)
class TfdsVideos:
    """VideoDataset over a prepared builder split.

    Attributes:
      name: "<dataset>/<config>/<split>", for messages.
      videos: [V] frame-less Video metadata.
      stored_index: [V] int index of each video in the stored split (differs from i for eccv16 folds).
      offsets: [V] int64 index in `frame_records` of each video's frame 0.
      frame_records: random-access records {"video_index", "t", "image": encoded bytes} of the stored split,
        or None for datasets without pixels (eccv16 features).
    """

    name: str
    videos: tuple[Video, ...]
    stored_index: np.ndarray
    offsets: np.ndarray
    frame_records: Sequence | None

    def frame_index(self, video_index: int, t: int) -> int:
        """Index in `frame_records` of frame t of video `video_index`."""
        if not 0 <= video_index < len(self.videos):
            raise IndexError(f"{self.name}: video index {video_index} out of range [0, {len(self.videos)})")
        video = self.videos[video_index]
        if not 0 <= t < len(video):
            raise IndexError(f"{self.name}: video {video.name!r} frame {t} out of range [0, {len(video)})")
        return int(self.offsets[video_index] + t)

    def frame(self, video_index: int, t: int) -> np.ndarray:
        """[H, W, 3] uint8 RGB frame t of video `video_index` (checks the record is the one asked for)."""
        if self.frame_records is None:
            raise ValueError(f"{self.name}: this dataset stores no frames (videos layout only)")
        index = self.frame_index(video_index, t)
        record = self.frame_records[index]
        expected = (int(self.stored_index[video_index]), t)
        if (int(record["video_index"]), int(record["t"])) != expected:
            raise ValueError(f"{self.name}: frame record {index} holds (video {int(record['video_index'])}, frame "
                             f"{int(record['t'])}), expected {expected}: videos and frames configs disagree, rebuild")
        return decode_image(record["image"], f"{self.name}: video {self.videos[video_index].name!r} frame {t}")

    def mask(self, video_index: int, t: int) -> np.ndarray | None:
        """[H, W] uint8 label map of frame t of video `video_index`, or None when the dataset stores no masks."""
        if self.frame_records is None:
            return None
        record = self.frame_records[self.frame_index(video_index, t)]
        if "mask" not in record:
            return None
        mask = cv2.imdecode(np.frombuffer(record["mask"], np.uint8), cv2.IMREAD_UNCHANGED)
        if mask is None or mask.ndim != 2:
            raise ValueError(f"{self.name}: video {self.videos[video_index].name!r} frame {t}: cannot decode its mask")
        return mask


def _select(builder, split: str) -> tuple[str, np.ndarray | None]:
    """(stored split, indices of the selected videos or None for all) for a requested split name."""
    available = list(builder.info.splits)
    if split in available:
        return split, None
    folds = builder.info.metadata.get("splits") if builder.info.metadata else None
    match = _FOLD.match(split)
    if folds and match and FULL_SPLIT in available:
        k = int(match.group(1))
        if k >= len(folds):
            raise ValueError(f"{builder.name}: split {split!r}: only {len(folds)} folds (0..{len(folds) - 1})")
        return FULL_SPLIT, np.array(folds[k][f"{match.group(2)}_keys"], dtype=object)
    if match and FULL_SPLIT in available and not folds:
        raise ValueError(f"{builder.name}: split {split!r}: no fold splits; put {builder.SPLITS_FILE} "
                         '([{"train_keys": [...], "test_keys": [...]}, ...], the 5 canonical splits) in manual_dir')
    folds_hint = f" or split<k>_train/split<k>_test for k < {len(folds)}" if folds else ""
    raise ValueError(f"{builder.name}: unknown split {split!r}; available: {available}{folds_hint}")


def _build(builder, download_config) -> None:
    """`builder.download_and_prepare` behind one line on the terminal: TFDS's own messages (printed to stdout) go to
    the log; its progress bars stay."""
    where = f"{builder.name}/{builder.builder_config.name}"
    print(f"data: building {where} in {builder.data_dir} ...", flush=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(_LogWriter()):
        builder.download_and_prepare(download_config=download_config)
    print(f"data: built {where} in {time.perf_counter() - start:.0f} s", flush=True)


class _LogWriter(io.TextIOBase):
    """A text stream whose lines go to the absl log."""

    def write(self, text: str) -> int:
        if text.strip():
            logging.info("%s", text.rstrip())
        return len(text)


def _stale(builder, key: dict, videos_builder) -> str:
    """Why a prepared config no longer matches manual_dir's files (`key`, `source_key`), or "" when it does: a
    `videos` config by its sources, a `frames` config by its videos listing (`tfds_builders.common`)."""
    meta = builder.info.metadata or {}
    if builder.builder_config.layout == "videos":
        return "" if meta.get("sources") == key else (
            f"was built from other files than manual_dir holds now (its {key['files']} files besides the frames "
            "differ in names, sizes or modification times)")
    listing = (videos_builder.info.metadata or {}).get("listing")
    return "" if meta.get("listing") == listing else "holds other videos (names or lengths) than the videos config"


def builder_class(name: str) -> type:
    """The TFDS builder class of dataset `name` (ValueError naming the known ones)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[name]


def stores_frames(name: str) -> bool:
    """Whether dataset `name` stores pixels (a `frames` config); the eccv16 feature files do not."""
    return "frames" in builder_class(name).layouts()


def load(name: str, split: str, *, data_dir: epath.PathLike | None = None, manual_dir: epath.PathLike | None = None,
         download_and_prepare: bool = True, **config) -> TfdsVideos:
    """Loads split `split` of dataset `name` (a key of `tfds_builders.BUILDERS`) as a VideoDataset.

    A prepared real dataset is keyed on its manual_dir's files (`tfds_builders.common.source_key`: the relative
    path, size and modification time of every file but the frame images): when `manual_dir` is given and its key
    differs from the one stored at build time, the `videos` config is rebuilt (the stale one deleted), and the
    `frames` config too when the videos or their lengths changed, each saying so in one line. Without `manual_dir`
    the prepared dataset is used as it is.

    Args:
      data_dir: TFDS data directory (default: TFDS's). manual_dir: raw files for the real datasets.
      download_and_prepare: build the `videos` (and `frames`) configs first when they are missing.
      **config: dataset options (synthetic_videos: SyntheticConfig fields, num_train/num_val/num_test, seed,
        num_workers); the real datasets take none.
    """
    cls = builder_class(name)
    builders = {layout: cls(config=cls.make_config(layout, **config), data_dir=data_dir) for layout in cls.layouts()}
    key = source_key(manual_dir) if manual_dir and cls.MANUAL_DOWNLOAD_INSTRUCTIONS else None
    for layout, builder in builders.items():  # "videos" first
        why = _stale(builder, key, builders["videos"]) if key is not None and builder.is_prepared() else ""
        if why:
            print(f"data: {name}/{layout} in {builder.data_dir} {why}: rebuilding", flush=True)
            epath.Path(builder.data_dir).rmtree()
            builders[layout] = builder = cls(config=cls.make_config(layout, **config), data_dir=data_dir)
        if download_and_prepare and not builder.is_prepared():
            _build(builder, tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None)
        elif not builder.is_prepared():
            raise FileNotFoundError(f"{name}: config {builder.builder_config.name!r} is not prepared in "
                                    f"{builder.data_dir}; call load(..., download_and_prepare=True)")
    videos_builder = builders["videos"]
    stored_split, keys = _select(videos_builder, split)
    records = videos_builder.as_data_source(stored_split)
    stored = [example_to_video(records[i]) for i in range(len(records))]
    if keys is None:
        index = np.arange(len(stored))
    else:
        position = {v.name: i for i, v in enumerate(stored)}
        index = np.array([position[k] for k in keys], np.int64)
    starts = np.concatenate([[0], np.cumsum([len(v) for v in stored])]).astype(np.int64)
    frame_records = None
    if "frames" in builders:
        skip = {k: tfds.decode.SkipDecoding() for k in ("image", "mask") if k in builders["frames"].info.features}
        frame_records = builders["frames"].as_data_source(stored_split, decoders=skip)
        if len(frame_records) != starts[-1]:
            raise ValueError(f"{name}/{split}: frames config holds {len(frame_records)} records, videos config "
                             f"counts {starts[-1]} frames: rebuild both")
    label = f"{name}/{videos_builder.builder_config.name}/{split}"
    logging.info("%s: %d videos, %d frames", label, len(index), int(sum(len(stored[i]) for i in index)))
    return TfdsVideos(name=label, videos=tuple(stored[i] for i in index), stored_index=index, offsets=starts[index],
                      frame_records=frame_records)


def load_split(config, workdir: epath.PathLike, split: str, loader: Callable = load):
    """`loader(config.data.dataset, split, ...)` (`load`, or one with its signature) with the experiment's TFDS
    folder (`config.data_dir`), `data.manual_dir` and `data.options`. Process 0 builds a missing dataset first; the
    other processes read it once every process has passed the barrier."""
    data = config.data
    get = functools.partial(loader, data.dataset, split, data_dir=config_lib.data_dir(config, workdir),
                            manual_dir=data.manual_dir or None, **data.options.to_dict())
    out = get() if jax.process_index() == 0 else None
    sharding.barrier(f"tfds {data.dataset} {split}")
    return get() if jax.process_index() else out
