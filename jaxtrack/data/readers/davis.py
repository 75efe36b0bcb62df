"""DAVIS 2016 / 2017 folder reader (semi-supervised video object segmentation).

Layout (the DAVIS-2017 trainval download): `<root>/ImageSets/<year>/<split>.txt` (one sequence name per line),
`<root>/JPEGImages/<resolution>/<seq>/00000.jpg ...` and `<root>/Annotations/<resolution>/<seq>/00000.png ...`:
palette PNGs whose index is the object id (0 background, 1..K objects). Index 255 (void) is read as background,
as the DAVIS evaluation code does. The objects are those of the first frame: a later index above K is an error
that names the file. DAVIS 2016 is single-object: every object id is merged into object 1, as in the DAVIS 2016
protocol.
Each `Video` has `frame_paths` and `masks` [T, H, W] uint8. Its `boxes` are the tight boxes of object 1's masks
(NaN where absent), and `object_video` gives the same record for any other object.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from absl import logging
from etils import epath
from PIL import Image

from jaxtrack import boxes
from jaxtrack.data.readers.text import read_name_list
from jaxtrack.data.video import Video

YEARS = (2016, 2017)
SPLITS = ("train", "val")
VOID = 255


def read_label_png(path: epath.PathLike) -> np.ndarray:
    """[H, W] uint8 palette indices of an indexed ('P') or greyscale ('L') PNG; ValueError naming the file."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        with Image.open(path) as im:
            if im.mode not in ("P", "L"):
                raise ValueError(f"{path}: expected an indexed (palette) PNG, got mode {im.mode!r}")
            return np.array(im, np.uint8)
    except OSError as err:
        raise ValueError(f"{path}: unreadable PNG ({err})") from None


def palette() -> list[int]:
    """DAVIS's (= PASCAL VOC's) 256-colour palette, flat [768] RGB: index 1 dark red, 2 dark green, ..."""
    colours = []
    for i in range(256):
        r = g = b = 0
        for bit in range(8):
            r |= ((i >> (3 * bit)) & 1) << (7 - bit)
            g |= ((i >> (3 * bit + 1)) & 1) << (7 - bit)
            b |= ((i >> (3 * bit + 2)) & 1) << (7 - bit)
        colours += [r, g, b]
    return colours


def label_png_bytes(label: np.ndarray) -> bytes:
    """[H, W] uint8 object ids -> an indexed PNG with DAVIS's palette (read back by `read_label_png`)."""
    image = Image.fromarray(np.asarray(label, np.uint8), mode="P")
    image.putpalette(palette())
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def image_size(path: epath.PathLike) -> tuple[int, int]:
    """(H, W) of an image file from its header; ValueError naming the file."""
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except OSError as err:
        raise ValueError(f"{path}: unreadable image ({err})") from None


def read_frame_label(ann: epath.PathLike, frame: epath.PathLike) -> np.ndarray:
    """[H, W] uint8 label map of annotation `ann` for the image `frame`, void (255) read as background; ValueError
    naming `ann` when the two sizes differ."""
    label, (h, w) = read_label_png(ann), image_size(frame)
    if label.shape != (h, w):
        raise ValueError(f"{ann}: annotation is {label.shape[1]}x{label.shape[0]} but frame {epath.Path(frame).name} "
                         f"is {w}x{h} (WxH)")
    return np.where(label == VOID, 0, label)


def read_davis_sequence(root: epath.PathLike, seq: str, *, year: int = 2017, resolution: str = "480p") -> Video:
    """One sequence -> Video with every frame's label map (see the module docstring)."""
    root = epath.Path(root)
    img_dir, ann_dir = root / "JPEGImages" / resolution / seq, root / "Annotations" / resolution / seq
    frames = sorted(p for p in img_dir.glob("*.jpg")) if img_dir.is_dir() else []
    if not frames:
        raise FileNotFoundError(f"{img_dir}: no .jpg frames for sequence {seq!r}")
    masks = []
    for i, frame in enumerate(frames):
        ann = ann_dir / f"{frame.stem}.png"
        label = read_frame_label(ann, frame)
        if year == 2016:
            label = (label > 0).astype(np.uint8)
        if i == 0:
            n_objects = int(label.max())
            if not n_objects:
                raise ValueError(f"{ann}: the first frame's annotation holds no object")
        elif label.max() > n_objects:
            raise ValueError(f"{ann}: palette index {int(label.max())} out of range: the first frame has objects "
                             f"1..{n_objects}")
        masks.append(label)
    masks = np.stack(masks)
    return Video(name=seq, frame_paths=tuple(map(str, frames)), masks=masks, boxes=boxes.mask_to_xywh(masks == 1),
                 fps=24.0)


def object_video(video: Video, object_id: int) -> Video:
    """`video` seen as object `object_id` alone: masks 0/1 and the object's boxes; name `<seq>_<id>`."""
    masks = (video.masks == object_id).astype(np.uint8)
    return dataclasses.replace(video, name=f"{video.name}_{object_id}", masks=masks, boxes=boxes.mask_to_xywh(masks))


def sequence_names(root: epath.PathLike, *, year: int = 2017, split: str = "val") -> list[str]:
    """The names of `<root>/ImageSets/<year>/<split>.txt`, in list order."""
    if year not in YEARS or split not in SPLITS:
        raise ValueError(f"DAVIS: year must be one of {YEARS} and split one of {SPLITS}, got {year!r}, {split!r}")
    return read_name_list(epath.Path(root) / "ImageSets" / str(year) / f"{split}.txt")


def read_davis(root: epath.PathLike, *, year: int = 2017, split: str = "val", resolution: str = "480p") -> list[Video]:
    """Every sequence of the split, in list order (all label maps in memory: DAVIS 2017 val at 480p is ~0.8 GB;
    read one sequence at a time with `sequence_names` + `read_davis_sequence` when that matters)."""
    videos = [read_davis_sequence(root, name, year=year, resolution=resolution)
              for name in sequence_names(root, year=year, split=split)]
    logging.info("DAVIS %d %s: %d sequences, %d frames from %s", year, split, len(videos), sum(map(len, videos)), root)
    return videos
