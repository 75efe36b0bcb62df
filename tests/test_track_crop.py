"""The jnp context crop vs a slow numpy reference of pysot's `get_subwindow` (padded copy, integer window, cv2
INTER_LINEAR resize), including windows that leave the frame on every side."""

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack.track import crop


def _round_half_up(v):
    return np.floor(v + 0.5)


def resize_linear(patch, out):
    """cv2 INTER_LINEAR in float64 loops: half-pixel centres, coordinates clamped to the patch."""
    n = patch.shape[0]
    res = np.zeros((out, out, patch.shape[2]))
    for i in range(out):
        v = min(max((i + 0.5) * n / out - 0.5, 0), n - 1)
        y0 = int(np.floor(v))
        y1, fy = min(y0 + 1, n - 1), v - y0
        for j in range(out):
            u = min(max((j + 0.5) * n / out - 0.5, 0), n - 1)
            x0 = int(np.floor(u))
            x1, fx = min(x0 + 1, n - 1), u - x0
            top = patch[y0, x0] * (1 - fx) + patch[y0, x1] * fx
            bottom = patch[y1, x0] * (1 - fx) + patch[y1, x1] * fx
            res[i, j] = top * (1 - fy) + bottom * fy
    return res


def subwindow(im, pos, model_sz, original_sz, avg):
    """pysot get_subwindow semantics: window [xmin, xmin + sz - 1], mean-colour padding in a uint8 copy."""
    sz = original_sz
    xmin = _round_half_up(pos[0] - (sz + 1) / 2)
    ymin = _round_half_up(pos[1] - (sz + 1) / 2)
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    h, w = im.shape[:2]
    left, top = int(max(0, -xmin)), int(max(0, -ymin))
    right, bottom = int(max(0, xmax - w + 1)), int(max(0, ymax - h + 1))
    padded = np.empty((h + top + bottom, w + left + right, 3), np.uint8)
    padded[:] = avg.astype(np.uint8)  # numpy's float -> uint8 cast truncates, as pysot's assignment does
    padded[top:top + h, left:left + w] = im
    patch = padded[int(ymin + top):int(ymax + top) + 1, int(xmin + left):int(xmax + left) + 1].astype(np.float64)
    return patch if model_sz == sz else resize_linear(patch, model_sz)


IMAGE = np.random.default_rng(0).integers(0, 256, (37, 51, 3), np.uint8)
AVG = IMAGE.reshape(-1, 3).mean(0)


@pytest.mark.parametrize("pos, sz, out", [
    ((25.0, 18.0), 21, 15),     # inside, downscale
    ((3.2, 2.7), 17, 31),       # top-left border, upscale
    ((49.5, 35.5), 23, 23),     # bottom-right border, no resize
    ((25.0, 18.0), 80, 27),     # larger than the frame on every side
    ((-6.0, 40.0), 12.6, 19),   # centre outside the frame; sz is rounded
])
def test_crop_matches_pysot_reference(pos, sz, out):
    ref = subwindow(IMAGE, np.array(pos), out, round(sz), AVG)
    got = np.asarray(crop.crop(IMAGE, jnp.array(pos), sz, out, jnp.asarray(AVG)))
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_crop_close_to_cv2_and_jit_traced():
    pos, sz, out = np.array([20.3, 11.8]), 29, 17
    ref = subwindow(IMAGE, pos, sz, sz, AVG).astype(np.uint8)
    cv = cv2.resize(ref, (out, out)).astype(np.float64)  # cv2's fixed-point bilinear
    f = jax.jit(lambda c, s: crop.crop(IMAGE, c, s, out, AVG))
    got = np.asarray(f(jnp.asarray(pos), jnp.float32(sz)))
    assert np.abs(got - cv).max() <= 1.0
    assert f(jnp.asarray(pos + 3), jnp.float32(sz + 4)).shape == (out, out, 3)


def test_crop_image_hw_treats_padding_as_outside():
    padded = np.zeros((60, 70, 3), np.uint8)
    padded[:37, :51] = IMAGE
    a = crop.crop(padded, jnp.array([45.0, 33.0]), 25, 13, AVG, image_hw=jnp.array([37, 51]))
    b = crop.crop(IMAGE, jnp.array([45.0, 33.0]), 25, 13, AVG)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


def test_crop_rejects_bad_frame():
    with pytest.raises(ValueError, match="frame must be"):
        crop.crop(np.zeros((5, 5)), jnp.zeros(2), 3, 3, jnp.zeros(3))
