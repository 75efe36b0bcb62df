"""Pixels of the synthetic videos: textures, look-alike sprites, backgrounds and sprite compositing.

Sprites are premultiplied RGBA float32 `[S, S, 4]` (RGB in 0..255 times alpha, alpha in 0..1). A texture
*family* fixes the shape and the wave/spot structure of an object; members of one family (the target,
its back side, its distractors, background decoys) differ by phase perturbation and recolouring, so
distractors really look like the target.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from jaxtrack.data.synthetic_plan import PAN_MARGIN, Plan, Pose

_GREY_AXIS = np.full(3, 1 / np.sqrt(3), np.float32)


@dataclasses.dataclass(frozen=True)
class Family:
    """Look of one object family: shape polygon, wave texture and spots (all in unit sprite coordinates).

    Attributes:
      radii: [P] polygon radii (star-convex shape, 1 = sprite half side).
      waves: [K, 2] wave vectors in cycles per sprite side.
      phases: [K] wave phases.
      mix: [K, 3] per-wave RGB amplitudes.
      base: [3] mean RGB colour.
      spots: [Q, 3] spot (x, y, radius) in unit coordinates.
      spot_color: [3] RGB colour of the spots.
    """

    radii: np.ndarray
    waves: np.ndarray
    phases: np.ndarray
    mix: np.ndarray
    base: np.ndarray
    spots: np.ndarray
    spot_color: np.ndarray


def random_family(rng: np.random.Generator) -> Family:
    """A new object look: 5-10 vertex shape (regular or jagged), 3-5 waves, 1-3 spots, random colours."""
    n_vertices = int(rng.integers(5, 11))
    radii = rng.uniform(0.65, 1.0, n_vertices) if rng.random() < 0.6 else np.ones(n_vertices)
    k = int(rng.integers(3, 6))
    angles = rng.uniform(0, np.pi, k)
    freq = rng.uniform(1.0, 4.5, k)
    waves = np.stack([np.cos(angles), np.sin(angles)], 1) * freq[:, None]
    return Family(
        radii=radii.astype(np.float32),
        waves=waves.astype(np.float32),
        phases=rng.uniform(0, 2 * np.pi, k).astype(np.float32),
        mix=rng.uniform(-70, 70, (k, 3)).astype(np.float32),
        base=rng.uniform(50, 205, 3).astype(np.float32),
        spots=_spots(rng),
        spot_color=rng.uniform(0, 255, 3).astype(np.float32),
    )


def _spots(rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(1, 4))
    return np.concatenate([rng.uniform(-0.45, 0.45, (n, 2)), rng.uniform(0.08, 0.2, (n, 1))], 1).astype(np.float32)


def _hue_rotation(angle: float) -> np.ndarray:
    """[3, 3] rotation of RGB vectors about the grey axis by `angle` radians (Rodrigues)."""
    k = np.array([[0, -_GREY_AXIS[2], _GREY_AXIS[1]], [_GREY_AXIS[2], 0, -_GREY_AXIS[0]],
                  [-_GREY_AXIS[1], _GREY_AXIS[0], 0]], np.float32)
    return (np.eye(3, dtype=np.float32) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k).astype(np.float32)


def variant(family: Family, rng: np.random.Generator, *, phase: float, hue: float, shape: float) -> Family:
    """A family member: phases jittered by `phase` (radians std), colours rotated by up to `hue` radians,
    polygon radii and spot positions jittered by `shape` (unit std)."""
    rot = _hue_rotation(rng.uniform(-hue, hue))
    grey = family.base.mean()
    return dataclasses.replace(
        family,
        radii=np.clip(family.radii + rng.normal(0, shape, family.radii.shape), 0.5, 1.0).astype(np.float32),
        phases=(family.phases + rng.normal(0, phase, family.phases.shape)).astype(np.float32),
        mix=family.mix @ rot.T,
        base=np.clip((family.base - grey) @ rot.T + grey, 0, 255).astype(np.float32),
        spots=(family.spots + np.concatenate([rng.normal(0, shape, (len(family.spots), 2)),
                                              np.zeros((len(family.spots), 1))], 1)).astype(np.float32),
        spot_color=np.clip((family.spot_color - grey) @ rot.T + grey, 0, 255).astype(np.float32),
    )


def wave_field(waves: np.ndarray, phases: np.ndarray, mix: np.ndarray, h: int, w: int, period: float) -> np.ndarray:
    """[h, w, 3] float32 sum of sinusoids `sum_k mix_k sin(2π waves_k·(x, y)/period + phases_k)`, separably:
    sin(a + b) = sin(a) cos(b) + cos(a) sin(b). (einsum, not BLAS: tiny products, no thread pool spin-up.)"""
    x = np.arange(w, dtype=np.float32) / period * 2 * np.pi
    y = np.arange(h, dtype=np.float32) / period * 2 * np.pi
    ax = x[None, :] * waves[:, :1] + phases[:, None]  # [K, w]
    by = y[None, :] * waves[:, 1:]  # [K, h]
    rows = np.concatenate([np.cos(by), np.sin(by)], 0)  # [2K, h]
    cols = np.concatenate([np.sin(ax), np.cos(ax)], 0)[..., None] * np.concatenate([mix, mix], 0)[:, None]
    return np.einsum("kh,kwc->hwc", rows, cols.astype(np.float32))


def render_sprite(family: Family, size: int) -> np.ndarray:
    """[size, size, 4] premultiplied RGBA float32 of one family member."""
    half = (size - 1) / 2
    angles = np.linspace(0, 2 * np.pi, len(family.radii), endpoint=False)
    pts = np.stack([half + half * family.radii * np.cos(angles), half + half * family.radii * np.sin(angles)], 1)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    rgb = family.base + wave_field(family.waves, family.phases, family.mix, size, size, size)
    for x, y, r in family.spots:
        cv2.circle(rgb, (int(half + x * half), int(half + y * half)), max(1, int(r * half)),
                   family.spot_color.tolist(), -1, cv2.LINE_AA)
    alpha = mask.astype(np.float32) / 255
    return np.concatenate([np.clip(rgb, 0, 255) * alpha[..., None], alpha[..., None]], -1)


def occluder_sprite(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """[n, n, 4] (n = max(w, h)) opaque textured w x h rectangle or ellipse, centred; premultiplied RGBA float32."""
    n, k = max(w, h), 3
    ang = rng.uniform(0, np.pi, k)
    waves = np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(2, 8, (k, 1))
    rgb = rng.uniform(30, 220, 3) + wave_field(waves.astype(np.float32), rng.uniform(0, 6, k).astype(np.float32),
                                                rng.uniform(-40, 40, (k, 3)).astype(np.float32), n, n, n)
    mask = np.zeros((n, n), np.uint8)
    if rng.random() < 0.5:
        mask[(n - h) // 2:(n - h) // 2 + h, (n - w) // 2:(n - w) // 2 + w] = 255
    else:
        cv2.ellipse(mask, (((n - 1) / 2, (n - 1) / 2), (w, h), 0), 255, -1, cv2.LINE_AA)
    alpha = mask.astype(np.float32) / 255
    return np.concatenate([np.clip(rgb, 0, 255) * alpha[..., None], alpha[..., None]], -1).astype(np.float32)


def background(rng: np.random.Generator, h: int, w: int, decoys: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """[h, w, 3] uint8 cluttered scene: waves + smooth noise + random shapes + lighting gradient + decoys."""
    k = int(rng.integers(3, 7))
    ang = rng.uniform(0, np.pi, k)
    waves = (np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.5, 6, (k, 1))).astype(np.float32)
    img = rng.uniform(40, 215, 3).astype(np.float32) + wave_field(
        waves, rng.uniform(0, 2 * np.pi, k).astype(np.float32), rng.uniform(-25, 25, (k, 3)).astype(np.float32),
        h, w, max(h, w))
    noise = rng.normal(0, 20, (h // 16 + 2, w // 16 + 2, 3)).astype(np.float32)
    img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(12, 30))):
        color = rng.uniform(0, 255, 3).tolist()
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(3, max(4, min(h, w) // 6)))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (x, y), r, color, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), color, -1)
        else:
            cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), color,
                     int(rng.integers(1, 4)), cv2.LINE_AA)
    gx, gy = rng.normal(0, 1, 2)
    ramp = (np.arange(w, dtype=np.float32)[None, :] / w - 0.5) * gx + (np.arange(h, dtype=np.float32)[:, None] / h
                                                                         - 0.5) * gy
    img *= (1 + 0.3 * np.tanh(ramp))[..., None]
    for decoy in decoys:
        s = decoy.shape[0]
        affine = sprite_affine(s, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.5, 1.2), rng.uniform(0.5, 1.2),
                               rng.uniform(0, 360))
        composite(img, decoy, affine)
    return np.clip(img, 0, 255).astype(np.uint8)


def sprite_affine(sprite_size: int, cx: float, cy: float, sx: float, sy: float, angle: float) -> np.ndarray:
    """[2, 3] map from sprite pixels to frame pixels: scale (sx, sy), rotate by `angle` degrees, centre at (cx, cy)."""
    t = np.deg2rad(angle)
    m = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float64) @ np.diag([sx, sy])
    c = (sprite_size - 1) / 2
    return np.concatenate([m, (np.array([cx, cy]) - m @ np.array([c, c]))[:, None]], 1)


@dataclasses.dataclass(frozen=True)
class Placed:
    """A sprite warped into the frame: `mask` [h, w] bool (alpha > 0.5) covers frame rows y0.. and columns x0..
    (may extend past the frame); `full` is its pixel count, `inside` the count inside the frame."""

    x0: int
    y0: int
    mask: np.ndarray
    full: int
    inside: int

    def frame_box(self, height: int, width: int) -> np.ndarray | None:
        """[4] xywh box of the in-frame mask pixels, or None when none is inside."""
        sub = self.mask[max(0, -self.y0):height - self.y0, max(0, -self.x0):width - self.x0]
        rows, cols = np.flatnonzero(sub.any(1)), np.flatnonzero(sub.any(0))
        if not len(rows):
            return None
        x, y = max(0, self.x0) + cols[0], max(0, self.y0) + rows[0]
        return np.array([x, y, cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], np.float32)

    def overlap(self, other: Placed, height: int, width: int) -> int:
        """Pixel count of this mask covered by `other`'s mask inside a height x width frame."""
        x0, y0 = max(self.x0, other.x0, 0), max(self.y0, other.y0, 0)
        x1 = min(self.x0 + self.mask.shape[1], other.x0 + other.mask.shape[1], width)
        y1 = min(self.y0 + self.mask.shape[0], other.y0 + other.mask.shape[0], height)
        if x1 <= x0 or y1 <= y0:
            return 0
        a = self.mask[y0 - self.y0:y1 - self.y0, x0 - self.x0:x1 - self.x0]
        b = other.mask[y0 - other.y0:y1 - other.y0, x0 - other.x0:x1 - other.x0]
        return int(np.count_nonzero(a & b))

    def paint(self, canvas: np.ndarray, value: int) -> None:
        """Sets the pixels of `canvas` [H, W] this mask covers (inside the canvas) to `value`, in place."""
        h, w = canvas.shape
        fx0, fy0 = max(self.x0, 0), max(self.y0, 0)
        fx1, fy1 = min(self.x0 + self.mask.shape[1], w), min(self.y0 + self.mask.shape[0], h)
        if fx1 > fx0 and fy1 > fy0:
            canvas[fy0:fy1, fx0:fx1][self.mask[fy0 - self.y0:fy1 - self.y0, fx0 - self.x0:fx1 - self.x0]] = value


def motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    """Normalised line kernel for a blur of length |(dx, dy)| px along that direction, or None below 2 px."""
    length = float(np.hypot(dx, dy))
    if length < 2:
        return None
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = (n - 1) / 2
    ux, uy = dx / length * c, dy / length * c
    cv2.line(k, (round(c - ux), round(c - uy)), (round(c + ux), round(c + uy)), 1.0, 1, cv2.LINE_AA)
    return k / k.sum()


def composite(frame: np.ndarray, sprite: np.ndarray, affine: np.ndarray, blur: np.ndarray | None = None) -> Placed:
    """Warps `sprite` [S, S, 4] by `affine` and alpha-blends it over `frame` [H, W, 3] in place (float32 or uint8).

    `blur` (a motion kernel) smears the drawn sprite but not the returned mask. Only the frame region the
    sprite covers is touched.
    """
    h, w = frame.shape[:2]
    s = sprite.shape[0]
    corners = affine[:, :2] @ np.array([[0, s, 0, s], [0, 0, s, s]], np.float64) + affine[:, 2:]
    pad = 1 + (blur.shape[0] // 2 if blur is not None else 0)
    x0, y0 = int(np.floor(corners[0].min())) - pad, int(np.floor(corners[1].min())) - pad
    x1, y1 = int(np.ceil(corners[0].max())) + pad, int(np.ceil(corners[1].max())) + pad
    local = affine.copy()
    local[:, 2] -= (x0, y0)
    warped = cv2.warpAffine(sprite, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    mask = warped[..., 3] > 0.5
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    inside = 0
    if fx1 > fx0 and fy1 > fy0:
        sub = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        inside = int(np.count_nonzero(mask[sub]))
        drawn = cv2.filter2D(warped, -1, blur) if blur is not None else warped
        src = drawn[sub]
        region = frame[fy0:fy1, fx0:fx1]
        if region.dtype == np.uint8:  # region * (1 - alpha) + premultiplied rgb, in saturating uint8 (cv2: fast)
            inv = cv2.convertScaleAbs(src[..., 3], alpha=-255, beta=255)
            shaded = cv2.multiply(region, cv2.merge([inv, inv, inv]), scale=1 / 255)
            cv2.add(shaded, cv2.convertScaleAbs(src[..., :3]), dst=region)
        else:
            region *= 1 - src[..., 3:]
            region += src[..., :3]
    return Placed(x0, y0, mask, int(np.count_nonzero(mask)), inside)


@dataclasses.dataclass(frozen=True)
class Rendered:
    """Frames and per-frame target measurements of one video.

    Attributes:
      frames: [T, H, W, 3] uint8 RGB.
      boxes: [T, 4] float32 xywh of the target's in-frame pixels (occluded parts included), NaN where none.
      inside: [T] fraction of the target inside the frame; occluded: [T] fraction hidden by occluders;
      visible: [T] fraction both inside and not occluded; blur: [T] motion-blur length on the target (px).
      masks: [T, H, W] uint8 label maps of the target's visible pixels (1; occluded parts 0), as `Video.masks`.
    """

    frames: np.ndarray
    boxes: np.ndarray
    inside: np.ndarray
    occluded: np.ndarray
    visible: np.ndarray
    blur: np.ndarray
    masks: np.ndarray


def render_video(rng: np.random.Generator, plan: Plan, height: int, width: int, sprite_size: int) -> Rendered:
    """Draws every frame of `plan`: shot background (panned), distractors, target (blurred along its motion,
    back side when turned away), occluders, then the illumination gain/offset."""
    t_n, s = len(plan.interest), sprite_size
    family = random_family(rng)
    front = render_sprite(family, s)
    back = render_sprite(variant(family, rng, phase=2.0, hue=0.3, shape=0.0), s)
    look_alikes = [render_sprite(variant(family, rng, phase=rng.uniform(0.3, 1.5), hue=rng.uniform(0.2, 1.2),
                                         shape=0.05), s) for _ in plan.distractors]
    backgrounds = []
    for clutter in plan.clutter:
        decoys = tuple(render_sprite(variant(family, rng, phase=1.0, hue=0.8, shape=0.05), s)
                       for _ in range(int(rng.integers(3, 6)) if clutter else 0))
        backgrounds.append(background(rng, height + 2 * PAN_MARGIN, width + 2 * PAN_MARGIN, decoys))
    occluders = [(o, occluder_sprite(rng, o.width, o.height)) for o in plan.occluders]
    shot_of = plan.shot_of
    out = Rendered(np.empty((t_n, height, width, 3), np.uint8), np.full((t_n, 4), np.nan, np.float32),
                   *(np.zeros(t_n, np.float32) for _ in range(4)), np.zeros((t_n, height, width), np.uint8))
    levels = np.arange(256, dtype=np.float32)[None, :, None]
    for t in range(t_n):
        frame = out.frames[t]
        x, y = plan.camera[t]
        frame[:] = backgrounds[shot_of[t]][y:y + height, x:x + width]
        for pose, look in zip(plan.distractors, look_alikes):
            composite(frame, look, _affine(pose, t, s))
        pose = plan.target
        step = pose.center[t] - pose.center[max(t - 1, 0)]
        kernel = motion_kernel(*(0.6 * step))  # exposure: 60% of the frame interval
        out.blur[t] = 0 if kernel is None else np.hypot(*(0.6 * step))
        sprite = front if np.cos(np.deg2rad(pose.yaw[t])) >= 0 else back
        placed = composite(frame, sprite, _affine(pose, t, s), kernel)
        placed.paint(out.masks[t], 1)
        hidden = 0
        for occ, look in occluders:
            if occ.shot == shot_of[t]:
                n = look.shape[0]
                cover = composite(frame, look, sprite_affine(n, *occ.center[t], 1, 1, 0))
                hidden += placed.overlap(cover, height, width)
                cover.paint(out.masks[t], 0)
        full = max(placed.full, 1)
        out.inside[t], out.occluded[t] = placed.inside / full, hidden / full
        out.visible[t] = (placed.inside - hidden) / full
        box = placed.frame_box(height, width)
        if box is not None and out.visible[t] > 0:
            out.boxes[t] = box
        else:
            out.masks[t] = 0  # no box, no mask: the annotations agree on absence
        lut = np.clip(levels * plan.gain[t] + plan.offset[t], 0, 255).astype(np.uint8)
        cv2.LUT(frame, lut, dst=frame)
    return out


def _affine(pose: Pose, t: int, sprite_size: int) -> np.ndarray:
    sx, sy = pose.scales(t)
    return sprite_affine(sprite_size, *pose.center[t], sx / sprite_size, sy / sprite_size, pose.angle[t])
