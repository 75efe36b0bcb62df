"""LaSOT folder reader.

Layout: `<root>/<class>/<class>-<n>/img/00000001.jpg ...` with `groundtruth.txt` (comma-separated `x,y,w,h`,
1-based pixels like OTB, converted to 0-based), `full_occlusion.txt` and `out_of_view.txt` (comma-separated
0/1 per frame). Frames fully occluded or out of view get a NaN box and `visible=False`. The official
test split is listed in `<root>/testing_set.txt` when present.
"""

from __future__ import annotations

import numpy as np
from absl import logging
from etils import epath

from jaxtrack.data.readers.images import contiguous_frames, frame_files
from jaxtrack.data.readers.text import read_boxes, read_labels, read_name_list
from jaxtrack.data.video import Video

FPS = 30.0
TEST_LIST = "testing_set.txt"


def read_lasot_sequence(seq_dir: epath.PathLike) -> Video:
    """One LaSOT sequence folder (`<class>-<n>`) -> Video."""
    seq_dir = epath.Path(seq_dir)
    boxes = read_boxes(seq_dir / "groundtruth.txt", one_based=True)
    n = len(boxes)
    files = frame_files(seq_dir / "img")
    if len(files) != n:
        raise ValueError(f"{seq_dir / 'img'}: {len(files)} images but {n} boxes in {seq_dir / 'groundtruth.txt'}")
    paths = contiguous_frames(files, 1, n, str(seq_dir / "img"))
    occluded = read_labels(seq_dir / "full_occlusion.txt", n)
    out = read_labels(seq_dir / "out_of_view.txt", n)
    visible = (occluded == 0) & (out == 0) & np.isfinite(boxes[:, 0])
    boxes[~visible] = np.nan
    return Video(name=seq_dir.name, frame_paths=paths, boxes=boxes, visible=visible, fps=FPS,
                 attributes={"OCC": bool(occluded.any()), "OV": bool(out.any())})


def sequence_names(root: epath.PathLike) -> list[str]:
    """Every `<class>-<n>` sequence under `root` that has a groundtruth.txt, sorted."""
    root = epath.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: LaSOT root folder not found")
    names = sorted(p.parent.name for p in root.glob("*/*/groundtruth.txt"))
    if not names:
        raise ValueError(f"{root}: no <class>/<class>-<n>/groundtruth.txt found")
    return names


def read_lasot(root: epath.PathLike, names: list[str] | None = None) -> list[Video]:
    """Sequences `names` (default: all, sorted) of a LaSOT root; `<class>` is the name up to its last '-'."""
    root = epath.Path(root)
    names = sequence_names(root) if names is None else names
    videos = []
    for name in names:
        seq_dir = root / name.rsplit("-", 1)[0] / name
        if not seq_dir.is_dir():
            raise FileNotFoundError(f"{seq_dir}: LaSOT sequence folder not found")
        videos.append(read_lasot_sequence(seq_dir))
    logging.info("LaSOT: %d sequences, %d frames from %s", len(videos), sum(map(len, videos)), root)
    return videos


def split_names(root: epath.PathLike) -> dict[str, list[str]]:
    """{"test": names, "train": the others} from `<root>/testing_set.txt`, or {"test": all} without it."""
    root = epath.Path(root)
    names = sequence_names(root)
    if not (root / TEST_LIST).exists():
        logging.info("%s: no %s, every sequence goes to the test split", root, TEST_LIST)
        return {"test": names}
    test = read_name_list(root / TEST_LIST)
    unknown = sorted(set(test) - set(names))
    if unknown:
        raise ValueError(f"{root / TEST_LIST}: sequences {unknown[:5]} not found under {root}")
    return {"train": [n for n in names if n not in set(test)], "test": test}
