"""GOT-10k folder reader.

Layout: `<root>/<split>/list.txt` (one sequence name per line) and per sequence `<root>/<split>/<seq>/`
with `00000001.jpg ...`, `groundtruth.txt` (comma-separated `x,y,w,h`, 0-based pixels: kept as they are;
the test split holds the first frame's box only), and in train/val `absence.label` (1 = target absent),
`cover.label` (0..8 visible-ratio class) and `cut_by_image.label` (1 = cut by the image border), one value
per line. `meta_info.ini` (object/motion classes) is not read.
"""

from __future__ import annotations

import numpy as np
from absl import logging
from etils import epath

from jaxtrack.data.readers.images import contiguous_frames, frame_files
from jaxtrack.data.readers.text import read_boxes, read_labels, read_name_list
from jaxtrack.data.video import Video

SPLITS = ("train", "val", "test")
FPS = 10.0


def read_got10k_sequence(seq_dir: epath.PathLike, *, split: str) -> Video:
    """One GOT-10k sequence folder -> Video (absent frames: NaN box, visible False)."""
    seq_dir = epath.Path(seq_dir)
    files = frame_files(seq_dir)
    n = max(files)
    paths = contiguous_frames(files, 1, n, str(seq_dir))
    boxes = read_boxes(seq_dir / "groundtruth.txt", one_based=False)
    if split == "test":
        if len(boxes) != 1:
            raise ValueError(f"{seq_dir / 'groundtruth.txt'}: test split expects the first frame's box only, "
                             f"got {len(boxes)} lines")
        boxes = np.concatenate([boxes, np.full((n - 1, 4), np.nan, np.float32)])
        return Video(name=seq_dir.name, frame_paths=paths, boxes=boxes, visible=np.isfinite(boxes[:, 0]), fps=FPS)
    if len(boxes) != n:
        raise ValueError(f"{seq_dir / 'groundtruth.txt'}: {len(boxes)} boxes for {n} frames in {seq_dir}")
    absence = read_labels(seq_dir / "absence.label", n)
    cover = read_labels(seq_dir / "cover.label", n, allowed=(0, 8))
    cut = read_labels(seq_dir / "cut_by_image.label", n)
    visible = (absence == 0) & np.isfinite(boxes[:, 0])
    boxes[~visible] = np.nan
    return Video(
        name=seq_dir.name, frame_paths=paths, boxes=boxes, visible=visible, cover=cover, fps=FPS,
        # Occlusion: <= 90% visible without being cut by the border; out of view: cut by the border or absent.
        attributes={"OCC": bool(np.any((cover <= 6) & (cut == 0))), "OV": bool(np.any((cut == 1) | (absence == 1)))},
    )


def read_got10k(root: epath.PathLike, split: str) -> list[Video]:
    """All sequences of `<root>/<split>/list.txt`, in list order."""
    if split not in SPLITS:
        raise ValueError(f"read_got10k: split must be one of {SPLITS}, got {split!r}")
    split_dir = epath.Path(root) / split
    videos = [read_got10k_sequence(split_dir / name, split=split)
              for name in read_name_list(split_dir / "list.txt")]
    logging.info("GOT-10k %s: %d sequences, %d frames from %s", split, len(videos), sum(map(len, videos)), split_dir)
    return videos
