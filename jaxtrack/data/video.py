"""The one video record every reader, builder and pipeline exchanges.

Boxes are `[x, y, w, h]` in pixels, 0-based top-left (readers convert external formats). Frames that
have no valid box (target absent, not annotated) hold NaN. Summarization annotations are per frame of
the video (`n_frames`), or per sampled frame where `picks` says which frames the features belong to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class Video:
    """One video with any of: frames, tracking boxes, importance annotations, shots, attributes.

    Attributes:
      name: unique id within its dataset.
      frames: [T, H, W, 3] uint8 RGB, or None when `frame_paths` are given instead.
      frame_paths: T image file paths (lazy loading), or None.
      boxes: [T, 4] float32 target boxes, NaN where there is none; None for summarization-only videos.
      visible: [T] bool, target visible (GOT-10k `absence == 0`, VOT), or None (= finite box).
      cover: [T] int8 visible-ratio class 0..8 (GOT-10k `cover.label`), or None.
      polygons: [T, 4, 2] float32 (x, y) corners of rotated ground-truth boxes (VOT), NaN where none, or None.
      masks: [T, H, W] uint8 object label maps (0 background, k = object k; DAVIS palette indices), or None.
      user_scores: [U, T] float32 per-frame importance by U annotators (TVSum 1-5, SumMe 0-1), or None.
      user_summaries: [U, T] uint8 keyshot selections (1 = frame in the user's summary), or None.
      change_points: [S, 2] int32 shots as inclusive [start, end] frame ranges, or None.
      features: [N, D] float32 per-frame features (on `picks` if given, else on every frame), or None.
      picks: [N] int32 indices of the frames `features` / `gt_score` belong to, or None (= all frames).
      gt_score: [N] float32 mean importance on picks (eccv16 `gtscore`), or None.
      fps: frames per second.
      attributes: OTB-style attribute flags, e.g. {"OCC": True, "FM": False}.
      n_frames: frame count of the video (needed when neither frames nor boxes are stored).
    """

    name: str
    frames: np.ndarray | None = None
    frame_paths: tuple[str, ...] | None = None
    boxes: np.ndarray | None = None
    visible: np.ndarray | None = None
    cover: np.ndarray | None = None
    masks: np.ndarray | None = None
    polygons: np.ndarray | None = None
    user_scores: np.ndarray | None = None
    user_summaries: np.ndarray | None = None
    change_points: np.ndarray | None = None
    features: np.ndarray | None = None
    picks: np.ndarray | None = None
    gt_score: np.ndarray | None = None
    fps: float = 30.0
    attributes: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    n_frames: int | None = None

    def __post_init__(self):
        if self.n_frames is None:
            n = next((len(a) for a in (self.frames, self.frame_paths, self.boxes) if a is not None), None)
            if n is None and self.user_scores is not None:
                n = self.user_scores.shape[1]
            object.__setattr__(self, "n_frames", n)
        if self.n_frames is not None and self.n_frames <= 0:
            raise ValueError(f"video {self.name!r}: empty video (n_frames={self.n_frames})")
        for field in ("frames", "frame_paths", "boxes", "visible", "cover", "masks", "polygons"):
            value = getattr(self, field)
            if value is not None and len(value) != self.n_frames:
                raise ValueError(
                    f"video {self.name!r}: {field} has {len(value)} frames, expected n_frames={self.n_frames}")
        for field in ("user_scores", "user_summaries"):
            value = getattr(self, field)
            if value is not None and (value.ndim != 2 or value.shape[1] != self.n_frames):
                raise ValueError(f"video {self.name!r}: {field} must be [U, {self.n_frames}], got {value.shape}")
        if self.masks is not None and (self.masks.ndim != 3 or (
                self.frames is not None and self.masks.shape[1:] != self.frames.shape[1:3])):
            frames = "" if self.frames is None else f" for frames {self.frames.shape}"
            raise ValueError(f"video {self.name!r}: masks must be [T, H, W] label maps of the frames' size, got "
                             f"{self.masks.shape}{frames}")
        if self.boxes is not None and (self.boxes.ndim != 2 or self.boxes.shape[1] != 4):
            raise ValueError(f"video {self.name!r}: boxes must be [T, 4], got {self.boxes.shape}")

    def __len__(self) -> int:
        return int(self.n_frames or 0)

    def valid(self) -> np.ndarray:
        """[T] bool: frames with a usable box (finite, positive area, and visible where known)."""
        if self.boxes is None:
            return np.zeros(len(self), bool)
        ok = np.isfinite(self.boxes).all(1) & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
        return ok if self.visible is None else ok & self.visible.astype(bool)
