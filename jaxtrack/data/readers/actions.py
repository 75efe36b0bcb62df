"""Action recognition datasets with extracted frames: something-something v2 and UCF101 -> (classes, labels, videos).

Both readers return `Clips`: class names, one 0-based label per video (-1 where a split has none), and `Video`s with
`frame_paths` (the images of each video's frame folder, ordered by the last number in their names:
`000001.jpg`, `img_00001.jpg`, ...).

something-something v2 (`root`):
  labels.json                                  {"<template without brackets>": "<class index>", ...} (174)
  something-something-v2-{train,validation,test}.json   [{"id": "78687", "template": "Holding [something] ...", ...}]
  frames/<id>/*.jpg                            frames extracted from `<id>.webm` (e.g. `ffmpeg -i 78687.webm
                                               frames/78687/%06d.jpg`); the webm files themselves are not decoded
  The test split has no labels (-1).
UCF101 (`root`):
  ucfTrainTestlist/classInd.txt                "1 ApplyEyeMakeup" ... (1-based; labels here are 0-based)
  ucfTrainTestlist/{train,test}list0{1,2,3}.txt "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1" (test lists
                                               without the label: the class folder gives it)
  frames/<video>/*.jpg or frames/<Class>/<video>/*.jpg   frames of v_<...>.avi (TSN / mmaction rawframes)
"""

from __future__ import annotations

import dataclasses
import json
import re

from etils import epath

from jaxtrack.data.readers.images import IMAGE_SUFFIXES
from jaxtrack.data.video import Video

SSV2_SPLITS = ("train", "validation", "test")
UCF101_SPLITS = ("train", "test")
_NUMBER = re.compile(r"(\d+)")


@dataclasses.dataclass(frozen=True)
class Clips:
    """A labelled split: `classes` [C] names, `labels` [V] 0-based (-1: unlabelled), `videos` [V]."""

    classes: tuple[str, ...]
    labels: tuple[int, ...]
    videos: tuple[Video, ...]


def frame_folder(folder: epath.Path, where: str) -> tuple[str, ...]:
    """Image paths of a frame folder ordered by the last number in each name; errors name `where` and the folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{where}: frame folder {folder} not found (extract the video's frames there)")
    numbered = []
    for p in folder.iterdir():
        digits = _NUMBER.findall(p.stem)
        if p.suffix.lower() in IMAGE_SUFFIXES and digits:
            numbered.append((int(digits[-1]), str(p)))
    if not numbered:
        raise ValueError(f"{where}: {folder} holds no numbered {'/'.join(IMAGE_SUFFIXES)} images")
    return tuple(p for _, p in sorted(numbered))


def _json(path: epath.Path):
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def read_ssv2(root: epath.PathLike, split: str) -> Clips:
    """something-something v2 `split` ("train", "validation" or "test") from `root` (layout in the module doc)."""
    root = epath.Path(root)
    if split not in SSV2_SPLITS:
        raise ValueError(f"something-something v2: split must be one of {SSV2_SPLITS}, got {split!r}")
    names = _json(root / "labels.json")
    index = {}
    for template, value in names.items():
        if not str(value).isdigit():
            raise ValueError(f"{root / 'labels.json'}: class index of {template!r} must be an integer, got {value!r}")
        index[template] = int(value)
    if sorted(index.values()) != list(range(len(index))):
        raise ValueError(f"{root / 'labels.json'}: class indices must be 0..{len(index) - 1}, each once")
    classes = tuple(sorted(index, key=index.get))
    path = root / f"something-something-v2-{split}.json"
    labels, videos = [], []
    for i, entry in enumerate(_json(path)):
        if "id" not in entry:
            raise ValueError(f"{path}: entry {i} has no 'id'")
        vid = str(entry["id"])
        if split == "test":
            labels.append(-1)
        else:
            template = str(entry.get("template", "")).replace("[", "").replace("]", "")
            if template not in index:
                raise ValueError(f"{path}: entry {i} (id {vid}): template {entry.get('template')!r} is not in "
                                 f"labels.json")
            labels.append(index[template])
        paths = frame_folder(root / "frames" / vid, f"{path} entry {i} (id {vid})")
        videos.append(Video(name=vid, frame_paths=paths, fps=12.0))
    return Clips(classes, tuple(labels), tuple(videos))


def read_ucf101(root: epath.PathLike, split: str, fold: int = 1) -> Clips:
    """UCF101 `split` ("train" or "test") of `fold` (1, 2 or 3) from `root` (layout in the module doc)."""
    root = epath.Path(root)
    if split not in UCF101_SPLITS or fold not in (1, 2, 3):
        raise ValueError(f"UCF101: split must be one of {UCF101_SPLITS} and fold 1, 2 or 3, got {split!r}, {fold}")
    lists = root / "ucfTrainTestlist"
    ind_path = lists / "classInd.txt"
    if not ind_path.exists():
        raise FileNotFoundError(f"{ind_path}: file not found")
    classes = []
    for n, line in enumerate(ind_path.read_text().splitlines(), 1):
        if line.strip():
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != len(classes) + 1:
                raise ValueError(f"{ind_path}:{n}: expected '<{len(classes) + 1}> <ClassName>', got {line!r}")
            classes.append(parts[1])
    position = {c: i for i, c in enumerate(classes)}
    list_path = lists / f"{split}list0{fold}.txt"
    if not list_path.exists():
        raise FileNotFoundError(f"{list_path}: file not found")
    labels, videos = [], []
    for n, line in enumerate(list_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        where = f"{list_path}:{n}"
        if len(parts) not in (1, 2) or "/" not in parts[0]:
            raise ValueError(f"{where}: expected '<Class>/<video>.avi [label]', got {line!r}")
        folder, video = parts[0].split("/", 1)
        if folder not in position:
            raise ValueError(f"{where}: class folder {folder!r} is not in classInd.txt")
        cls = position[folder]
        if len(parts) == 2 and parts[1] != str(cls + 1):
            raise ValueError(f"{where}: label {parts[1]} disagrees with classInd.txt's {cls + 1} for {folder}")
        stem = epath.Path(video).stem
        frames = root / "frames" / stem
        if not frames.is_dir() and (root / "frames" / folder / stem).is_dir():
            frames = root / "frames" / folder / stem
        labels.append(cls)
        videos.append(Video(name=stem, frame_paths=frame_folder(frames, where), fps=25.0))
    if not videos:
        raise ValueError(f"{list_path}: no videos listed")
    return Clips(tuple(classes), tuple(labels), tuple(videos))
