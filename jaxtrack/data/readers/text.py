"""Ground-truth text files: box lists (`x, y, w, h` per line) and per-frame label lists."""

from __future__ import annotations

import re

import numpy as np
from absl import logging
from etils import epath

SEPARATORS = re.compile(r"[,\s]+")


def text_lines(path: epath.Path) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    lines = path.read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"{path}: empty file")
    return lines


def read_boxes(path: epath.PathLike, *, one_based: bool) -> np.ndarray:
    """[T, 4] float32 xywh boxes, 0-based, one per line of `path` (separators: ',', tab, space or a mix).

    `one_based`: the file counts pixels from 1 (OTB, LaSOT): x and y are shifted by -1. Lines with NaN or a
    zero width/height (the "absent" convention of GOT-10k, LaSOT, VOT) become NaN rows (the frame is marked
    invalid, not dropped) and are counted in the log, except on line 1: the first frame's box, which trackers
    start from, must be valid. Malformed lines, negative sizes and an invalid first box raise ValueError naming
    the file and line.
    """
    path = epath.Path(path)
    rows, lines = [], text_lines(path)
    for i, line in enumerate(lines, 1):
        parts = [p for p in SEPARATORS.split(line.strip()) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4:
            raise ValueError(f"{path} line {i}: expected 4 numbers separated by ',' or tab or space, got {line!r}")
        if values[2] < 0 or values[3] < 0:
            raise ValueError(f"{path} line {i}: negative box size (w={values[2]}, h={values[3]}) in {line!r}")
        rows.append(values)
    boxes = np.array(rows, np.float32)
    invalid = ~np.isfinite(boxes).all(1) | (boxes[:, 2] == 0) | (boxes[:, 3] == 0)
    if invalid[0]:
        raise ValueError(f"{path} line 1: the first frame's box must be finite with w, h > 0 (a tracker starts "
                         f"from it), got {lines[0]!r}")
    boxes[invalid] = np.nan
    if invalid.any():
        logging.info("%s: %d of %d boxes are NaN or zero-area; those frames are marked invalid (NaN box)",
                     path, int(invalid.sum()), len(boxes))
    if one_based:
        boxes[:, :2] -= 1
    return boxes


def read_labels(path: epath.PathLike, n_frames: int, *, allowed: tuple[int, int] = (0, 1)) -> np.ndarray:
    """[n_frames] int8 per-frame labels from `path`: one per line (GOT-10k `*.label`) or comma-separated
    (LaSOT `full_occlusion.txt`); values must lie in `allowed` (inclusive range)."""
    path = epath.Path(path)
    values = []
    for i, line in enumerate(text_lines(path), 1):
        for part in (p for p in SEPARATORS.split(line.strip()) if p):
            try:
                value = float(part)
            except ValueError:
                raise ValueError(f"{path} line {i}: expected integer labels, got {part!r}") from None
            if value != int(value) or not allowed[0] <= value <= allowed[1]:
                raise ValueError(f"{path} line {i}: label {part!r} is not an integer in [{allowed[0]}, {allowed[1]}]")
            values.append(int(value))
    if len(values) != n_frames:
        raise ValueError(f"{path}: {len(values)} labels for {n_frames} frames")
    return np.array(values, np.int8)


def read_name_list(path: epath.PathLike) -> list[str]:
    """Non-empty lines of a sequence list file (`list.txt`, LaSOT `testing_set.txt`)."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: sequence list not found")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path}: no sequence names")
    return names
