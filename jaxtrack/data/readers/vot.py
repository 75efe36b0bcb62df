"""VOT short-term folder reader (VOT2013-VOT2019 ST layouts as used by the vot-toolkit and pysot; VOT2020+ masks
as boxes).

Layout: `<root>/list.txt` (sequence folder names; without it every subfolder holding a `groundtruth.txt`, sorted)
and per sequence `<seq>/color/00000001.jpg ...` (VOT2017+) or `<seq>/00000001.jpg ...` (VOT2016 and older),
`<seq>/groundtruth.txt` with one region per frame, comma separated:
- `x,y,w,h` rectangle, or `x1,y1,x2,y2,x3,y3,x4,y4` rotated box (4 corners in order);
- `m<x0>,<y0>,<w>,<h>,<rle...>` mask (VOT2020+): its box is the crop header, which the toolkit writes as the tight
  bounding box of the mask (`encode_mask`); an empty mask (`m0,0,0,0,0`) means the target is absent. Masks have no
  polygon (`read_vot_polygons` raises on them).
Per-frame attribute tags `<tag>.tag` (VOT2017+) or `<tag>.label` (older) for `TAGS`: one 0/1 per line; a missing
file is all 0, a short one is padded with 0 (as the toolkit does). `Video.attributes[tag]` = any frame tagged.

Conventions (votchallenge/toolkit `vot/region/raster.py`, pysot `tools/test.py`): coordinates are 0-based pixel
indices and regions are pixel-inclusive: a rectangle `x,y,w,h` covers pixels x..x+w-1, so it is kept as it is, and
its polygon is the corners (x, y), (x+w-1, y), (x+w-1, y+h-1), (x, y+h-1). Rotated boxes become the axis-aligned
box pysot initialises trackers with (`axis_aligned_box`), which maps such a rectangle's polygon back to `x,y,w,h`.
Rectangles with NaN or a zero size and empty masks get a NaN box and `visible=False`. A sequence with rotated boxes
also keeps them as `Video.polygons` [T, 4, 2] (its rectangles as their boxes' corners), which the VOT protocol
scores against (`jaxtrack.eval.vot`).
"""

from __future__ import annotations

import numpy as np
from absl import logging
from etils import epath

from jaxtrack.boxes import xywh_to_corners
from jaxtrack.data.readers.images import contiguous_frames, frame_files
from jaxtrack.data.readers.text import SEPARATORS, read_name_list, text_lines
from jaxtrack.data.video import Video

FPS = 30.0
TAGS = ("camera_motion", "illum_change", "motion_change", "size_change", "occlusion")


