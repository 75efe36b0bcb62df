"""The result store of `--mode=eval`: results that survive `kill -9`, resume where they stopped, and never mix two
trackers' or two video lists' results.

Each evaluated tracker owns `<root>/<tracker>/` (root: `<workdir>/eval/<benchmark>/results`):
  identity.json   {"key", "tracker", "videos"}: whose results the folder holds (`tracker`: a model's family, build
                  kwargs, tracker settings, checkpoint step and a digest of its weights, or a baseline's name and
                  OpenCV version; `videos`: `videos_identity` of the video list). A folder is created with it and
                  renamed into place, so every folder under `<root>` has one.
  result files    one set per finished sequence in the benchmark's official layout (`benchmark.write_result`), each
                  file atomic; a sequence is done when both its boxes and its times file exist (`done`).
  vot/<seq>.json  the sequence's VOT re-initialisation run (`write_vot`), when the protocol runs.
`open_folder` keeps a folder whose key matches and resumes it. Any other folder of that tracker (another identity,
or none recorded) moves to `<root>/../set_aside/<tracker>.<key>/`, never deleted, and a set-aside folder of the
wanted key moves back, so returning to an earlier tracker or video list redoes nothing. `set_aside_others` moves
away the folders of trackers not in this evaluation: `<root>` holds one evaluation's results only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence

import jax
import numpy as np
from etils import epath

from jaxtrack.data.video import Video
from jaxtrack.eval import benchmark
from jaxtrack.eval.vot import VOTRun
from jaxtrack.files import write_atomic

IDENTITY = "identity.json"
SET_ASIDE = "set_aside"  # beside `<root>`


def digest(value) -> str:
    """sha256 hex digest of a JSON-able tree (canonical JSON: sorted keys)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def videos_identity(videos: Sequence[Video]) -> dict:
    """{"count", "digest"} of the video list: names and order, frame counts, ground-truth boxes, and the pixels of
    videos held in memory (generated ones). Videos read from files are identified by name, length and boxes."""
    h = hashlib.sha256()
    for video in videos:
        h.update(json.dumps([video.name, len(video)]).encode())
        if video.boxes is not None:
            h.update(np.ascontiguousarray(video.boxes, np.float64).tobytes())
        for frame in video.frames if video.frames is not None else ():
            h.update(np.ascontiguousarray(frame).tobytes())
    return {"count": len(videos), "digest": h.hexdigest()}


def variables_digest(variables) -> str:
    """sha256 hex digest of a variable tree: every leaf's path, dtype, shape and bytes."""
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(variables)[0]:
        a = np.asarray(leaf)
        h.update(f"{jax.tree_util.keystr(path)}:{a.dtype}:{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def model_identity(family: str, kwargs: dict, tracker_config, step: int, variables) -> dict:
    """What determines a jaxtrack tracker's output: family, build kwargs, tracker settings (a settings dataclass of
    `track.siamese`), checkpoint step and the weights' digest."""
    return {"family": family, "kwargs": kwargs, "settings": type(tracker_config).__name__,
            "track": dataclasses.asdict(tracker_config), "step": int(step), "variables": variables_digest(variables)}


def identity(tracker: dict, videos: Sequence[Video]) -> dict:
    """The identity a tracker folder is keyed on: {"key": digest of the rest, "tracker", "videos"}."""
    body = {"tracker": tracker, "videos": videos_identity(videos)}
    return {"key": digest(body)[:16], **body}


def _recorded_key(folder: epath.Path) -> str | None:
    try:
        return json.loads((folder / IDENTITY).read_text())["key"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None


def _set_aside(folder: epath.Path) -> epath.Path:
    """Renames `folder` to `<root>/../set_aside/<name>.<its key>` (a fresh name if that one is taken)."""
    key = _recorded_key(folder) or "unkeyed"
    target = folder.parent.parent / SET_ASIDE / f"{folder.name}.{key}"
    if target.exists():
        target = target.parent / f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(folder, target)
    return target


def open_folder(root: epath.PathLike, tracker: str, ident: dict) -> epath.Path:
    """`<root>/<tracker>/` holding the results of identity `ident` (`identity`): the folder itself when its key
    matches (resume), else a set-aside folder of that key moved back, else a fresh folder; a folder of another
    identity is set aside first (module docstring). Returns the folder."""
    folder = epath.Path(root) / tracker
    if folder.exists() and _recorded_key(folder) == ident["key"]:
        return folder
    if folder.exists():
        _set_aside(folder)
    kept = folder.parent.parent / SET_ASIDE / f"{tracker}.{ident['key']}"
    if kept.is_dir() and _recorded_key(kept) == ident["key"]:
        os.replace(kept, folder)
        return folder
    fresh = folder.parent / f".{tracker}.new"
    if fresh.exists():  # left by a run killed while creating it: holds no result
        shutil.rmtree(fresh)
    write_atomic(fresh / IDENTITY, json.dumps(ident, indent=1).encode())
    os.replace(fresh, folder)
    return folder


def set_aside_others(root: epath.PathLike, trackers: Sequence[str]) -> list[epath.Path]:
    """Sets aside every tracker folder under `root` whose name is not in `trackers`; returns where they went."""
    root = epath.Path(root)
    if not root.is_dir():
        return []
    return [_set_aside(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".") and p.name not in trackers]


def done(layout: str, root: epath.PathLike, tracker: str, seqs: Sequence[str]) -> list[bool]:
    """Per sequence: both its result files (boxes and times) exist."""
    return [all(p.exists() for p in benchmark.result_paths(layout, root, tracker, s)) for s in seqs]


def vot_path(root: epath.PathLike, tracker: str, seq: str) -> epath.Path:
    return epath.Path(root) / tracker / "vot" / f"{seq}.json"


def write_vot(root: epath.PathLike, tracker: str, seq: str, run: VOTRun) -> None:
    """One sequence's VOT run as JSON (NaN overlaps as NaN), atomically."""
    data = {"overlaps": run.overlaps.tolist(), "inits": list(run.inits), "failures": list(run.failures)}
    write_atomic(vot_path(root, tracker, seq), json.dumps(data).encode())


def read_vot(root: epath.PathLike, tracker: str, seq: str) -> VOTRun:
    d = json.loads(vot_path(root, tracker, seq).read_text())
    return VOTRun(np.asarray(d["overlaps"], np.float64), tuple(d["inits"]), tuple(d["failures"]))
