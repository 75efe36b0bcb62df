"""Crop geometry and augmentation against independent references: hand formulas, painted targets, loops."""

import cv2
import numpy as np
import pytest

from jaxtrack import boxes
from jaxtrack.data import augment, crops, sampling

RED = (250, 20, 20)


def painted(h=160, w=200, box_px=(60, 50, 64, 32), seed=0):
    """Noise image (red channel 100) with a red rectangle over pixel indices [x0, x0+w) x [y0, y0+h);
    its box in the pixel-centre convention of `jaxtrack.boxes` is (x0 - 0.5, y0 - 0.5, w, h)."""
    img = np.random.default_rng(seed).integers(60, 141, (h, w, 3), dtype=np.uint8)
    img[..., 0] = 100
    x0, y0, bw, bh = box_px
    img[y0:y0 + bh, x0:x0 + bw] = RED
    return img, np.array([x0 - 0.5, y0 - 0.5, bw, bh], np.float64)


def assert_red_box(crop, box):
    """The red pixels (red channel above the 100/250 midpoint) of a crop span `box` xywh to half a pixel."""
    ys, xs = np.nonzero(crop[..., 0] > 175)
    edges = [xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5]
    np.testing.assert_allclose(edges, [box[0], box[1], box[0] + box[2], box[1] + box[3]], atol=0.6)


def test_template_box_is_centred_with_pysot_size():
    img, box = painted()
    s_z = np.sqrt((64 + 0.5 * 96) * (32 + 0.5 * 96))  # (w + p)(h + p), p = 0.5 (w + h)
    assert crops.crop_side(box, 127) == pytest.approx(s_z)
    assert crops.crop_side(box, 255) == pytest.approx(s_z * 255 / 127)
    m = crops.crop_matrix(box, s_z, 127)
    got = boxes.transform_box(box, m)
    want_w, want_h = 127 * 64 / s_z, 127 * 32 / s_z
    np.testing.assert_allclose(got, [63 - want_w / 2, 63 - want_h / 2, want_w, want_h], atol=1e-9)
    assert_red_box(crops.warp_crop(img, m, 127), got)


def test_padding_is_the_image_mean():
    img, box = painted(box_px=(2, 3, 20, 16))
    crop = crops.warp_crop(img, crops.crop_matrix(box, crops.crop_side(box, 255), 255), 255)
    mean = img.reshape(-1, 3).astype(np.float64).mean(0)
    np.testing.assert_array_equal(crop[0, 0], np.round(mean).astype(np.uint8))
    np.testing.assert_array_equal(crop[:20, :20].reshape(-1, 3).min(0), crop[:20, :20].reshape(-1, 3).max(0))


def test_flip_mirrors_crop_and_box():
    img, box = painted()
    side = crops.crop_side(box, 255)
    kw = dict(scale=(1.1, 0.9), shift=(20.0, -7.0))
    plain = crops.crop_matrix(box, side, 255, **kw)
    flipped = crops.crop_matrix(box, side, 255, flip=True, **kw)
    a, b = crops.warp_crop(img, plain, 255), crops.warp_crop(img, flipped, 255)
    assert np.abs(a[:, ::-1].astype(int) - b.astype(int)).max() <= 1
    x, y, w, h = boxes.transform_box(box, plain)
    np.testing.assert_allclose(boxes.transform_box(box, flipped), [254 - x - w, y, w, h], atol=1e-9)
    assert_red_box(b, boxes.transform_box(box, flipped))


def test_shift_scale_move_target_as_pysot():
    _, box = painted()
    side = crops.crop_side(box, 255)
    base = boxes.transform_box(box, crops.crop_matrix(box, side, 255))
    moved = boxes.transform_box(box, crops.crop_matrix(box, side, 255, scale=(1.25, 0.8), shift=(30.0, -10.0)))
    c = 127.0  # pysot: box - window origin, divided by the window's scale about the crop centre
    for axis, (s, d) in enumerate([(1.25, 30.0), (0.8, -10.0)]):
        np.testing.assert_allclose(moved[axis], c + (base[axis] - c - d) / s, atol=1e-9)
        np.testing.assert_allclose(moved[axis + 2], base[axis + 2] / s, atol=1e-9)


