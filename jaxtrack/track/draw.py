"""Tracked frames with boxes drawn on them: predicted (red) vs ground truth (green)."""

from __future__ import annotations

import cv2
import numpy as np

PRED, GT = (230, 40, 40), (40, 200, 40)  # RGB


def draw_box(image: np.ndarray, box, colour, thickness: int = 2) -> None:
    """Draws `box` [4] xywh (0-based px) on `image` [H, W, 3] uint8 RGB in place; a non-finite box is skipped."""
    box = np.asarray(box, np.float64)
    if np.isfinite(box).all():
        x, y, w, h = box
        cv2.rectangle(image, (round(x), round(y)), (round(x + w - 1), round(y + h - 1)), colour, thickness)


def frame_steps(n_frames: int, n: int = 6) -> np.ndarray:
    """[<= n] int indices of `n` evenly spaced frames of a video of `n_frames` (first and last included)."""
    return np.unique(np.linspace(0, n_frames - 1, min(n, n_frames)).round().astype(int))


def tracked_frames(frames, steps, pred: np.ndarray, gt: np.ndarray | None = None, *, cols: int = 3,
                   labels: bool = True) -> np.ndarray:
    """A grid of the frames `frames` [S] ([H, W, 3] uint8 each) at video steps `steps` [S] with the predicted boxes
    `pred` [T, 4] and the ground truth `gt` [T, 4] (xywh, NaN = absent) of those steps. Returns
    [rows * H, cols * W, 3] uint8."""
    steps = np.asarray(steps)
    if len(frames) != len(steps) or not len(steps) or steps.max() >= len(pred) or (
            gt is not None and len(gt) != len(pred)):
        gt_shape = None if gt is None else np.shape(gt)
        raise ValueError(f"frames [S], steps [S] < T, pred [T, 4] and gt [T, 4] must agree; got {len(frames)} "
                         f"frames, steps {steps.tolist()}, pred {np.shape(pred)}, gt {gt_shape}")
    tiles = []
    for frame, t in zip(frames, steps, strict=True):
        tile = np.ascontiguousarray(np.array(frame, np.uint8))
        if gt is not None:
            draw_box(tile, gt[t], GT)
        draw_box(tile, pred[t], PRED)
        if labels:
            cv2.putText(tile, f"#{t}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    cols = min(cols, len(tiles))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % cols)
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    return np.concatenate(rows, 0)


def png_bytes(image: np.ndarray) -> bytes:
    """[H, W, 3] uint8 RGB -> PNG file bytes."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} as PNG")
    return buf.tobytes()
