"""pysot's `SiamRPNTracker` and SiamBAN's `SiamBANTracker` (STVIR/pysot `tracker/{base,siamrpn}_tracker.py`,
hqucv/siamban `tracker/siamban_tracker.py`) re-implemented in numpy + torch from their code: the reference the
jaxtrack trackers are held to box for box.

Frames are BGR uint8, as the originals read them with cv2. Everything follows the originals (float64 state, pysot
`round` of the crop sides, the integer context window, mean-colour padding truncated by the uint8 copy, anchors /
points, softmax scores, the scale / ratio penalty, the cosine window, the size learning rate and the clipping)
except one documented choice: the crop's resize is the float bilinear of cv2's INTER_LINEAR (half-pixel centres,
clamped), not cv2's 11-bit fixed-point arithmetic, which moves pixels by up to one grey level. `Tracker(...,
cv2_resize=True)` uses cv2.resize as pysot does (for timing: `python -m tests.torch_ref.speed`).
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import torch


@dataclasses.dataclass(frozen=True)
class Settings:
    """`cfg.TRACK.*` / `cfg.ANCHOR.*` / `cfg.POINT.*` of a config.yaml."""

    penalty_k: float
    window_influence: float
    lr: float
    exemplar_size: int = 127
    instance_size: int = 255
    base_size: int = 8
    context_amount: float = 0.5
    stride: int = 8
    ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: tuple[float, ...] = (8.0,)
    points: bool = False  # SiamBAN: points and ltrb boxes instead of anchors


def resize_linear(patch: np.ndarray, out: int) -> np.ndarray:
    """[n, n, 3] -> [out, out, 3] float64: cv2 INTER_LINEAR's sampling (half-pixel centres, clamped) in floats."""
    n = patch.shape[0]
    u = np.clip((np.arange(out) + 0.5) * n / out - 0.5, 0, n - 1)
    i0 = np.floor(u).astype(int)
    i1, f = np.minimum(i0 + 1, n - 1), u - i0
    p = patch.astype(np.float64)
    rows = p[i0] * (1 - f)[:, None, None] + p[i1] * f[:, None, None]
    return rows[:, i0] * (1 - f)[None, :, None] + rows[:, i1] * f[None, :, None]


def get_subwindow(im: np.ndarray, pos, model_sz: int, original_sz: int, avg_chans,
                  cv2_resize: bool = False) -> torch.Tensor:
    """pysot `SiameseTracker.get_subwindow` -> [1, 3, model_sz, model_sz] float32 (BGR, 0..255)."""
    sz = original_sz
    h, w = im.shape[:2]
    c = (original_sz + 1) / 2
    xmin = np.floor(pos[0] - c + 0.5)
    ymin = np.floor(pos[1] - c + 0.5)
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    left, top = int(max(0.0, -xmin)), int(max(0.0, -ymin))
    right, bottom = int(max(0.0, xmax - w + 1)), int(max(0.0, ymax - h + 1))
    padded = np.zeros((h + top + bottom, w + left + right, 3), np.uint8)
    padded[:] = avg_chans  # numpy truncates the float mean into uint8, as pysot's slice assignments do
    padded[top:top + h, left:left + w] = im
    patch = padded[int(ymin + top):int(ymax + top) + 1, int(xmin + left):int(xmax + left) + 1]
    if model_sz != original_sz:
        patch = cv2.resize(patch, (model_sz, model_sz)) if cv2_resize else resize_linear(patch, model_sz)
    return torch.from_numpy(np.ascontiguousarray(patch.transpose(2, 0, 1)[None]).astype(np.float32))


