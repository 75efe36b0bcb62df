"""Siamese crops: the pysot / SiamFC crop geometry with shift, scale and flip folded into ONE affine warp.

A template crop covers a square of side `s_z = context_size(w, h, context)` around the target centre,
resized to `template_size` (127); a search crop covers `s_x = s_z * search_size / template_size`
resized to `search_size` (255), so the target has the same scale in both. Shift / scale / flip
augmentation is composed into the same 2x3 matrix (`crop_matrix`) and applied with one
`cv2.warpAffine`; outside the image the crop is filled with the frame's mean colour.
Coordinates follow `jaxtrack.boxes.crop_affine`: pixel i has its centre at coordinate i.
"""

from __future__ import annotations

import cv2
import numpy as np

from jaxtrack import boxes


def crop_side(box: np.ndarray, out_size: int, *, context: float = 0.5, template_size: int = 127) -> float:
    """Side (image pixels) of the square a crop of `out_size` covers around `box` [4] xywh.

    `out_size == template_size` gives the template side `s_z`; `out_size = 255` the search side `s_x`.
    """
    return float(boxes.context_size(box[2], box[3], context)) * out_size / template_size


def crop_matrix(box: np.ndarray, side: float, out_size: int, *, scale=(1.0, 1.0), shift=(0.0, 0.0),
                flip: bool = False) -> np.ndarray:
    """[2, 3] float64 image -> crop affine: the square of `side` centred on `box` [4] xywh onto `out_size`.

    Augmentation (pysot `Augmentation._shift_scale_aug` semantics): the crop window's side is multiplied
    by `scale` (sx, sy) about its centre, then the window moves by `shift` (dx, dy) output pixels (so the
    content moves by `-shift / scale`); `flip` mirrors the crop horizontally.
    """
    if side <= 0:
        raise ValueError(f"side must be > 0, got {side} (box {box})")
    centre = boxes.xywh_to_cxcywh(np.asarray(box, np.float64))[:2]
    base = np.vstack([boxes.crop_affine(centre, side, out_size), [0.0, 0.0, 1.0]])
    c = (out_size - 1) / 2
    sx, sy = (1.0 / s for s in scale)
    augment = np.array([[sx, 0.0, c - sx * (c + shift[0])],
                        [0.0, sy, c - sy * (c + shift[1])],
                        [0.0, 0.0, 1.0]])
    mirror = np.array([[-1.0, 0.0, out_size - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) if flip else np.eye(3)
    return (mirror @ augment @ base)[:2]


def mean_colour(image: np.ndarray) -> tuple[float, float, float]:
    """Per-channel mean of an [H, W, 3] image (the padding colour)."""
    return tuple(cv2.mean(image)[:3])


def warp_crop(image: np.ndarray, matrix: np.ndarray, out_size: int, pad=None) -> np.ndarray:
    """[H, W, 3] uint8 -> [out_size, out_size, 3] uint8 by bilinear `cv2.warpAffine` with `matrix` [2, 3].

    `pad`: constant colour outside the image (default: the image's mean colour).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be [H, W, 3] uint8, got {image.shape} {image.dtype}")
    if matrix.shape != (2, 3):
        raise ValueError(f"matrix must be [2, 3], got {matrix.shape}")
    pad = mean_colour(image) if pad is None else tuple(float(v) for v in pad)
    return cv2.warpAffine(image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=pad)


def warp_mask(label_map: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """[H, W] label map (> 0 = target) -> [out_size, out_size] uint8 0 / 1: the binary mask warped by `matrix` [2, 3]
    as the image crop (bilinear on 0 / 1, background outside the image), then > 0.5 (foolwood/SiamMask's crops)."""
    if label_map is None or label_map.ndim != 2:
        raise ValueError(f"mask must be an [H, W] label map, got {None if label_map is None else label_map.shape}")
    binary = (label_map > 0).astype(np.float32)
    warped = cv2.warpAffine(binary, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return (warped > 0.5).astype(np.uint8)
