"""2-D convolution (NHWC input, HWIO kernel, cross-correlation as in deep learning) in several forms by name.

    conv2d(x, w, strides=1, padding=((0, 0), (0, 0)), dilation=1, groups=1, impl="auto", prepared=None)
    x [B, H, W, C], w [kh, kw, C // groups, O] -> [B, Ho, Wo, O], Ho = (H + pads - dilation * (kh - 1) - 1) // s + 1

Forms (`CONV_FORMS`; all agree with "xla" to float32 rounding, values and gradients):
- "xla": `lax.conv_general_dilated` (XLA's own convolution; every shape).
- "im2col": per kernel row, the row's kw taps concatenated on channels and one dot ([B*Ho*Wo, kw*C] x
  [kw*C, O]); the kh dots summed. A 1x1 conv is one dot. Dense convs only (groups 1).
- "shift": depthwise convs (groups == C == O): the sum over taps of a strided slice times the tap's [C] weights,
  one fused elementwise loop. XLA:CPU runs depthwise `feature_group_count` convs at ~1 GFLOP/s, this at ~30.
- "winograd" / "winograd4": Winograd F(m x m, r x r) (Lavin & Gray 2016) with m = 2 / 4, for square odd r x r
  kernels (r >= 3), stride 1, groups 1: (m + r - 1)^2 products per m x m outputs instead of m^2 r^2 (3x3: 2.25x /
  4x fewer; 5x5: 2.8x / 6.25x), as one batched dot [n*n, tiles, C] x [n*n, C, O], n = m + r - 1. A dilation d
  runs as d*d undilated convs on the sub-grids of x (space to batch). Points 0, +-1, 2, -1/2, 1/2, -2 and
  infinity (`POINTS`, in the order taken; 2 before -2 and -1/2 before 1/2 give F(4, 3) a 1.5x smaller RMS and 3x
  smaller largest error than 0, +-1, +-2): errors ~4e-7 (F(2, 3)), ~1e-6 (F(4, 3), F(2, 5)) and ~3e-6 (F(4, 5))
  RMS of the output's scale. `prepared` is `winograd_weights(w, m)` [n*n, C, O], computed once (the tracker does so
  at build time) instead of per call.

`impl="auto"` (`auto_form`): the form measured fastest on XLA:CPU for the conv's kind (BENCHMARKS.md, "Real weights:
per-frame speed"; `python -m tests.torch_ref.conv_speed` times every conv of the zoo models): shift for depthwise,
Winograd for 3x3 and 5x5 stride-1 dense convs, im2col for 1x1 and the other dense convs with > 4 input channels, xla
otherwise (the 3-channel stems, other grouped convs, dense convs other than 1x1 under `MIN_AUTO_FLOPS` per call: on
the quickstart's ResNet-18/4 the forms cost 3.2-3.5 ms a frame against XLA's 2.4-2.5). The Winograd tile is F(2x2)
below `WINOGRAD4_FLOPS` per call and F(4x4) from there: F(4x4) does 1.8x (3x3) to 2.25x (5x5) fewer products and
moves as much less transformed data (AlexNet's 5x5 conv2: 8.2 ms against 26.5 ms, its transforms' traffic dominates
F(2x2)), but its larger error compounds when every conv of a deep net uses it (relative L2 9.4e-5 after ResNet-50's
layer4 against 6.0e-5 with F(2x2), the converter's parity bound being 1e-4). Convs that large are few, and late in
the zoo nets (ResNet-50's layer4 and the downsample before it, AlexNet's conv2): with them on F(4x4) the same
features are at 6.1e-5.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

DIMENSIONS = ("NHWC", "HWIO", "NHWC")
Pads = tuple[tuple[int, int], tuple[int, int]]


def _pad(x, padding: Pads):
    if all(p == 0 for pair in padding for p in pair):
        return x
    return jnp.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))


def _taps_row(x, i: int, kw: int, out_hw: tuple[int, int], strides: tuple[int, int], dilation: tuple[int, int]):
    """The kw strided slices of kernel row i of padded x: each [B, Ho, Wo, C]."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, strides, dilation
    return [lax.slice(x, (0, i * dh, j * dw, 0), (x.shape[0], i * dh + (ho - 1) * sh + 1,
                                                  j * dw + (wo - 1) * sw + 1, x.shape[3]), (1, sh, sw, 1))
            for j in range(kw)]


def _out_hw(x, w, strides, dilation) -> tuple[int, int]:
    return tuple((x.shape[1 + a] - dilation[a] * (w.shape[a] - 1) - 1) // strides[a] + 1 for a in (0, 1))


def xla_conv(x, w, strides, padding: Pads, dilation, groups: int, prepared=None):
    del prepared
    return lax.conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation, dimension_numbers=DIMENSIONS,
                                    feature_group_count=groups)


