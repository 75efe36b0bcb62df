"""Batched tracking: N sequences at once, the per-frame step vmapped over sequences in ONE jitted call.

Frames of different sizes are zero-padded to a common [H, W] (each state keeps its valid `image_hw`, so crops pad
with the mean colour exactly as on the unpadded frame); sequences that have ended are masked: their state is
carried unchanged and their outputs are NaN (masks 0). A model with SiamMask's mask branch
(`track.siammask.has_masks`) is stepped by `track.siammask.step` and also gives each frame's mask and rotated box.
With a device mesh the sequences are split over its devices; a mesh over several processes
(`sharding.make_mesh()` after `jax.distributed.initialize`) splits them over the processes first (round robin),
each tracking its share on its own devices, and gathers the results to all.

    boxes, scores = track_sequences(model, config, variables, frames_list, init_boxes)   # boxes [N, T_max, 4]
    boxes, scores, masks, polygons = track_sequences(siammask_model, ...)                  # SiamMask
Timing: `frames_per_second`, which `launch.py --experiment=tracking_bench` runs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from jaxtrack import boxes, sharding
from jaxtrack.track import siamese, siammask


def _pad(frames: Sequence[np.ndarray], hw: tuple[int, int]) -> np.ndarray:
    """[N, H, W, 3] uint8: each [h, w, 3] frame zero-padded at the bottom/right to `hw` (None -> zeros)."""
    out = np.zeros((len(frames), *hw, 3), np.uint8)
    for i, f in enumerate(frames):
        if f is not None:
            out[i, :f.shape[0], :f.shape[1]] = f
    return out


def make_fns(model, config):
    """(init [N] -> states, step [N] -> (states, boxes, scores[, masks])), both jitted and vmapped over sequences.
    init(variables, frames [N, H, W, 3], boxes [N, 4], image_hw [N, 2]);
    step(variables, states, frames [N, H, W, 3], active [N] bool): boxes [N, 4], scores [N] (NaN where not active)
    and, for a model with masks, masks [N, H, W] uint8 (0 where not active)."""
    init = jax.vmap(functools.partial(siamese.init_state, model, config), in_axes=(None, 0, 0, 0))
    frame_step = siammask.step if siammask.has_masks(model) else siamese.step

    def step(variables, states, frames, active):
        new, *outs = jax.vmap(functools.partial(frame_step, model, config), in_axes=(None, 0, 0))(
            variables, states, frames)
        where = lambda a, n, o: jnp.where(a.reshape(-1, *([1] * (n.ndim - 1))), n, o)
        states = jax.tree.map(functools.partial(where, active), new, states)
        blank = lambda o: jnp.asarray(jnp.nan if jnp.issubdtype(o.dtype, jnp.floating) else 0, o.dtype)
        return states, *(where(active, o, blank(o)) for o in outs)

    return jax.jit(init), jax.jit(step)


def track_sequences(model, config, variables, videos: Sequence[Sequence[np.ndarray]], init_boxes, fns=None,
                    mesh: Mesh | None = None):
    """Tracks N sequences together. videos: N frame lists ([h_i, w_i, 3] uint8 each, lengths T_i);
    init_boxes [N, 4] xywh of frame 0. Returns (boxes [N, T_max, 4], scores [N, T_max]); row i holds the init box
    at t = 0 and NaN after T_i. A model with masks (SiamMask: `siammask.has_masks`) returns (boxes, scores, masks,
    polygons): masks [N, T_max, H, W] uint8 (1 = target; H, W the largest frame sizes, sequence i's mask in
    [i, t, :h_i, :w_i], 0 elsewhere and after T_i; frame 0: the init box filled, `boxes.box_mask`) and polygons
    [N, T_max, 4, 2] float32, the rotated boxes (`siammask.rotated_box` of each mask; frame 0: the init box's
    corners; NaN after T_i), as `eval.benchmark.run_sequence` gives a MaskTracker's. `fns`: reuse
    `make_fns(model, config)` across calls (one compile). `mesh`: a `train.sharding.make_mesh()`: the sequences are
    split over its "data" axis (padded to a multiple of its size with finished one-frame copies) and the parameters
    replicated. A mesh spanning several processes needs the same arguments on every process (a collective): process
    p tracks sequences p, p + P, ... on its devices of `mesh`, and every process returns all N rows."""
    init_boxes = np.asarray(init_boxes, np.float32)
    n = len(videos)
    if init_boxes.shape != (n, 4):
        raise ValueError(f"init_boxes must be [N, 4] = {(n, 4)}, got {init_boxes.shape}")
    for i, video in enumerate(videos):
        sizes = [np.shape(f)[:2] for f in video]
        if len(set(sizes)) > 1:
            t = next(t for t, hw in enumerate(sizes) if hw != sizes[0])
            raise ValueError(f"videos[{i}] frame {t} is {sizes[t][1]}x{sizes[t][0]} (WxH) but frame 0 is "
                             f"{sizes[0][1]}x{sizes[0][0]}: the frames of one video must share one size")
        boxes.check_init_box(init_boxes[i], f"init_boxes[{i}]", sizes[0])
    if mesh is not None and len(mesh.local_devices) < mesh.size:
        return _across_processes(model, config, variables, videos, init_boxes, fns, mesh)
    put = lambda x: x
    if mesh is not None:
        pad = -n % mesh.size
        videos = list(videos) + [videos[0][:1]] * pad
        init_boxes = np.concatenate([init_boxes, np.repeat(init_boxes[:1], pad, 0)])
        variables = sharding.put_replicated(variables, mesh)
        put = functools.partial(jax.device_put, device=sharding.batch_sharding(mesh))
    init, step = fns or make_fns(model, config)
    lengths = np.array([len(v) for v in videos])
    hw = tuple(max(v[0].shape[i] for v in videos) for i in (0, 1))
    image_hw = np.array([v[0].shape[:2] for v in videos], np.int32)
    states = init(variables, put(_pad([v[0] for v in videos], hw)), put(init_boxes), put(image_hw))
    t_max = int(lengths.max())
    out = [np.full((len(videos), t_max, 4), np.nan, np.float32), np.full((len(videos), t_max), np.nan, np.float32)]
    out[0][:, 0], out[1][:, 0] = init_boxes, 1.0
    with_masks = siammask.has_masks(model)
    if with_masks:
        out.append(np.zeros((len(videos), t_max, *hw), np.uint8))
        for i, (h, w) in enumerate(image_hw):
            out[2][i, 0, :h, :w] = boxes.box_mask(init_boxes[i], (h, w))
    for t in range(1, t_max):
        active = lengths > t
        frames = _pad([v[t] if a else None for v, a in zip(videos, active)], hw)
        states, *got = step(variables, states, put(frames), put(active))
        for o, g in zip(out, got):
            o[:, t] = np.asarray(g)
    out = [o[:n] for o in out]
    if with_masks:
        out.append(_polygons(out[0], out[2], lengths[:n]))
    return tuple(out)


def _polygons(boxes_: np.ndarray, masks: np.ndarray, lengths) -> np.ndarray:
    """[N, T, 4, 2] float32 rotated boxes of `masks` [N, T, H, W] (frame 0: the box's corners; NaN after T_i)."""
    out = np.full((*boxes_.shape[:2], 4, 2), np.nan, np.float32)
    for i, length in enumerate(lengths):
        out[i, 0] = boxes.xywh_to_corners(boxes_[i, 0])
        for t in range(1, length):
            out[i, t] = siammask.rotated_box(masks[i, t], boxes_[i, t])
    return out


def _across_processes(model, config, variables, videos, init_boxes: np.ndarray, fns, mesh: Mesh):
    """`track_sequences` on a multi-process `mesh`: this process's share on its devices, rows gathered to all."""
    share = sharding.process_share(len(videos))
    rows = []
    if len(share):
        variables = jax.device_get(variables)  # on this process's devices only (a global array: replicated)
        outs = track_sequences(model, config, variables, [videos[i] for i in share], init_boxes[share], fns,
                               sharding.local_part(mesh))
        rows = [tuple(o[j, :len(videos[i])] for o in outs) for j, i in enumerate(share)]  # masks: this share's H, W
    rows = sharding.gather_shares(rows, len(videos))
    t_max = max(len(v) for v in videos)
    out = []
    for k in range(len(rows[0])):
        shape = np.max([r[k].shape[1:] for r in rows], 0).astype(int)
        fill = np.nan if np.issubdtype(rows[0][k].dtype, np.floating) else 0
        out.append(np.full((len(videos), t_max, *shape), fill, rows[0][k].dtype))
        for i, r in enumerate(rows):
            out[k][(i, *(slice(0, d) for d in r[k].shape))] = r[k]
    return tuple(out)


def frames_per_second(model, config, variables, num_sequences: int, num_frames: int = 20,
                      hw: tuple[int, int] = (256, 256), seed: int = 0) -> float:
    """Measured frames/s (all sequences together, compile excluded) of batched tracking of random frames."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (num_frames, *hw, 3), np.uint8)
    videos = [list(frames)] * num_sequences
    boxes = np.tile(np.array([[hw[1] / 3, hw[0] / 3, hw[1] / 4, hw[0] / 4]], np.float32), (num_sequences, 1))
    fns = make_fns(model, config)
    track_sequences(model, config, variables, [v[:2] for v in videos], boxes, fns)  # compile
    start = time.perf_counter()
    track_sequences(model, config, variables, videos, boxes, fns)
    return num_sequences * (num_frames - 1) / (time.perf_counter() - start)
