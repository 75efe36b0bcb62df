"""Non-learned baselines behind the tracker interface `init(frame, box)` / `track(frame) -> (box, score)`:
OpenCV CSRT and KCF (opencv-contrib), and a static box. Frames are [H, W, 3] uint8 RGB, boxes [4] xywh 0-based.

    tracker = make("csrt")
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from jaxtrack import boxes


def _opencv_factory(name: str) -> Callable[[], object]:
    """The `create` of OpenCV's `Tracker<name>` (OpenCV >= 4.5 main namespace, else `cv2.legacy`)."""
    cls = getattr(cv2, f"Tracker{name}", None) or getattr(getattr(cv2, "legacy", None), f"Tracker{name}", None)
    if cls is None:
        raise ImportError(f"cv2.Tracker{name} is unavailable (OpenCV {cv2.__version__}); install "
                          "opencv-contrib-python-headless")
    return cls.create


class OpenCVTracker:
    """An OpenCV tracker (`kind` "CSRT" or "KCF"). Integer boxes go in (OpenCV's API); when the update fails the
    last box is kept and the score is 0, else 1."""

    def __init__(self, kind: str):
        self.name = kind.lower()
        self._create = _opencv_factory(kind)
        self._tracker = None
        self._box = None

    def init(self, frame, box) -> None:
        box = boxes.check_init_box(box, self.name, np.shape(frame)[:2]).astype(np.float64)
        self._tracker = self._create()
        rect = tuple(round(float(v)) for v in (box[0], box[1], max(box[2], 1), max(box[3], 1)))
        self._tracker.init(cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR), rect)
        self._box = box.astype(np.float32)

    def track(self, frame) -> tuple[np.ndarray, float]:
        if self._tracker is None:
            raise RuntimeError(f"{self.name}: track() called before init()")
        ok, rect = self._tracker.update(cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2BGR))
        if ok:
            self._box = np.asarray(rect, np.float32)
        return self._box.copy(), float(ok)


class StaticTracker:
    """Returns the initial box on every frame (score 1): the floor any tracker should beat."""

    name = "static"

    def __init__(self):
        self._box = None

    def init(self, frame, box) -> None:
        del frame
        self._box = np.asarray(box, np.float32).copy()

    def track(self, frame) -> tuple[np.ndarray, float]:
        del frame
        if self._box is None:
            raise RuntimeError("static: track() called before init()")
        return self._box.copy(), 1.0


BASELINES: dict[str, Callable[[], object]] = {
    "csrt": lambda: OpenCVTracker("CSRT"),
    "kcf": lambda: OpenCVTracker("KCF"),
    "static": StaticTracker,
}


def make(name: str):
    """A fresh baseline tracker registered as `name`."""
    if name not in BASELINES:
        raise KeyError(f"baseline {name!r} is not registered; expected one of {sorted(BASELINES)}")
    return BASELINES[name]()
