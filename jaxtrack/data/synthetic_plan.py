"""Scene plan of one synthetic video: shots, events, object poses, illumination, camera and per-frame interest.

Everything here is geometry and numbers (no pixels); `synthetic_render` draws a plan, `synthetic_annot`
derives annotations from it. Units: pixels, degrees, frames; `T` = frames, `S` = shots.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# How interesting each event is to the simulated annotators (the pixels show every one of them).
EVENT_WEIGHTS = {
    "flash": 1.0,
    "fast_motion": 0.8,
    "zoom_in": 0.8,
    "distractor_crossing": 0.7,
    "occlusion": 0.7,
    "out_of_view": 0.5,
}
FAST_SPEED = (22.0, 32.0)  # px/frame of the target during a fast-motion event
PAN_MARGIN = 16  # px of background beyond the frame on each side, for camera pans


@dataclasses.dataclass(frozen=True)
class Event:
    """An interesting event: `kind` (a key of EVENT_WEIGHTS) over frames start..end (inclusive) of `shot`."""

    kind: str
    shot: int
    start: int
    end: int


@dataclasses.dataclass(frozen=True)
class Pose:
    """Per-frame pose of one sprite: center [T, 2] px, size [T] px (sprite side), aspect [T] (x/y stretch),
    angle [T] in-plane degrees, yaw [T] out-of-plane degrees (x squashed by |cos yaw|, back side when cos < 0)."""

    center: np.ndarray
    size: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    yaw: np.ndarray

    def scales(self, t: int) -> tuple[float, float]:
        """(sx, sy) sprite-pixel -> frame-pixel scales at frame t, for a sprite of side 1."""
        a = np.sqrt(self.aspect[t])
        return (float(self.size[t] * a * max(abs(np.cos(np.deg2rad(self.yaw[t]))), 0.15)),
                float(self.size[t] / a))


@dataclasses.dataclass(frozen=True)
class Occluder:
    """An opaque occluder of `width` x `height` px drawn over the target on the frames of `shot`, at center [T, 2]."""

    shot: int
    center: np.ndarray
    width: int
    height: int


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything to draw and annotate one video.

    Attributes:
      shots: [S, 2] int32 inclusive frame ranges partitioning [0, T).
      events: the interesting events (at most one per shot).
      interest: [T] float32 ground-truth interestingness (shot baseline + event bumps).
      target: target pose; distractors: look-alike poses (re-placed at every shot cut; distractor 0 passes
        beside the target in a crossing event).
      occluders: occluders (one per occlusion event).
      gain: [T, 3] per-channel illumination gain; offset: [T, 3] additive colour (flashes).
      camera: [T, 2] int (x, y) top-left of the frame inside the shot background.
      clutter: [S] bool, the shot background holds decoys of the target's family.
    """

    shots: np.ndarray
    events: tuple[Event, ...]
    interest: np.ndarray
    target: Pose
    distractors: tuple[Pose, ...]
    occluders: tuple[Occluder, ...]
    gain: np.ndarray
    offset: np.ndarray
    camera: np.ndarray
    clutter: np.ndarray

    @property
    def shot_of(self) -> np.ndarray:
        """[T] int shot index of every frame."""
        return np.repeat(np.arange(len(self.shots)), self.shots[:, 1] - self.shots[:, 0] + 1)


def split_shots(rng: np.random.Generator, n_frames: int, n_shots: int, min_len: int) -> np.ndarray:
    """[S, 2] inclusive shot ranges with lengths >= min_len summing to n_frames."""
    extra = rng.multinomial(n_frames - n_shots * min_len, rng.dirichlet(np.full(n_shots, 2.0)))
    ends = np.cumsum(min_len + extra)
    return np.stack([ends - min_len - extra, ends - 1], 1).astype(np.int32)


