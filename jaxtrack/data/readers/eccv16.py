"""eccv16 summarization feature files (SumMe / TVSum as prepared by Zhang et al. ECCV 2016) and their splits.

h5 layout, one group per video key (`video_1`, ...): `features` [N, D] (GoogLeNet pool5 on subsampled
frames), `picks` [N] (the frame index of each feature), `gtscore` [N], `user_summary` [U, n_frames] (0/1),
`change_points` [S, 2] (inclusive KTS segments), `n_frame_per_seg` [S], `n_frames`; optional `gtsummary`
[N], `video_name`. Splits json: `[{"train_keys": [...], "test_keys": [...]}, ...]` (keys may carry a
`<file>/` prefix, as DSNet's do; the part after the last '/' is the video key).
A zero-length video, NaN/inf in `features`, `gtscore` or `user_summary`, and inconsistent lengths, picks or
change points are errors naming the file and the video.
"""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
from absl import logging
from etils import epath

from jaxtrack.data.video import Video

REQUIRED = ("features", "picks", "gtscore", "user_summary", "change_points", "n_frame_per_seg", "n_frames")


def _natural(key: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))


def _video(path: epath.Path, key: str, group: h5py.Group, fps: float) -> Video:
    missing = [k for k in REQUIRED if k not in group]
    if missing:
        raise ValueError(f"{path}: video {key!r} lacks {missing} (has {sorted(group)})")
    where = f"{path}: video {key!r}"
    n = int(np.asarray(group["n_frames"]).reshape(-1)[0])
    features = np.asarray(group["features"], np.float32)
    if n < 1 or not features.size:
        raise ValueError(f"{where}: zero-length video (n_frames={n}, features {features.shape}); remove it from the "
                         "file and its splits")
    picks = np.asarray(group["picks"]).astype(np.int64)
    gtscore = np.asarray(group["gtscore"], np.float32).reshape(-1)
    lengths = {"features": len(features), "picks": len(picks), "gtscore": len(gtscore)}
    if "gtsummary" in group:
        lengths["gtsummary"] = len(np.asarray(group["gtsummary"]).reshape(-1))
    if features.ndim != 2 or len(set(lengths.values())) != 1:
        raise ValueError(f"{where}: mismatched lengths {lengths} (features must be [N, D], got {features.shape})")
    if len(picks) and (picks.min() < 0 or picks.max() >= n or np.any(np.diff(picks) <= 0)):
        raise ValueError(f"{where}: picks must increase strictly within [0, n_frames={n}), got "
                         f"[{picks.min()}, ..., {picks.max()}]")
    summaries = np.asarray(group["user_summary"])
    for name, values in (("features", features), ("gtscore", gtscore), ("user_summary", summaries)):
        bad = ~np.isfinite(np.asarray(values, np.float64))
        if bad.any():
            first = np.argwhere(bad)[0].tolist()
            raise ValueError(f"{where}: {name} {values.shape} holds {int(bad.sum())} NaN/inf values (first at index "
                             f"{first})")
    if summaries.ndim != 2 or summaries.shape[1] != n:
        raise ValueError(f"{where}: user_summary must be [U, n_frames={n}], got {summaries.shape}")
    cps = np.asarray(group["change_points"]).astype(np.int64).reshape(-1, 2)
    per_seg = np.asarray(group["n_frame_per_seg"]).astype(np.int64).reshape(-1)
    if (cps[0, 0] != 0 or cps[-1, 1] != n - 1 or np.any(cps[1:, 0] != cps[:-1, 1] + 1)
            or np.any(cps[:, 1] < cps[:, 0])):
        raise ValueError(f"{where}: change_points must tile [0, n_frames-1={n - 1}] with inclusive segments, got "
                         f"{cps.tolist()[:3]}...{cps.tolist()[-1:]} ({len(cps)} segments)")
    if not np.array_equal(per_seg, cps[:, 1] - cps[:, 0] + 1):
        raise ValueError(f"{where}: n_frame_per_seg ({len(per_seg)} values) disagrees with change_points")
    return Video(name=key, n_frames=n, features=features, picks=picks.astype(np.int32), gt_score=gtscore,
                 user_summaries=(summaries > 0).astype(np.uint8), change_points=cps.astype(np.int32), fps=fps)


def read_eccv16(path: epath.PathLike, *, fps: float = 30.0) -> list[Video]:
    """Every video group of an eccv16 h5 file -> Video (name = group key), in natural key order."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: h5 file not found")
    with h5py.File(path, "r") as f:
        videos = [_video(path, key, f[key], fps) for key in sorted(f.keys(), key=_natural)]
    if not videos:
        raise ValueError(f"{path}: no video groups")
    logging.info("%s: %d videos", path, len(videos))
    return videos


def read_splits(path: epath.PathLike) -> list[dict[str, list[str]]]:
    """The splits of a json file: [{"train_keys": [...], "test_keys": [...]}, ...] with bare video keys."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: splits file not found")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid json ({e})") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: expected a non-empty list of splits, got {type(raw).__name__}")
    splits = []
    for i, split in enumerate(raw):
        if not isinstance(split, dict) or not all(isinstance(split.get(k), list) for k in ("train_keys", "test_keys")):
            raise ValueError(f"{path}: split {i} must be a dict with 'train_keys' and 'test_keys' lists")
        splits.append({k: [str(key).rsplit("/", 1)[-1] for key in split[k]] for k in ("train_keys", "test_keys")})
    return splits


def check_split_keys(splits: list[dict[str, list[str]]], names: list[str], *, splits_path: str, h5_path: str) -> None:
    """Raises ValueError naming the first split whose keys are not all video keys of the h5 file."""
    known = set(names)
    for i, split in enumerate(splits):
        for field, keys in split.items():
            missing = [k for k in keys if k not in known]
            if missing:
                raise ValueError(f"{splits_path}: split {i} {field}: {missing[:5]} not in {h5_path}")
