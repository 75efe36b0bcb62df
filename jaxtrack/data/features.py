"""Per-frame features for the summarizer: a registered backbone applied to downsampled frames.

Frames are resized to `image_size`^2 (cv2 area interpolation), scaled to [0, 1], normalised with the
ImageNet mean / std and passed through the backbone (BatchNorm on running averages) in fixed-size
jitted chunks; the feature is the backbone's global-pooled vector. Without given variables the
backbone is initialised once from `seed`: fixed random features, deterministic for a seed.
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

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Attributes: backbone (name in `models.backbones.BACKBONES`), image_size (side frames are resized
    to), chunk_size (frames per jitted call; the last chunk is padded), seed (random init)."""

    backbone: str = "resnet18_small"
    image_size: int = 64
    chunk_size: int = 64
    seed: int = 0


class FrameFeatures:
    """frames [T, H, W, 3] uint8 -> [T, D] float32 features (`D = self.dim`)."""

    def __init__(self, config: FeatureConfig = FeatureConfig(), variables=None):
        self.config = config
        self.model = backbones.get_backbone(config.backbone)
        shape = (1, config.image_size, config.image_size, 3)
        self.variables = variables if variables is not None else jax.jit(self.model.init)(
            jax.random.key(config.seed), jnp.zeros(shape, jnp.float32))
        self._apply = jax.jit(self._features)
        self.dim = int(jax.eval_shape(self._features, self.variables, jax.ShapeDtypeStruct(shape, jnp.uint8)).shape[1])

    def _features(self, variables, images):
        x = (images.astype(jnp.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return self.model.apply(variables, x, use_running_average=True)["pooled"]

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """[H, W, 3] uint8 -> [S, S, 3] uint8 with S = `config.image_size` (unchanged if already S x S)."""
        size = (self.config.image_size,) * 2
        return frame if frame.shape[:2] == size else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def __call__(self, frames) -> np.ndarray:
        """frames: [T, H, W, 3] uint8 array or a sequence of [H, W, 3] uint8 frames."""
        bad = [np.shape(f) for f in frames if np.ndim(f) != 3 or np.shape(f)[-1] != 3 or f.dtype != np.uint8]
        if bad or not len(frames):
            raise ValueError(f"frames must be T >= 1 frames of [H, W, 3] uint8, got {len(frames)} with bad {bad[:3]}")
        images = np.stack([self.resize(f) for f in frames])
        n, chunk = len(images), self.config.chunk_size
        padded = np.concatenate([images, np.zeros((-n % chunk, *images.shape[1:]), np.uint8)])
        out = [np.asarray(self._apply(self.variables, padded[i:i + chunk])) for i in range(0, len(padded), chunk)]
        return np.concatenate(out)[:n].astype(np.float32)


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