def _events(rng, cfg, shots: np.ndarray) -> tuple[Event, ...]:
    kinds = [k for k in EVENT_WEIGHTS if cfg.n_distractors or k != "distractor_crossing"]
    events = []
    for s, (a, b) in enumerate(shots):
        a = max(int(a), 3)  # frame 0 stays clean: the first box is the tracker's template
        room = int(b) - a  # frames after the earliest start
        if rng.random() >= cfg.event_prob or room < 3:
            continue
        kind = str(rng.choice(kinds))
        length = int(min(room, rng.integers(3, 5) if kind == "flash" else rng.integers(5, 10)))
        start = int(rng.integers(a, int(b) - length + 2))
        events.append(Event(kind, s, start, start + length - 1))
    return tuple(events)


def _bump(n: int, start: int, end: int, rise: int, fall: int) -> np.ndarray:
    """[n] 0 -> 1 ramp over `rise` frames ending at `start`, 1 until `end`, back to 0 over `fall` frames."""
    t = np.arange(n, dtype=np.float32)
    up = np.clip((t - start + rise + 1) / (rise + 1), 0, 1)
    down = np.clip((end + fall + 1 - t) / (fall + 1), 0, 1)
    return np.minimum(up, down)


def _ar1(rng, n: int, coef: float, std: float) -> np.ndarray:
    """[n] AR(1) noise x_t = coef * x_{t-1} + N(0, std)."""
    x = rng.normal(0, std, n)
    for t in range(1, n):
        x[t] += coef * x[t - 1]
    return x.astype(np.float32)


def _extent(size: float, aspect: float) -> float:
    """Half of the largest side of a sprite of side `size` stretched by `aspect` (any rotation)."""
    return 0.5 * size * max(np.sqrt(aspect), 1 / np.sqrt(aspect)) * 1.05


def _walk(rng, v: np.ndarray, vmax: float) -> np.ndarray:
    """Next velocity of a damped random walk, at most `vmax` px/frame."""
    v = 0.85 * v + rng.normal(0, 1.2, 2)
    speed = np.hypot(*v)
    return v * (vmax / speed) if speed > vmax else v


def _reflect(c: np.ndarray, v: np.ndarray, half: float, width: int, height: int) -> None:
    for i, hi in ((0, width), (1, height)):
        lo, up = half, hi - half
        if lo >= up:
            c[i] = hi / 2
        elif c[i] < lo:
            c[i], v[i] = 2 * lo - c[i], abs(v[i])
        elif c[i] > up:
            c[i], v[i] = 2 * up - c[i], -abs(v[i])


