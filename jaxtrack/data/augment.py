"""pysot-style crop augmentation: random geometry for `crops.crop_matrix` plus photometric changes on uint8.

Parameters follow pysot's `Augmentation` (STVIR/pysot `pysot/datasets/augmentation.py`, `core/config.py`):
shift in crop pixels, scale as the relative change of the crop side per axis, and probabilities for
blur, flip and the PCA colour offset. Geometry is drawn here and applied inside the one crop warp;
gray, colour and blur act on the finished crop (they commute with the warp up to rounding). Unlike
pysot, shift and scale are not clamped to keep the window inside a pre-cropped 511 px patch: the
window may leave the frame, which is padded with the mean colour.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

# pysot's PCA colour basis (RGB), offsets are `RGB_VAR @ N(0, I_3)` intensity units.
RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627],
                    [1.72091413, 0.19879334, -1.82968581],
                    [4.64467907, 4.73710203, 4.88324118]], np.float32)
BLUR_SIZES = np.arange(5, 46, 2)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """One crop's augmentation.

    Attributes:
      shift: max |shift| of the crop window per axis, in output crop pixels (uniform in [-shift, shift]).
      scale: max relative change of the crop side per axis (side * (1 + U(-scale, scale))).
      blur: probability of pysot's random line (motion) blur, kernel 5..45 px.
      flip: probability of a horizontal flip.
      color: probability of the PCA colour offset.
    """

    shift: float = 0.0
    scale: float = 0.0
    blur: float = 0.0
    flip: float = 0.0
    color: float = 0.0

    def __post_init__(self):
        for name in ("blur", "flip", "color"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AugmentConfig.{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.shift < 0 or not 0 <= self.scale < 1:
            raise ValueError(f"AugmentConfig needs shift >= 0 and 0 <= scale < 1, got {self.shift}, {self.scale}")


# pysot defaults (SiamRPN++ experiments: search blur 0.2).
TEMPLATE_AUG = AugmentConfig(shift=4, scale=0.05, blur=0.0, flip=0.0, color=1.0)
SEARCH_AUG = AugmentConfig(shift=64, scale=0.18, blur=0.2, flip=0.0, color=1.0)
NO_AUG = AugmentConfig()


@dataclasses.dataclass(frozen=True)
class Draw:
    """One random draw for a crop: geometry (for `crops.crop_matrix`) and photometric parameters.

    scale, shift: (x, y); color: [3] RGB offset to subtract, or None; blur: (kernel size, horizontal
    weight) or None.
    """

    scale: tuple[float, float]
    shift: tuple[float, float]
    flip: bool
    color: np.ndarray | None
    blur: tuple[int, float] | None


def draw(config: AugmentConfig, rng: np.random.Generator) -> Draw:
    """Draws every random quantity of one crop (always the same number of draws: deterministic streams)."""
    u = rng.uniform(-1.0, 1.0, size=4)
    p = rng.random(3)
    colour = RGB_VAR @ rng.standard_normal(3).astype(np.float32)
    size, wx = int(rng.choice(BLUR_SIZES)), float(rng.random())
    return Draw(scale=(1.0 + u[0] * config.scale, 1.0 + u[1] * config.scale),
                shift=(u[2] * config.shift, u[3] * config.shift),
                flip=bool(config.flip > p[0]),
                color=colour if config.color > p[1] else None,
                blur=(size, wx) if config.blur > p[2] else None)


def line_blur(image: np.ndarray, size: int, wx: float) -> np.ndarray:
    """pysot's blur kernel (a centred column of weight wx/size plus a row of (1-wx)/size), as two box blurs."""
    return cv2.addWeighted(cv2.blur(image, (1, size)), wx, cv2.blur(image, (size, 1)), 1.0 - wx, 0.0)


def gray(image: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB -> the same image in gray, 3 channels."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def photometric(crop: np.ndarray, d: Draw, *, to_gray: bool = False) -> np.ndarray:
    """Applies gray (if `to_gray`), the colour offset and the blur of `d` to a [S, S, 3] uint8 crop."""
    if to_gray:
        crop = gray(crop)
    if d.color is not None:
        crop = cv2.subtract(crop, (*(float(v) for v in d.color), 0.0))
    if d.blur is not None:
        crop = line_blur(crop, *d.blur)
    return crop
