"""OTB-2013/2015 (OTB-100) folder reader.

Layout: `<root>/<seq>/img/0001.jpg ...` and `<root>/<seq>/groundtruth_rect.txt`, or one file per target
`groundtruth_rect.<k>.txt` (Jogging, Skating2, Human4: videos `Jogging.1`, `Jogging.2`; empty files such as
Human4's `.1` are skipped and logged). Boxes: `x y w h` with ',', tab or space separators, 1-based pixels
(converted to 0-based). Frame ranges follow OTB's official sequence table where they differ from "every
image from the first one" (`FRAME_RANGES`).
"""

from __future__ import annotations

import re

from absl import logging
from etils import epath

from jaxtrack.data.readers.images import contiguous_frames, frame_files
from jaxtrack.data.readers.text import read_boxes
from jaxtrack.data.video import Video

# Sequence -> (first, last) image number of the annotated range, from the OTB benchmark's sequence table
# (tracker_benchmark configSeqs; pytracking's otbdataset.py carries the same numbers). David's and BlurCar*'s
# ground truth starts at a later image; Tiger1's file still has lines for images 1-5, which are skipped;
# Football1/Freeman3/Freeman4/Diving have more images than annotations.
FRAME_RANGES = {
    "David": (300, 770),
    "BlurCar1": (247, 988),
    "BlurCar3": (3, 359),
    "BlurCar4": (18, 397),
    "Tiger1": (6, 354),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
}
FPS = 30.0
_GT = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")


def _targets(seq_dir: epath.Path) -> list[tuple[str, epath.Path]]:
    """(video name, ground-truth file) of every annotated target of a sequence folder."""
    found = sorted((int(m.group(1) or 0), p) for p in seq_dir.iterdir() if (m := _GT.match(p.name)))
    nonempty = []
    for k, path in found:
        if path.read_text().strip():
            nonempty.append((k, path))
        else:
            logging.warning("%s: empty ground-truth file skipped", path)
    if len(nonempty) == 1:
        return [(seq_dir.name, nonempty[0][1])]
    return [(f"{seq_dir.name}.{k}", path) for k, path in nonempty]


def read_otb_target(seq_dir: epath.PathLike, gt_path: epath.PathLike, name: str) -> Video:
    """One target of an OTB sequence -> Video with the annotated frame range."""
    seq_dir, gt_path = epath.Path(seq_dir), epath.Path(gt_path)
    files = frame_files(seq_dir / "img")
    boxes = read_boxes(gt_path, one_based=True)
    first, last = FRAME_RANGES.get(seq_dir.name, (min(files), min(files) + len(boxes) - 1))
    n = last - first + 1
    if len(boxes) == last and first > 1:  # ground truth lists images 1..last; the range starts later
        boxes = boxes[first - 1:]
    if len(boxes) != n:
        raise ValueError(f"{gt_path}: {len(boxes)} boxes for the {n} frames {first}..{last} of {seq_dir.name}")
    if seq_dir.name not in FRAME_RANGES and len(files) != n:
        raise ValueError(f"{seq_dir / 'img'}: {len(files)} images but {n} boxes in {gt_path}; a sequence whose "
                         "annotated range differs from its images needs an entry in otb.FRAME_RANGES")
    paths = contiguous_frames(files, first, last, str(seq_dir / "img"))
    return Video(name=name, frame_paths=paths, boxes=boxes, fps=FPS)


def read_otb(root: epath.PathLike, names: tuple[str, ...] | None = None) -> list[Video]:
    """Every target of every sequence folder under `root` holding ground truth (sorted), or of the folders
    `names` only."""
    root = epath.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: OTB root folder not found")
    if names is None:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and any(_GT.match(f.name) for f in p.iterdir()))
        if not dirs:
            raise ValueError(f"{root}: no sequence folder with a groundtruth_rect*.txt")
    else:
        dirs = [root / n for n in names]
    videos = []
    for seq_dir in dirs:
        if not seq_dir.is_dir():
            raise FileNotFoundError(f"{seq_dir}: OTB sequence folder not found")
        targets = _targets(seq_dir)
        if not targets:
            raise ValueError(f"{seq_dir}: no non-empty groundtruth_rect*.txt")
        videos += [read_otb_target(seq_dir, gt, name) for name, gt in targets]
    logging.info("OTB: %d videos from %s", len(videos), root)
    return videos