def _target(rng, cfg, shots: np.ndarray, events: tuple[Event, ...]) -> Pose:
    t_n, h, w = cfg.n_frames, cfg.height, cfg.width
    base = rng.uniform(*cfg.target_size) * min(h, w)
    log_size = _ar1(rng, t_n, 0.9, 0.04)
    for ev in events:
        if ev.kind == "zoom_in":
            zoom = min(rng.uniform(2.2, 3.0), 0.7 * min(h, w) / base)
            rise = max(1, (ev.end - ev.start) // 2)
            log_size += np.log(zoom) * _bump(t_n, ev.start + rise, ev.end, rise, 4)
    size = base * np.exp(log_size - log_size[0])
    log_aspect = rng.uniform(-0.5, 0.5) + _ar1(rng, t_n, 0.9, 0.03)
    if rng.random() < 0.3:  # squash-and-stretch deformation
        log_aspect += rng.uniform(0.25, 0.45) * np.sin(2 * np.pi * np.arange(t_n) / rng.uniform(10, 20))
    aspect = np.exp(log_aspect)
    spin = rng.uniform(2.5, 7) * rng.choice([-1, 1]) if rng.random() < 0.3 else 0.0
    angle = rng.uniform(-15, 15) + spin * np.arange(t_n) + np.clip(np.cumsum(rng.normal(0, 0.8, t_n)), -15, 15)
    turn = rng.uniform(4, 9) * rng.choice([-1, 1]) if rng.random() < 0.25 else 0.0
    yaw = turn * np.arange(t_n, dtype=np.float64)

    event_at = np.full(t_n, -1)
    for i, ev in enumerate(events):
        event_at[ev.start:ev.end + 1] = i
    shot_speed = rng.uniform(0.5, 1.6, len(shots)).repeat(shots[:, 1] - shots[:, 0] + 1)
    center = np.zeros((t_n, 2))
    c = np.array([rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h])
    v = rng.normal(0, 1.5, 2)
    out_path = None
    for t in range(t_n):
        half = _extent(size[t], aspect[t])
        kind = events[event_at[t]].kind if event_at[t] >= 0 else ""
        entering = t > 0 and event_at[t] != event_at[t - 1]
        if t and kind == "out_of_view":
            if entering:
                out_path = _exit_path(rng, c.copy(), half, w, h, events[event_at[t]])
            c = out_path[t]
        elif t:
            if kind == "fast_motion":
                if entering:
                    direction = v / (np.hypot(*v) + 1e-6) if np.hypot(*v) > 0.5 else _unit(rng)
                    v = direction * rng.uniform(*FAST_SPEED)
            else:
                v = _walk(rng, v, 7 * shot_speed[t])
            c = c + v
            _reflect(c, v, half, w, h)
        center[t] = c
    return Pose(center.astype(np.float32), size.astype(np.float32), aspect.astype(np.float32),
                angle.astype(np.float32), yaw.astype(np.float32))


def _unit(rng) -> np.ndarray:
    a = rng.uniform(0, 2 * np.pi)
    return np.array([np.cos(a), np.sin(a)])


def _exit_path(rng, c0: np.ndarray, half: float, w: int, h: int, ev: Event) -> dict[int, np.ndarray]:
    """Frame -> centre: the target leaves through the nearest border (partly or fully) and comes back to c0."""
    dists = np.array([c0[0], w - c0[0], c0[1], h - c0[1]])
    side = int(np.argmin(dists))
    depth = half - 2 * half * rng.uniform(0.3, 1.5)  # centre beyond the border by up to 2 half-sides
    out = c0.copy()
    axis = side // 2
    out[axis] = depth if side % 2 == 0 else (w, h)[axis] - depth
    n = ev.end - ev.start + 1
    phase = np.sin(np.pi * (np.arange(n) + 1) / (n + 1))  # 0 -> 1 -> 0
    return {ev.start + i: c0 + (out - c0) * p for i, p in enumerate(phase)}


def _distractors(rng, cfg, shots, events, target: Pose) -> tuple[Pose, ...]:
    t_n, h, w = cfg.n_frames, cfg.height, cfg.width
    poses = []
    base = float(target.size[0])
    for k in range(cfg.n_distractors):
        center = np.zeros((t_n, 2), np.float32)
        size = np.zeros(t_n, np.float32)
        for s, (a, b) in enumerate(shots):
            n = b - a + 1
            size[a:b + 1] = base * rng.uniform(0.7, 1.3) * np.exp(_ar1(rng, n, 0.9, 0.03))
            ev = next((e for e in events if e.shot == s and e.kind == "distractor_crossing"), None)
            if k == 0 and ev is not None:
                center[a:b + 1] = _crossing_path(rng, target, a, b, ev)
                continue
            c = rng.uniform(0.15, 0.85, 2) * (w, h)
            v = rng.normal(0, 1.5, 2)
            for t in range(a, b + 1):
                v = _walk(rng, v, 5.0)
                c = c + v
                _reflect(c, v, 0.5 * size[t], w, h)
                center[t] = c
        aspect = np.exp(rng.uniform(-0.5, 0.5) + _ar1(rng, t_n, 0.9, 0.03))
        angle = rng.uniform(-30, 30) + np.cumsum(rng.normal(0, 1.0, t_n))
        poses.append(Pose(center, size, aspect.astype(np.float32), angle.astype(np.float32),
                          np.zeros(t_n, np.float32)))
    return tuple(poses)


def _crossing_path(rng, target: Pose, a: int, b: int, ev: Event) -> np.ndarray:
    """[b - a + 1, 2] centres passing beside the target: from one side to the other over the event window."""
    peak = (ev.start + ev.end) / 2
    size = float(target.size[ev.start:ev.end + 1].mean())
    along = _unit(rng)
    beside = np.array([-along[1], along[0]]) * rng.uniform(0.55, 0.9) * size
    speed = 2.2 * size / (ev.end - ev.start + 2)
    t = np.arange(a, b + 1)
    return target.center[a:b + 1] + beside + (t - peak)[:, None] * along * speed


def _occluders(rng, events, target: Pose) -> tuple[Occluder, ...]:
    out = []
    for ev in events:
        if ev.kind != "occlusion":
            continue
        peak = (ev.start + ev.end) // 2
        size = float(target.size[peak])
        ow, oh = (size * rng.uniform(0.8, 1.8, 2)).astype(int) + 4
        along = _unit(rng)
        # Slides across the target at a relative speed that makes them overlap only within the event window
        # (+- 1 frame): relative offset (t - peak) * speed, overlap while below the sum of the half extents.
        speed = (0.5 * np.hypot(ow, oh) + 0.75 * size) / ((ev.end - ev.start) / 2 + 1)
        t = np.arange(len(target.size))
        center = target.center + (t - peak)[:, None] * along * speed
        out.append(Occluder(ev.shot, center.astype(np.float32), int(ow), int(oh)))
    return tuple(out)


def _illumination(rng, cfg, shots, events) -> tuple[np.ndarray, np.ndarray]:
    t_n = cfg.n_frames
    gain = np.ones((t_n, 3), np.float32)
    offset = np.zeros((t_n, 3), np.float32)
    for a, b in shots:
        g = rng.uniform(0.8, 1.2) * (1 + rng.normal(0, 0.05, 3))
        ramp = np.ones(b - a + 1)
        if rng.random() < 0.25:  # the light fades or brightens across the shot
            end = rng.uniform(0.45, 0.65) if rng.random() < 0.5 else rng.uniform(1.5, 1.8)
            ramp = np.linspace(1, end, b - a + 1)
        gain[a:b + 1] = g[None] * ramp[:, None]
    for ev in events:
        if ev.kind == "flash":
            n = ev.end - ev.start + 1
            p = np.sin(np.pi * (np.arange(n) + 1) / (n + 1))[:, None]
            gain[ev.start:ev.end + 1] *= 1 + rng.uniform(0.6, 1.0) * p
            offset[ev.start:ev.end + 1] = rng.uniform(0, 1, 3) * rng.uniform(50, 90) * p
    return gain, offset


def _camera(rng, shots: np.ndarray, n_frames: int) -> np.ndarray:
    cam = np.zeros((n_frames, 2), np.int32)
    for a, b in shots:
        start, vel = rng.uniform(0, 2 * PAN_MARGIN, 2), rng.uniform(-1.5, 1.5, 2)
        cam[a:b + 1] = np.clip(np.rint(start + np.arange(b - a + 1)[:, None] * vel), 0, 2 * PAN_MARGIN)
    return cam


def _interest(rng, shots, events, n_frames: int) -> np.ndarray:
    interest = np.zeros(n_frames, np.float32)
    for a, b in shots:
        interest[a:b + 1] = rng.uniform(0.05, 0.25)
    for ev in events:
        a, b = shots[ev.shot]
        bump = _bump(n_frames, ev.start, ev.end, 2, 2)
        bump[:a], bump[b + 1:] = 0, 0
        interest += EVENT_WEIGHTS[ev.kind] * bump
    return interest


def make_plan(rng: np.random.Generator, cfg) -> Plan:
    """Draws a Plan for a `SyntheticConfig`; all randomness comes from `rng`."""
    shots = split_shots(rng, cfg.n_frames, cfg.n_shots, cfg.min_shot_len)
    events = _events(rng, cfg, shots)
    target = _target(rng, cfg, shots, events)
    distractors = _distractors(rng, cfg, shots, events, target)
    gain, offset = _illumination(rng, cfg, shots, events)
    return Plan(
        shots=shots, events=events, interest=_interest(rng, shots, events, cfg.n_frames), target=target,
        distractors=distractors, occluders=_occluders(rng, events, target), gain=gain,
        offset=offset, camera=_camera(rng, shots, cfg.n_frames), clutter=rng.random(len(shots)) < cfg.clutter_prob)