def axis_aligned_box(polygons: np.ndarray) -> np.ndarray:
    """[N, 4] float32 xywh boxes of [N, 8] polygons `x1,y1,...,x4,y4` (pysot `get_axis_aligned_bbox`).

    Centre: mean of the 4 corners. Size: the corners' bounding rectangle (x2-x1, y2-y1) scaled by
    s = sqrt(A1 / A2), A1 = |p1-p2|·|p2-p3| (the rotated box's area), A2 = (x2-x1)(y2-y1), so the box keeps the
    rotated box's area; then +1 since corners are pixel-inclusive: w = s(x2-x1) + 1, h = s(y2-y1) + 1 and
    x = cx - (w-1)/2, y = cy - (h-1)/2. A degenerate polygon (A2 = 0) gives a NaN row.
    """
    p = np.asarray(polygons, np.float64).reshape(-1, 4, 2)
    lo, hi = p.min(1), p.max(1)
    a1 = np.linalg.norm(p[:, 0] - p[:, 1], axis=1) * np.linalg.norm(p[:, 1] - p[:, 2], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(a1 / np.prod(hi - lo, axis=1))
    wh = s[:, None] * (hi - lo) + 1
    box = np.concatenate([p.mean(1) - (wh - 1) / 2, wh], axis=1)
    box[~np.isfinite(box).all(1)] = np.nan
    return box.astype(np.float32)


def _regions(path: epath.Path) -> tuple[np.ndarray, np.ndarray]:
    """([T, 8] float64 values, NaN-padded; [T] int8 kind: 4 rectangle, 8 polygon, 0 mask header) of a groundtruth."""
    values, kinds = [], []
    for i, line in enumerate(text_lines(path), 1):
        text = line.strip()
        mask = text.startswith("m")
        parts = text[1:].split(",")[:4] if mask else [p for p in SEPARATORS.split(text) if p]
        try:
            row = [float(p) for p in parts]
        except ValueError:
            row = []
        if len(row) not in ((4,) if mask else (4, 8)):
            raise ValueError(f"{path} line {i}: expected 4 numbers (x,y,w,h), 8 (x1,y1,...,x4,y4) or a mask "
                             f"'m<x0>,<y0>,<w>,<h>,<rle>', got {line!r}")
        if len(row) == 4 and (row[2] < 0 or row[3] < 0):
            raise ValueError(f"{path} line {i}: negative box size (w={row[2]}, h={row[3]}) in {line!r}")
        values.append(row + [np.nan] * (8 - len(row)))
        kinds.append(0 if mask else len(row))
    return np.array(values), np.array(kinds, np.int8)


def read_vot_polygons(seq_dir: epath.PathLike) -> np.ndarray:
    """[T, 8] float32 polygons `x1,y1,...,x4,y4` of `<seq_dir>/groundtruth.txt` (rectangles as their pixel-inclusive
    corners; NaN rows where the rectangle is NaN or empty). ValueError naming the line of a mask region."""
    path = epath.Path(seq_dir) / "groundtruth.txt"
    values, kinds = _regions(path)
    if (kinds == 0).any():
        raise ValueError(f"{path} line {int(np.argmax(kinds == 0)) + 1}: mask regions have no polygon")
    rect = kinds == 4
    x, y, w, h = values[rect, :4].T
    corners = np.stack([x, y, x + w - 1, y, x + w - 1, y + h - 1, x, y + h - 1], axis=1)
    corners[~((w > 0) & (h > 0))] = np.nan
    values[rect] = corners
    values[~np.isfinite(values).all(1)] = np.nan
    return values.astype(np.float32)


def _tag(seq_dir: epath.Path, tag: str, n: int) -> np.ndarray:
    """[n] bool per-frame tag of `<tag>.tag` or `<tag>.label` (missing file: all False; short file: padded)."""
    path = next((p for p in (seq_dir / f"{tag}.tag", seq_dir / f"{tag}.label") if p.exists()), None)
    if path is None:
        return np.zeros(n, bool)
    lines = [line.strip() for line in path.read_text().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    bad = next((i for i, v in enumerate(lines, 1) if v not in ("0", "1")), None)
    if bad is not None:
        raise ValueError(f"{path} line {bad}: expected 0 or 1, got {lines[bad - 1]!r}")
    if len(lines) > n:
        raise ValueError(f"{path}: {len(lines)} tags for {n} frames")
    return np.array([v == "1" for v in lines] + [False] * (n - len(lines)), bool)


def read_vot_sequence(seq_dir: epath.PathLike) -> Video:
    """One VOT sequence folder -> Video (boxes [T, 4] xywh 0-based, visible [T], `TAGS` flags in `attributes`)."""
    seq_dir = epath.Path(seq_dir)
    if not seq_dir.is_dir():
        raise FileNotFoundError(f"{seq_dir}: VOT sequence folder not found")
    gt = seq_dir / "groundtruth.txt"
    values, kinds = _regions(gt)
    n = len(kinds)
    boxes = values[:, :4].astype(np.float32)
    boxes[kinds == 8] = axis_aligned_box(values[kinds == 8])
    invalid = ~np.isfinite(boxes).all(1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    boxes[invalid] = np.nan
    if invalid.any():
        logging.info("%s: %d of %d regions are NaN, zero-area or empty masks; those frames are marked invalid",
                     gt, int(invalid.sum()), n)
    img_dir = seq_dir / "color" if (seq_dir / "color").is_dir() else seq_dir
    files = frame_files(img_dir)
    if len(files) != n:
        raise ValueError(f"{img_dir}: {len(files)} images but {n} regions in {gt}")
    paths = contiguous_frames(files, 1, n, str(img_dir))
    attributes = {tag: bool(_tag(seq_dir, tag, n).any()) for tag in TAGS}
    polygons = None
    if (kinds == 8).any():  # the rotated boxes as given, the rectangles as their boxes' corners
        polygons = xywh_to_corners(boxes)
        polygons[kinds == 8] = values[kinds == 8].reshape(-1, 4, 2)
        polygons[invalid] = np.nan
    return Video(name=seq_dir.name, frame_paths=paths, boxes=boxes, visible=~invalid, fps=FPS, attributes=attributes,
                 polygons=polygons)


def read_vot(root: epath.PathLike, names: list[str] | None = None) -> list[Video]:
    """Sequences `names` of a VOT root (default: `<root>/list.txt` in its order, else every subfolder holding a
    groundtruth.txt, sorted)."""
    root = epath.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: VOT root folder not found")
    if names is None and (root / "list.txt").exists():
        names = read_name_list(root / "list.txt")
    elif names is None:
        names = sorted(p.name for p in root.iterdir() if (p / "groundtruth.txt").is_file())
        if not names:
            raise ValueError(f"{root}: no list.txt and no sequence folder with a groundtruth.txt")
    videos = [read_vot_sequence(root / name) for name in names]
    logging.info("VOT: %d sequences, %d frames from %s", len(videos), sum(map(len, videos)), root)
    return videos
