"""Random access to a video dataset: per-video metadata plus lazily decoded single frames.

Every consumer (pair sampler, summarization batches, feature extraction, evaluation) reads videos
through this interface, whatever stores them: `InMemoryVideos` (generated or test videos) or the
TFDS/array_record-backed source in `jaxtrack.data.tfds_source`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from jaxtrack.data.video import Video


class VideoDataset(Protocol):
    """`videos[i]` is video i's metadata (no pixels needed); `frame(i, t)` is frame t as [H, W, 3] uint8; the
    sources that can hold masks also have `mask(i, t)`: frame t's [H, W] uint8 label map, or None without masks."""

    videos: Sequence[Video]

    def frame(self, video_index: int, t: int) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class InMemoryVideos:
    """A VideoDataset over videos whose `frames` are in memory."""

    videos: Sequence[Video]

    def frame(self, video_index: int, t: int) -> np.ndarray:
        video = self.videos[video_index]
        if video.frames is None:
            raise ValueError(f"video {video.name!r} (index {video_index}) holds no frames in memory")
        if not 0 <= t < len(video):
            raise IndexError(f"video {video.name!r}: frame {t} out of range [0, {len(video)})")
        return video.frames[t]

    def mask(self, video_index: int, t: int) -> np.ndarray | None:
        """[H, W] uint8 label map of frame t (`Video.masks`), or None when the video has no masks."""
        masks = self.videos[video_index].masks
        return None if masks is None else masks[t]