def _offsets(s: Settings, score_size: int) -> list[int]:
    ori = -(score_size // 2) * s.stride
    return [ori + s.stride * d for d in range(score_size)]


def _anchors(s: Settings, score_size: int) -> np.ndarray:
    """pysot `SiamRPNTracker.generate_anchor`: [K * S * S, 4] (cx, cy, w, h), anchor-major."""
    wh = []
    for r in s.ratios:
        ws = int(np.sqrt(s.stride * s.stride / r))
        hs = int(ws * r)
        wh += [(ws * scale, hs * scale) for scale in s.scales]
    k = len(wh)
    anchor = np.zeros((k * score_size * score_size, 4), np.float32)
    xx, yy = np.meshgrid(_offsets(s, score_size), _offsets(s, score_size))
    anchor[:, 0] = np.tile(xx.flatten(), (k, 1)).flatten()
    anchor[:, 1] = np.tile(yy.flatten(), (k, 1)).flatten()
    anchor[:, 2:] = np.repeat(np.asarray(wh, np.float32), score_size * score_size, axis=0)
    return anchor


def _points(s: Settings, score_size: int) -> np.ndarray:
    """SiamBAN `generate_points`: [S * S, 2] (x, y) relative to the crop centre."""
    x, y = np.meshgrid(_offsets(s, score_size), _offsets(s, score_size))
    return np.stack([x.flatten(), y.flatten()], 1).astype(np.float32)


class Tracker:
    """The reference tracker over a torch model with `template(z)` / `track(x) -> {"cls", "loc"}` (NCHW)."""

    def __init__(self, model: torch.nn.Module, settings: Settings, cv2_resize: bool = False):
        self.model, self.s, self.cv2_resize = model.eval(), settings, cv2_resize
        self.score_size = (settings.instance_size - settings.exemplar_size) // settings.stride + 1 + settings.base_size
        window = np.outer(np.hanning(self.score_size), np.hanning(self.score_size)).flatten()
        if settings.points:
            self.window, self.grid = window, _points(settings, self.score_size)
        else:
            k = len(settings.ratios) * len(settings.scales)
            self.window, self.grid = np.tile(window, k), _anchors(settings, self.score_size)

    def _context(self) -> float:
        w_z = self.size[0] + self.s.context_amount * np.sum(self.size)
        h_z = self.size[1] + self.s.context_amount * np.sum(self.size)
        return np.sqrt(w_z * h_z)

    @torch.no_grad()
    def init(self, img: np.ndarray, bbox) -> None:
        self.center_pos = np.array([bbox[0] + (bbox[2] - 1) / 2, bbox[1] + (bbox[3] - 1) / 2])
        self.size = np.array([bbox[2], bbox[3]])
        self.channel_average = np.mean(img, axis=(0, 1))
        z = get_subwindow(img, self.center_pos, self.s.exemplar_size, round(self._context()), self.channel_average,
                          self.cv2_resize)
        self.model.template(z)

    def _decode(self, out) -> tuple[np.ndarray, np.ndarray]:
        cls, loc = out["cls"], out["loc"]
        if self.s.points:
            score = cls.permute(1, 2, 3, 0).contiguous().view(cls.shape[1], -1).permute(1, 0)
            score = score.softmax(1)[:, 1].numpy() if cls.shape[1] == 2 else score.sigmoid().view(-1).numpy()
            d = loc.permute(1, 2, 3, 0).contiguous().view(4, -1).numpy().copy()
            x1, y1 = self.grid[:, 0] - d[0], self.grid[:, 1] - d[1]
            x2, y2 = self.grid[:, 0] + d[2], self.grid[:, 1] + d[3]
            return score, np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1])
        score = cls.permute(1, 2, 3, 0).contiguous().view(2, -1).permute(1, 0)
        score = torch.softmax(score, dim=1)[:, 1].numpy()
        d = loc.permute(1, 2, 3, 0).contiguous().view(4, -1).numpy().copy()
        a = self.grid
        d[0] = d[0] * a[:, 2] + a[:, 0]
        d[1] = d[1] * a[:, 3] + a[:, 1]
        d[2] = np.exp(d[2]) * a[:, 2]
        d[3] = np.exp(d[3]) * a[:, 3]
        return score, d

    @torch.no_grad()
    def track(self, img: np.ndarray) -> tuple[list[float], float]:
        s_z = self._context()
        scale_z = self.s.exemplar_size / s_z
        s_x = s_z * (self.s.instance_size / self.s.exemplar_size)
        self.crop = (self.center_pos.copy(), round(s_x))  # centre and side of this frame's search crop
        x = get_subwindow(img, self.center_pos, self.s.instance_size, round(s_x), self.channel_average,
                          self.cv2_resize)
        score, pred = self._decode(self.model.track(x))

        def change(r):
            return np.maximum(r, 1.0 / r)

        def sz(w, h):
            pad = (w + h) * 0.5
            return np.sqrt((w + pad) * (h + pad))

        s_c = change(sz(pred[2], pred[3]) / sz(self.size[0] * scale_z, self.size[1] * scale_z))
        r_c = change((self.size[0] / self.size[1]) / (pred[2] / pred[3]))
        penalty = np.exp(-(r_c * s_c - 1) * self.s.penalty_k)
        pscore = penalty * score * (1 - self.s.window_influence) + self.window * self.s.window_influence
        best = self.best = int(np.argmax(pscore))
        bbox = pred[:, best] / scale_z
        lr = penalty[best] * score[best] * self.s.lr
        cx, cy = bbox[0] + self.center_pos[0], bbox[1] + self.center_pos[1]
        width = self.size[0] * (1 - lr) + bbox[2] * lr
        height = self.size[1] * (1 - lr) + bbox[3] * lr
        h, w = img.shape[:2]
        cx, cy = max(0, min(cx, w)), max(0, min(cy, h))
        width, height = max(10, min(width, w)), max(10, min(height, h))
        self.center_pos, self.size = np.array([cx, cy]), np.array([width, height])
        return [cx - width / 2, cy - height / 2, width, height], float(score[best])


def first_crops(bgr, box, track):
    """The reference tracker's template and search crops of the first frame ([1, 3, S, S] BGR): the BatchNorm
    statistics of the random networks come from them, so the networks see inputs like those they were set on."""
    center = box[:2] + (box[2:] - 1) / 2
    side = np.sqrt(np.prod(box[2:] + track.context * box[2:].sum()))
    avg = bgr.mean((0, 1))
    bgr = np.ascontiguousarray(bgr)
    return (get_subwindow(bgr, center, size, round(side * size / track.exemplar_size), avg)
            for size in (track.exemplar_size, track.instance_size))


def reference_settings(track, points: bool) -> Settings:
    """The reference tracker's cfg.TRACK / ANCHOR of the experiment's tracker settings; BASE_SIZE as pysot's
    configs: 0 for AlexNet at 287, 8 for the 255 crops."""
    return Settings(
        penalty_k=track.penalty_k, window_influence=track.window_influence, lr=track.lr,
        exemplar_size=track.exemplar_size, instance_size=track.instance_size,
        base_size=0 if track.instance_size == 287 else 8, context_amount=track.context, stride=track.stride,
        ratios=tuple(track.get("ratios", ())), scales=tuple(track.get("scales", ())), points=points)