def im2col_conv(x, w, strides, padding: Pads, dilation, groups: int, prepared=None):
    del prepared
    if groups != 1:
        raise ValueError(f"conv2d impl='im2col': dense convs only, got groups={groups}")
    x = _pad(x, padding)
    kh, kw, c, o = w.shape
    ho, wo = _out_hw(x, w, strides, dilation)
    out = None
    for i in range(kh):
        taps = _taps_row(x, i, kw, (ho, wo), strides, dilation)
        cols = taps[0] if kw == 1 else jnp.concatenate(taps, -1)
        y = jnp.dot(cols.reshape(-1, kw * c), w[i].reshape(kw * c, o))
        out = y if out is None else out + y
    return out.reshape(x.shape[0], ho, wo, o)


def shift_conv(x, w, strides, padding: Pads, dilation, groups: int, prepared=None):
    del prepared
    if not groups == x.shape[-1] == w.shape[-1] or w.shape[2] != 1:
        raise ValueError(f"conv2d impl='shift': depthwise convs only (groups == C == O), got groups={groups}, "
                         f"x {x.shape}, w {w.shape}")
    x = _pad(x, padding)
    kh, kw = w.shape[:2]
    out_hw = _out_hw(x, w, strides, dilation)
    out = None
    for i in range(kh):
        for j, tap in enumerate(_taps_row(x, i, kw, out_hw, strides, dilation)):
            term = tap * w[i, j, 0]
            out = term if out is None else out + term
    return out


POINTS = (0.0, 1.0, -1.0, 2.0, -0.5, 0.5, -2.0)  # Winograd interpolation points (and infinity), in this order


