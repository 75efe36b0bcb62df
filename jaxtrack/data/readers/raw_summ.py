"""Raw summarization annotations: TVSum `ydata-anno.tsv` and SumMe ground-truth `.mat` files."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.io
from etils import epath

from jaxtrack.data.video import Video

SUMME_KEYS = ("user_score", "gt_score", "nFrames", "FPS")


@dataclasses.dataclass(frozen=True)
class TvsumAnnotation:
    """TVSum annotations of one video: `category` (e.g. "VT"), `user_scores` [U, T] float32 in 1..5."""

    video_id: str
    category: str
    user_scores: np.ndarray


def read_tvsum_tsv(path: epath.PathLike) -> list[TvsumAnnotation]:
    """`ydata-anno.tsv`: lines `video_id<TAB>category<TAB>s1,s2,...` (one per user, 20 per video), in order of
    first appearance; ValueError naming the line for a malformed field, a score outside 1..5, or rows of one
    video that disagree in length or category."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: TVSum annotation file not found")
    rows: dict[str, list[np.ndarray]] = {}
    categories: dict[str, tuple[str, int]] = {}
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path} line {i}: expected 3 tab-separated fields (video id, category, scores), "
                             f"got {len(fields)}")
        video_id, category, scores = (f.strip() for f in fields)
        try:
            values = np.array([int(s) for s in scores.split(",")], np.float32)
        except ValueError:
            raise ValueError(f"{path} line {i}: scores must be comma-separated integers, got {scores[:40]!r}") from None
        if values.min() < 1 or values.max() > 5:
            raise ValueError(f"{path} line {i}: scores must lie in 1..5, got [{values.min():g}, {values.max():g}]")
        if video_id in categories:
            first_category, first_line = categories[video_id]
            if category != first_category:
                raise ValueError(f"{path} line {i}: video {video_id!r} has category {category!r}, "
                                 f"but {first_category!r} on line {first_line}")
            if len(values) != len(rows[video_id][0]):
                raise ValueError(f"{path} line {i}: video {video_id!r} has {len(values)} scores, "
                                 f"but {len(rows[video_id][0])} on line {first_line}")
        else:
            categories[video_id] = (category, i)
            rows[video_id] = []
        rows[video_id].append(values)
    if not rows:
        raise ValueError(f"{path}: no annotation lines")
    return [TvsumAnnotation(v, categories[v][0], np.stack(r)) for v, r in rows.items()]


def read_summe_mat(path: epath.PathLike) -> Video:
    """A SumMe `GT/<video>.mat` -> Video(name=<video>, user_scores [U, T] (the mat's `user_score` [T, U]),
    user_summaries = user_scores > 0, gt_score [T], fps, n_frames)."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: SumMe .mat file not found")
    mat = scipy.io.loadmat(str(path))
    missing = [k for k in SUMME_KEYS if k not in mat]
    if missing:
        raise ValueError(f"{path}: missing {missing} (has {sorted(k for k in mat if not k.startswith('__'))})")
    n = int(np.asarray(mat["nFrames"]).reshape(-1)[0])
    user = np.asarray(mat["user_score"], np.float32)
    gt = np.asarray(mat["gt_score"], np.float32).reshape(-1)
    if user.ndim != 2 or user.shape[0] != n:
        raise ValueError(f"{path}: user_score must be [nFrames={n}, users], got {user.shape}")
    if len(gt) != n:
        raise ValueError(f"{path}: gt_score has {len(gt)} values for nFrames={n}")
    return Video(name=path.stem, n_frames=n, user_scores=user.T.copy(), user_summaries=(user.T > 0).astype(np.uint8),
                 gt_score=gt, fps=float(np.asarray(mat["FPS"]).reshape(-1)[0]))
