"""Per-frame features for the summarizer: a registered backbone and/or colour and motion statistics of
downsampled frames.

Frames are resized to `image_size`^2 (cv2 area interpolation). Backbone features: the frames, normalised with the
ImageNet mean / std (`models.preprocess`), go through the backbone (BatchNorm on running averages)
in fixed-size jitted chunks; the feature is the backbone's global-pooled vector. Without given variables the
backbone is initialised once from `seed`: fixed random features, deterministic for a seed.
Frame statistics (`frame_statistics`): per-channel mean / std, the change of the mean from the previous frame,
and the motion energy |x_t - x_{t-1}| (mean over a `stats_grid`^2 grid of cells, and max), which show
brightness changes, fast motion, zooms and objects entering or leaving the frame.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack.data.sources import VideoDataset
from jaxtrack.models import backbones
from jaxtrack.models.preprocess import normalize


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Attributes: backbone (name in `models.backbones.BACKBONES`, or "" for none), image_size (side frames are
    resized to), chunk_size (frames per jitted call; the last chunk is padded), seed (random init),
    stats_grid (0: no frame statistics; g >= 1: append `frame_statistics` with a g x g motion grid)."""

    backbone: str = "resnet18_small"
    image_size: int = 64
    chunk_size: int = 64
    seed: int = 0
    stats_grid: int = 0

    def __post_init__(self):
        if not self.backbone and not self.stats_grid:
            raise ValueError("FeatureConfig: needs a backbone or stats_grid >= 1 (else there are no features)")
        if self.stats_grid < 0 or (self.stats_grid and self.image_size % self.stats_grid):
            raise ValueError(f"FeatureConfig: stats_grid must be 0 or divide image_size={self.image_size}, got "
                             f"{self.stats_grid}")


def frame_statistics(images: np.ndarray, grid: int) -> np.ndarray:
    """Consecutive frames [T, S, S, 3] uint8 of one video -> [T, 10 + grid^2] float32 statistics of x = frame / 255:
    channel mean (3), channel std (3), mean - previous frame's mean (3), and of the motion energy
    m_t = mean over channels of |x_t - x_{t-1}| [S, S]: its mean over each of grid x grid cells (grid^2, row-major)
    and its max (1). Frame 0 has no previous frame: its changes are 0."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] % grid or images.shape[2] % grid:
        raise ValueError(f"frame_statistics: need [T, S, S, 3] frames with S divisible by grid={grid}, got "
                         f"{images.shape}")
    x = images.astype(np.float32) / 255.0
    t, h, w, _ = x.shape
    mean = x.mean((1, 2))
    d_mean = np.concatenate([np.zeros((1, 3), np.float32), np.diff(mean, axis=0)])
    motion = np.concatenate([np.zeros((1, h, w), np.float32), np.abs(np.diff(x, axis=0)).mean(-1)])
    cells = motion.reshape(t, grid, h // grid, grid, w // grid).mean((2, 4)).reshape(t, grid * grid)
    return np.concatenate([mean, x.std((1, 2)), d_mean, cells, motion.max((1, 2))[:, None]], 1)


class FrameFeatures:
    """frames [T, H, W, 3] uint8 -> [T, D] float32 features (`D = self.dim`): the backbone's pooled vector (if
    any), then `frame_statistics` (if `stats_grid`)."""

    def __init__(self, config: FeatureConfig = FeatureConfig(), variables=None):
        self.config = config
        shape = (1, config.image_size, config.image_size, 3)
        self.model = backbones.get_backbone(config.backbone) if config.backbone else None
        self.variables, backbone_dim = None, 0
        if self.model is not None:
            self.variables = variables if variables is not None else jax.jit(self.model.init)(
                jax.random.key(config.seed), jnp.zeros(shape, jnp.float32))
            self._apply = jax.jit(self._features)
            backbone_dim = int(jax.eval_shape(self._features, self.variables,
                                              jax.ShapeDtypeStruct(shape, jnp.uint8)).shape[1])
        self.dim = backbone_dim + (10 + config.stats_grid ** 2 if config.stats_grid else 0)

    def _features(self, variables, images):
        return self.model.apply(variables, normalize(images, "imagenet"), use_running_average=True)["pooled"]

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """[H, W, 3] uint8 -> [S, S, 3] uint8 with S = `config.image_size` (unchanged if already S x S)."""
        size = (self.config.image_size,) * 2
        return frame if frame.shape[:2] == size else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def _backbone(self, images: np.ndarray) -> np.ndarray:
        n, chunk = len(images), self.config.chunk_size
        padded = np.concatenate([images, np.zeros((-n % chunk, *images.shape[1:]), np.uint8)])
        out = [np.asarray(self._apply(self.variables, padded[i:i + chunk])) for i in range(0, len(padded), chunk)]
        return np.concatenate(out)[:n]

    def __call__(self, frames) -> np.ndarray:
        """frames: [T, H, W, 3] uint8 array or a sequence of [H, W, 3] uint8 frames, consecutive steps of one
        video (the statistics compare each frame with the one before)."""
        bad = [np.shape(f) for f in frames if np.ndim(f) != 3 or np.shape(f)[-1] != 3 or f.dtype != np.uint8]
        if bad or not len(frames):
            raise ValueError(f"frames must be T >= 1 frames of [H, W, 3] uint8, got {len(frames)} with bad {bad[:3]}")
        images = np.stack([self.resize(f) for f in frames])
        parts = [self._backbone(images)] if self.model is not None else []
        if self.config.stats_grid:
            parts.append(frame_statistics(images, self.config.stats_grid))
        return np.concatenate(parts, 1).astype(np.float32)


def video_features(source: VideoDataset, extractor: FrameFeatures | None = None, *,
                   num_threads: int = 2) -> list[np.ndarray]:
    """Features of every video of `source` (on `picks` where a video has them, else on every frame):
    a list of [N_i, D] float32 in video order. Frames are read and downsampled by `num_threads` threads."""
    extractor = extractor or FrameFeatures()

    def frames(i: int, video) -> list[np.ndarray]:
        steps = range(len(video)) if video.picks is None else video.picks
        return list(pool.map(lambda t: extractor.resize(source.frame(i, int(t))), steps))

    with concurrent.futures.ThreadPoolExecutor(num_threads) as pool:
        return [extractor(frames(i, video)) for i, video in enumerate(source.videos)]