@functools.cache
def winograd_matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T [m, n], G [n, r], B^T [n, n]) of F(m, r), n = m + r - 1, on the first n - 1 `POINTS` and infinity
    (Lavin & Gray 2016): a VALID correlation y = A^T [(G g) * (B^T d)] of a tile d [n] with a kernel g [r]."""
    n = m + r - 1
    if n - 1 > len(POINTS):
        raise ValueError(f"winograd F({m}, {r}) needs {n - 1} points, {len(POINTS)} are defined")
    p = np.array(POINTS[:n - 1])
    at = np.zeros((m, n))
    at[:, :n - 1] = p[None, :] ** np.arange(m)[:, None]
    at[m - 1, n - 1] = 1
    g = np.zeros((n, r))
    for j in range(n - 1):
        g[j] = p[j] ** np.arange(r) / np.prod([p[j] - p[k] for k in range(n - 1) if k != j])
    g[n - 1, r - 1] = 1
    # B^T column t: sum_j A^T[i, j] G[j, k] B^T[j, t] = [t == i + k] for every output i and tap k (exact solve)
    lhs = np.stack([at[i] * g[:, k] for i in range(m) for k in range(r)])
    bt = np.stack([np.linalg.lstsq(lhs, np.array([float(t == i + k) for i in range(m) for k in range(r)]),
                                   rcond=None)[0] for t in range(n)], 1)
    return at, g, np.where(np.abs(bt) < 1e-9, 0.0, np.round(bt, 9))


def _combine(matrix: np.ndarray, parts: list) -> list:
    """matrix [p, q] applied to a list of q arrays: p sums (unit coefficients as adds, zeros skipped)."""
    out = []
    for row in matrix:
        acc = None
        for c, part in zip(row, parts):
            if c != 0:
                term = part if c == 1 else -part if c == -1 else part * np.float32(c)
                acc = term if acc is None else acc + term
        out.append(acc)
    return out


def winograd_weights(w, m: int = 2):
    """[r, r, C, O] -> [n * n, C, O], the F(m x m, r x r) filter transform G w G^T (index n * row + column)."""
    r = w.shape[0]
    if w.ndim != 4 or w.shape[1] != r:
        raise ValueError(f"winograd_weights: a square kernel [r, r, C, O] is needed, got {w.shape}")
    g = winograd_matrices(m, r)[1]
    rows = _combine(g, [w[i] for i in range(r)])
    return jnp.stack([t for row in rows for t in _combine(g, [row[j] for j in range(r)])])


def _winograd_valid(x, u, m: int, r: int):
    """Undilated VALID r x r conv of x [B, H, W, C] with transformed weights u [n * n, C, O]."""
    at, _, bt = winograd_matrices(m, r)
    n, (b, h, w, c) = m + r - 1, x.shape
    ho, wo = h - r + 1, w - r + 1
    th, tw = -(-ho // m), -(-wo // m)
    x = jnp.pad(x, ((0, 0), (0, m * th + r - 1 - h), (0, m * tw + r - 1 - w), (0, 0)))
    rows = _combine(bt, [x[:, a:a + m * th:m] for a in range(n)])  # B^T along rows, then along columns
    v = jnp.stack([t for row in rows for t in _combine(bt, [row[:, :, a:a + m * tw:m] for a in range(n)])])
    prod = lax.dot_general(v.reshape(n * n, b * th * tw, c), u, (((2,), (1,)), ((0,), (0,))))
    prod = prod.reshape(n, n, b, th, tw, -1)
    out_rows = _combine(at, [prod[i] for i in range(n)])  # A^T along rows, then along columns
    y = jnp.stack([jnp.stack(_combine(at, [row[j] for j in range(n)]), 3) for row in out_rows], 2)
    return y.reshape(b, m * th, m * tw, -1)[:, :ho, :wo]


def _winograd(m: int):
    def form(x, w, strides, padding: Pads, dilation, groups: int, prepared=None):
        r = w.shape[0]
        if w.shape[1] != r or r % 2 == 0 or r < 3 or tuple(strides) != (1, 1) or groups != 1:
            raise ValueError(f"conv2d impl='winograd{'' if m == 2 else m}': square odd kernels >= 3, stride 1, "
                             f"groups 1 only, got w {w.shape}, strides {tuple(strides)}, groups {groups}")
        u = winograd_weights(w, m) if prepared is None else prepared.astype(x.dtype)
        x = _pad(x, padding)
        (dh, dw), (b, h, wd, c) = dilation, x.shape
        if (dh, dw) == (1, 1):
            return _winograd_valid(x, u, m, r)
        ho, wo = h - (r - 1) * dh, wd - (r - 1) * dw
        hp, wp = -(-h // dh) * dh, -(-wd // dw) * dw  # space to batch: sub-grid (i, j) holds x[i::dh, j::dw]
        x = jnp.pad(x, ((0, 0), (0, hp - h), (0, wp - wd), (0, 0)))
        sub = x.reshape(b, hp // dh, dh, wp // dw, dw, c).transpose(2, 4, 0, 1, 3, 5)
        y = _winograd_valid(sub.reshape(dh * dw * b, hp // dh, wp // dw, c), u, m, r)
        o, sh, sw = y.shape[-1], hp // dh - r + 1, wp // dw - r + 1
        y = y.reshape(dh, dw, b, sh, sw, o).transpose(2, 3, 0, 4, 1, 5).reshape(b, sh * dh, sw * dw, o)
        return y[:, :ho, :wo]

    return form


CONV_FORMS: dict[str, Callable] = {"xla": xla_conv, "im2col": im2col_conv, "shift": shift_conv,
                                   "winograd": _winograd(2), "winograd4": _winograd(4)}
WINOGRAD_TILE = {"winograd": 2, "winograd4": 4}  # output tile side m of each Winograd form


MIN_AUTO_FLOPS = 1e8  # dense convs below this many flops per call stay XLA's (the forms' overhead dominates)
WINOGRAD4_FLOPS = 4e9  # Winograd convs from this many (direct-conv) flops per call take F(4x4) (module docstring)


def auto_form(w_shape, strides, groups: int, backend: str | None = None, out_pixels: int | None = None) -> str:
    """The form `impl="auto"` uses for a kernel of shape `w_shape` [kh, kw, C // groups, O] (module docstring);
    `out_pixels` (batch x output positions), when given, keeps small dense convs on XLA's conv and gives large
    Winograd convs F(4x4)."""
    if (backend or jax.default_backend()) != "cpu":
        return "xla"
    kh, kw, c, o = w_shape
    if groups > 1:
        return "shift" if c == 1 and o == groups else "xla"
    if kh == kw == 1 and c > 4:
        return "im2col"  # one dot at every size (MobileNetV2's 1x1 convs under MIN_AUTO_FLOPS: 3.3 ms a frame less)
    flops = None if out_pixels is None else 2 * kh * kw * c * o * out_pixels
    if flops is not None and flops < MIN_AUTO_FLOPS:
        return "xla"
    if kh == kw and kh in (3, 5) and tuple(strides) == (1, 1):
        return "winograd4" if flops is not None and flops >= WINOGRAD4_FLOPS else "winograd"
    return "im2col" if c > 4 else "xla"


def _pairs(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"conv2d: {name} must be an int or a pair, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv2d(x, w, strides=1, padding=((0, 0), (0, 0)), dilation=1, groups: int = 1, impl: str = "auto",
           prepared=None):
    """The convolution of x [B, H, W, C] with w [kh, kw, C // groups, O] in form `impl` (module docstring).
    padding: ((top, bottom), (left, right)), "VALID" or "SAME"; `prepared`: the form's precomputed weights."""
    if x.ndim != 4 or w.ndim != 4 or x.shape[-1] != w.shape[2] * groups:
        raise ValueError(f"conv2d: x must be [B, H, W, C] and w [kh, kw, C // groups, O] with groups={groups}, "
                         f"got x {x.shape}, w {w.shape}")
    strides, dilation = _pairs(strides, "strides"), _pairs(dilation, "dilation")
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(x.shape[1:3], ((w.shape[0] - 1) * dilation[0] + 1,
                                                     (w.shape[1] - 1) * dilation[1] + 1), strides, padding)
    padding = tuple(_pairs(p, "padding") for p in padding)
    form = auto_form(w.shape, strides, groups) if impl == "auto" else impl
    if form not in CONV_FORMS:
        raise ValueError(f"conv2d: unknown impl={impl!r}; expected 'auto' or one of {list(CONV_FORMS)}")
    return CONV_FORMS[form](x, w, strides, padding, dilation, groups, prepared)
