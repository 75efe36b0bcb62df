"""YouTube-VOS folder reader (semi-supervised video object segmentation, sparse annotations).

Layout (the YouTube-VOS 2018 / 2019 downloads): `<root>/<split>/meta.json`,
`{"videos": {<vid>: {"objects": {<id>: {"category": str, "frames": [<frame>, ...]}}}}}` (object id = the palette
index of its pixels in the annotations, frames = 5-digit frame stems, not necessarily from 00000),
`<root>/<split>/JPEGImages/<vid>/<frame>.jpg` and `<root>/<split>/Annotations/<vid>/<frame>.png` (palette PNGs).
A video's frames are the union of its objects' listed frames, in order (what JPEGImages holds; SiamMask's loader
does the same). Annotations are sparse: in `train` every listed frame has one (every 5th frame of the video); in
the other splits (`valid`, `test`) only the first listed frame of each object. A listed annotation that is missing,
a palette index that meta.json does not list for the video, an annotation whose size is not its frame's, and a
malformed meta.json are errors that name the file.
Semi-supervised protocol: object k is given in its `first` frame, the first annotated frame from its first listed
frame on that holds a pixel of it (meta.json lists a few train objects from frames where they are not yet
visible), and tracked through its `last` listed frame.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from absl import logging
from etils import epath

from jaxtrack import boxes
from jaxtrack.data.readers.davis import image_size, read_frame_label
from jaxtrack.data.video import Video

FULLY_ANNOTATED_SPLITS = ("train",)  # every listed frame annotated; other splits: each object's first frame only


@dataclasses.dataclass(frozen=True)
class VOSObject:
    """One target: its palette index `id`, `category` ("" when unknown) and the frame indices it is given in
    (`first`) and tracked through (`last`, inclusive)."""

    id: int
    category: str
    first: int
    last: int


@dataclasses.dataclass(frozen=True)
class VOSSequence:
    """A sequence with (possibly sparse) label maps.

    Attributes:
      video: `frame_paths`, `masks` [T, H, W] uint8 label maps (all 0 on frames without annotation), `boxes` the
        tight boxes of the first object (NaN where absent or not annotated).
      annotated: [T] bool, frames with a ground-truth label map.
      objects: the targets, by id.
    """

    video: Video
    annotated: np.ndarray
    objects: tuple[VOSObject, ...]

    @property
    def name(self) -> str:
        return self.video.name

    @classmethod
    def dense(cls, video: Video) -> VOSSequence:
        """A fully annotated sequence (DAVIS): objects 1..K of frame 0, given in frame 0, tracked to the end."""
        n = int(video.masks[0].max())
        return cls(video, np.ones(len(video), bool),
                   tuple(VOSObject(k, "", 0, len(video) - 1) for k in range(1, n + 1)))


def _meta_error(path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}; expected {{\"videos\": {{<vid>: {{\"objects\": {{<id>: {{\"category\": str, "
                      f"\"frames\": [\"00000\", ...]}}}}}}}}}}")


def read_meta(root: epath.PathLike, split: str) -> dict[str, list[tuple[int, str, list[str]]]]:
    """`<root>/<split>/meta.json` -> {vid: [(object id, category, listed frame stems), ...] by id}, in file order;
    ValueError naming the file and the entry for anything malformed."""
    path = epath.Path(root) / split / "meta.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found (YouTube-VOS split {split!r})")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict) or not videos:
        raise _meta_error(path, "no \"videos\" object, or an empty one")
    out = {}
    for vid, entry in videos.items():
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objects, dict) or not objects:
            raise _meta_error(path, f"video {vid!r} has no \"objects\" object, or an empty one")
        rows = []
        for key, obj in objects.items():
            frames = obj.get("frames") if isinstance(obj, dict) else None
            if not (key.isdigit() and 1 <= int(key) <= 254):
                raise _meta_error(path, f"video {vid!r}: object id {key!r} is not an integer in 1..254")
            if not isinstance(frames, list) or not frames or not all(isinstance(f, str) and f for f in frames):
                raise _meta_error(path, f"video {vid!r} object {key}: \"frames\" must be a non-empty list of frame "
                                        f"names, got {frames!r}")
            if frames != sorted(set(frames)):
                raise _meta_error(path, f"video {vid!r} object {key}: \"frames\" must be increasing and distinct")
            rows.append((int(key), str(obj.get("category", "")), frames))
        out[vid] = sorted(rows)
    return out


def read_youtube_vos_sequence(root: epath.PathLike, split: str, vid: str,
                              objects: list[tuple[int, str, list[str]]]) -> VOSSequence:
    """One video of `read_meta`'s entry `objects` -> VOSSequence (see the module docstring)."""
    base = epath.Path(root) / split
    stems = sorted({f for _, _, frames in objects for f in frames})
    index = {s: t for t, s in enumerate(stems)}
    frame_paths = [base / "JPEGImages" / vid / f"{s}.jpg" for s in stems]
    for path in frame_paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: frame listed in {base / 'meta.json'} not found")
    hw = image_size(frame_paths[0])
    dense = split in FULLY_ANNOTATED_SPLITS
    wanted = sorted({index[f] for _, _, frames in objects for f in (frames if dense else frames[:1])})
    ids = {k for k, _, _ in objects}
    masks, annotated = np.zeros((len(stems), *hw), np.uint8), np.zeros(len(stems), bool)
    for t in wanted:
        ann = base / "Annotations" / vid / f"{stems[t]}.png"
        if image_size(frame_paths[t]) != hw:
            raise ValueError(f"{frame_paths[t]}: frame is {image_size(frame_paths[t])[::-1]} but the video's first "
                             f"frame {stems[0]}.jpg is {hw[::-1]} (WxH): the frames of one video must share one size")
        label = read_frame_label(ann, frame_paths[t])
        extra = sorted(set(np.unique(label).tolist()) - ids - {0})
        if extra:
            raise ValueError(f"{ann}: palette index {extra[0]} is not an object of video {vid!r} in "
                             f"{base / 'meta.json'} (objects {sorted(ids)})")
        masks[t], annotated[t] = label, True
    targets = []
    for k, category, frames in objects:
        start = index[frames[0]]
        first = next((t for t in wanted if t >= start and (masks[t] == k).any()), None)
        if first is None:
            raise ValueError(f"{base / 'Annotations' / vid / (frames[0] + '.png')}: object {k} of video {vid!r} "
                             f"(first listed frame {frames[0]}) has no pixel in any annotation from that frame on")
        targets.append(VOSObject(k, category, first, index[frames[-1]]))
    video = Video(name=vid, frame_paths=tuple(map(str, frame_paths)), masks=masks,
                  boxes=np.where(annotated[:, None], boxes.mask_to_xywh(masks == objects[0][0]), np.nan), fps=6.0)
    return VOSSequence(video, annotated, tuple(targets))


def read_youtube_vos(root: epath.PathLike, split: str = "valid", max_videos: int = 0) -> list[VOSSequence]:
    """The split's videos in meta.json order (the first `max_videos` when > 0), label maps in memory."""
    meta = read_meta(root, split)
    names = list(meta)[:max_videos] if max_videos else list(meta)
    seqs = [read_youtube_vos_sequence(root, split, vid, meta[vid]) for vid in names]
    logging.info("YouTube-VOS %s: %d videos, %d objects from %s", split, len(seqs), sum(len(s.objects) for s in seqs),
                 root)
    return seqs
