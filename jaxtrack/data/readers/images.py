"""Frame images on disk: numbered frame listing, cheap integrity check, decoding, and a file-backed VideoDataset."""

from __future__ import annotations

import dataclasses
import glob
import io
from collections.abc import Sequence

import cv2
import numpy as np
from etils import epath
from PIL import Image

from jaxtrack import boxes
from jaxtrack.data.video import Video

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# (leading magic, end marker, format): a file missing its end marker was cut short.
_FORMATS = ((b"\xff\xd8\xff", b"\xff\xd9", "JPEG"), (b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82", "PNG"))


def frame_files(img_dir: epath.PathLike) -> dict[int, epath.Path]:
    """Frame number -> image path for the files of `img_dir` named by number (`0001.jpg`, `00000001.png`)."""
    img_dir = epath.Path(img_dir)
    if not img_dir.is_dir():
        raise FileNotFoundError(f"{img_dir}: image folder not found")
    files = {int(p.stem): p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.stem.isdigit()}
    if not files:
        raise ValueError(f"{img_dir}: no numbered {'/'.join(IMAGE_SUFFIXES)} images")
    return files


def contiguous_frames(files: dict[int, epath.Path], first: int, last: int, where: str) -> tuple[str, ...]:
    """Paths of frames first..last (inclusive); FileNotFoundError naming the first missing frame number."""
    missing = [n for n in range(first, last + 1) if n not in files]
    if missing:
        raise FileNotFoundError(f"{where}: frame {missing[0]} of {first}..{last} has no image file "
                                f"({len(missing)} missing)")
    return tuple(str(files[n]) for n in range(first, last + 1))


def check_image_bytes(data: bytes, where: str) -> None:
    """Raises ValueError unless `data` starts like a JPEG/PNG and ends with its end marker (catches truncated
    or foreign files without decoding)."""
    for magic, end, name in _FORMATS:
        if data.startswith(magic):
            if end not in data[-1024:]:
                raise ValueError(f"{where}: truncated {name} image ({len(data)} bytes, no end marker)")
            return
    raise ValueError(f"{where}: not a JPEG or PNG image ({len(data)} bytes, starting {data[:8]!r})")


def decode_image(data: bytes, where: str) -> np.ndarray:
    """[H, W, 3] uint8 RGB from JPEG/PNG bytes (grey images are expanded); ValueError naming `where` if corrupt."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{where}: cannot decode image ({len(data)} bytes)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image_bytes(path: epath.PathLike) -> bytes:
    """The checked bytes of an image file (FileNotFoundError / ValueError naming the file)."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: image file not found")
    data = path.read_bytes()
    check_image_bytes(data, str(path))
    return data


def read_image(path: epath.PathLike) -> np.ndarray:
    """[H, W, 3] uint8 RGB image of a file."""
    return decode_image(read_image_bytes(path), str(path))


def image_hw(data: bytes, where: str) -> tuple[int, int]:
    """(H, W) of checked JPEG / PNG bytes as `decode_image` gives them (EXIF rotations applied), from the header."""
    try:
        image = Image.open(io.BytesIO(data))
        (w, h), turned = image.size, image.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # orientation tag
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{where}: unreadable image header ({len(data)} bytes: {e})") from None
    return (w, h) if turned else (h, w)


def parse_box(text: str, where: str, hw: tuple[int, int] | None = None) -> np.ndarray:
    """[4] float32 from "x,y,w,h" (brackets allowed), checked by `boxes.check_init_box` (w, h > 0; with `hw`
    (H, W), overlapping the frame); ValueError naming `where` and the text."""
    try:
        box = [float(v) for v in str(text).strip("()[] ").split(",")]
    except ValueError:
        box = []
    if len(box) != 4:
        raise ValueError(f"{where} must be x,y,w,h (4 numbers, 0-based px), got {text!r}")
    return boxes.check_init_box(box, where, hw)


def glob_video(pattern: str, box: str, *, where: str = "frames") -> Video:
    """A Video over the files matching `pattern` (sorted = frame order) with the first frame's `box` "x,y,w,h"
    (later boxes unknown: NaN). Before any tracking, every file is checked (a JPEG / PNG, not cut short) and must
    have frame 0's size, and `box` must overlap frame 0. `where` names the options in error messages, e.g.
    "config.track_video"."""
    paths = tuple(sorted(glob.glob(pattern)))
    if not paths:
        raise FileNotFoundError(f"{where}.frames={pattern!r} matches no file")
    sizes = [image_hw(read_image_bytes(p), p) for p in paths]
    for t, (path, hw) in enumerate(zip(paths, sizes, strict=True)):
        if hw != sizes[0]:
            raise ValueError(f"{path}: frame {t} is {hw[1]}x{hw[0]} (WxH) but frame 0 ({paths[0]}) is "
                             f"{sizes[0][1]}x{sizes[0][0]}: the frames of one video must share one size")
    init = np.full((len(paths), 4), np.nan, np.float32)
    init[0] = parse_box(box, f"{where}.box", sizes[0])
    return Video(epath.Path(paths[0]).parent.name or "video", frame_paths=paths, boxes=init)


@dataclasses.dataclass(frozen=True)
class FileVideos:
    """A VideoDataset over videos whose `frame_paths` point at image files (what the folder readers return)."""

    videos: Sequence[Video]

    def frame(self, video_index: int, t: int) -> np.ndarray:
        video = self.videos[video_index]
        if video.frame_paths is None:
            raise ValueError(f"video {video.name!r} (index {video_index}) has no frame_paths")
        if not 0 <= t < len(video):
            raise IndexError(f"video {video.name!r}: frame {t} out of range [0, {len(video)})")
        return read_image(video.frame_paths[t])