def slow_crop(img, centre, side, out, scale, shift, flip, pad):
    """Per-pixel bilinear crop+resize with explicit loops (float64; `pad` outside the image)."""
    h, w = img.shape[:2]
    c = (out - 1) / 2
    res = np.zeros((out, out, 3))
    for i in range(out):
        for j in range(out):
            jj = out - 1 - j if flip else j
            x = centre[0] + (scale[0] * (jj - c) + shift[0]) * side / out
            y = centre[1] + (scale[1] * (i - c) + shift[1]) * side / out
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    v = img[yy, xx] if 0 <= yy < h and 0 <= xx < w else pad
                    res[i, j] += wy * wx * np.asarray(v, np.float64)
    return res


@pytest.mark.parametrize("flip", [False, True])
def test_warp_equals_slow_reference(flip):
    yy, xx = np.mgrid[:20, :24]
    img = np.stack([120 + 60 * np.sin(xx / 4), 100 + 50 * np.cos(yy / 5), 80 + 2 * xx + 3 * yy], -1)
    img = np.round(img).astype(np.uint8)
    box = np.array([9.0, 4.0, 8.0, 6.0])
    side, scale, shift = 17.0, (1.15, 0.9), (2.5, -1.5)
    m = crops.crop_matrix(box, side, 15, scale=scale, shift=shift, flip=flip)
    got = crops.warp_crop(img, m, 15, pad=(7, 8, 9))
    want = slow_crop(img, (13.0, 7.0), side, 15, scale, shift, flip, (7, 8, 9))
    assert np.abs(got - want).max() <= 2.0
    assert (got == np.array([7, 8, 9])).all(-1).any()  # the example reaches outside the image


def test_line_blur_equals_pysot_kernel():
    img = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    size, wx = 9, 0.3
    kernel = np.zeros((size, size))
    kernel[:, size // 2] += wx / size
    kernel[size // 2, :] += (1 - wx) / size
    want = cv2.filter2D(img.astype(np.float64), -1, kernel)
    assert np.abs(augment.line_blur(img, size, wx) - want).max() <= 1.0


def test_draw_respects_ranges_and_probabilities():
    rng = np.random.default_rng(0)
    cfg = augment.AugmentConfig(shift=64, scale=0.18, blur=0.2, flip=0.5, color=1.0)
    draws = [augment.draw(cfg, rng) for _ in range(2000)]
    assert max(abs(s) for d in draws for s in d.shift) <= 64
    assert all(0.82 <= s <= 1.18 for d in draws for s in d.scale)
    assert abs(np.mean([d.blur is not None for d in draws]) - 0.2) < 0.04
    assert abs(np.mean([d.flip for d in draws]) - 0.5) < 0.05
    assert all(d.color is not None for d in draws)
    off = augment.draw(augment.NO_AUG, rng)
    assert (off.scale, off.shift, off.flip, off.color, off.blur) == ((1.0, 1.0), (0.0, 0.0), False, None, None)
    with pytest.raises(ValueError, match="blur"):
        augment.AugmentConfig(blur=1.5)


def test_photometric_gray_and_colour():
    crop = np.random.default_rng(2).integers(30, 220, (8, 8, 3), dtype=np.uint8)
    d = augment.Draw((1.0, 1.0), (0.0, 0.0), False, np.array([3.0, -4.0, 10.0], np.float32), None)
    out = augment.photometric(crop, d).astype(int)
    np.testing.assert_array_equal(out, crop.astype(int) - np.array([3, -4, 10]))
    g = augment.photometric(crop, augment.Draw((1.0, 1.0), (0.0, 0.0), False, None, None), to_gray=True)
    want = np.round(crop.astype(np.float64) @ [0.299, 0.587, 0.114])
    assert (g[..., 0] == g[..., 2]).all() and np.abs(g[..., 1] - want).max() <= 1


def test_segment_indices_tsn():
    centre = sampling.segment_indices(100, 4, 5)
    np.testing.assert_array_equal(centre[:, 0], [12, 36, 60, 84])  # int(tick / 2 + tick * k), tick = 96 / 4
    np.testing.assert_array_equal(np.diff(centre, axis=1), 1)
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = sampling.segment_indices(37, 5, 3, rng)
        tick = 35 / 5
        assert ((idx[:, 0] >= np.floor(np.arange(5) * tick)) & (idx[:, 0] < np.ceil(np.arange(1, 6) * tick))).all()
        assert idx.max() < 37
    np.testing.assert_array_equal(sampling.segment_indices(2, 4)[:, 0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="snippet_len"):
        sampling.segment_indices(3, 2, 4)
